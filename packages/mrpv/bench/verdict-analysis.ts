/**
 * What a student's route verdicts are based on, read off the evaluator's assisted completions (issue 12, "MRPV
 * learnability"; docs/EXPERIMENTS.md). For every route verdict line of the greedy completion it checks:
 *
 * - **copy**: the route answer the line repeats (`Route A: answer 20 …`, with `echoAnswers`) equals the answer in
 *   the route's header in the prompt;
 * - **own echo**: with `compareAnswers`, the answer after `vs` equals the completion's own `Answer:` line;
 * - **consistency**: the verdict follows the line's own comparison (`correct` exactly when the two numbers it wrote
 *   are equal): a student that compares says `correct` for `20 vs 20` and `wrong` for `20 vs 21`;
 * - **accuracy**: the verdict is right (a route is correct when its header answer equals the gold answer).
 *
 * Run: `node --conditions=@realm-lm/source packages/mrpv/bench/verdict-analysis.ts <eval result .json> <problems .jsonl>`
 * (an `assisted` result of `realm eval`/`realm run`, kept with `keepTexts`, and the split's problems file).
 */
import { readFileSync } from "node:fs"

interface Outcome {
  readonly problemId: string
  readonly prompt?: { readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string }> }
  readonly texts?: ReadonlyArray<string>
}

interface Result {
  readonly mode: string
  readonly outcomes: ReadonlyArray<Outcome>
}

/** One verdict line's reading. */
export interface VerdictLine {
  readonly route: string
  readonly header: string | undefined
  readonly copied: string | undefined
  readonly own: string | undefined
  readonly compared: string | undefined
  readonly verdict: "correct" | "wrong"
  readonly gold: string
}

const number = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined
  const n = Number(s.replace(/,/g, ""))
  return Number.isFinite(n) ? n : undefined
}
const same = (a: string | undefined, b: string | undefined): boolean =>
  number(a) !== undefined && number(a) === number(b)

/** The route answers of a prompt's headers (`Route A: answer 20` or a route block ending `Answer: 20`). */
export const headerAnswers = (prompt: string): Map<string, string> => {
  const answers = new Map<string, string>()
  for (const m of prompt.matchAll(/^Route ([A-Z]): answer (-?[\d,.]+)/gm)) answers.set(m[1]!, m[2]!)
  return answers
}

/** Every verdict line of a completion, with the completion's own answer. */
export const verdictLines = (completion: string, headers: Map<string, string>, gold: string): Array<VerdictLine> => {
  const own = /^Answer:\s*(-?[\d,.]+)/m.exec(completion)?.[1]
  const lines: Array<VerdictLine> = []
  for (const m of completion.matchAll(
    /^Route ([A-Z]):(?: answer (-?[\d,.]+)(?: vs (-?[\d,.]+))?,)? (correct|wrong)\b/gm
  )) {
    lines.push({
      route: m[1]!,
      header: headers.get(m[1]!),
      copied: m[2],
      own,
      compared: m[3],
      verdict: m[4] as "correct" | "wrong",
      gold
    })
  }
  return lines
}

const share = (part: number, whole: number): string =>
  whole === 0 ? "–" : `${((100 * part) / whole).toFixed(1)}% (${part} of ${whole})`

/** The table of rates over every verdict line. */
export const summarise = (lines: ReadonlyArray<VerdictLine>): Record<string, string> => {
  const withCopy = lines.filter((l) => l.copied !== undefined && l.header !== undefined)
  const withCompare = lines.filter((l) => l.compared !== undefined)
  const equal = withCompare.filter((l) => same(l.copied, l.compared))
  const unequal = withCompare.filter((l) => !same(l.copied, l.compared))
  const truth = (l: VerdictLine) => (same(l.header, l.gold) ? "correct" : "wrong")
  return {
    "verdict lines": String(lines.length),
    "route answer copied right": share(withCopy.filter((l) => same(l.copied, l.header)).length, withCopy.length),
    "own answer echoed right (after vs)": share(
      withCompare.filter((l) => same(l.compared, l.own)).length,
      withCompare.length
    ),
    "verdict follows the line's comparison": share(
      withCompare.filter((l) => l.verdict === (same(l.copied, l.compared) ? "correct" : "wrong")).length,
      withCompare.length
    ),
    "  'correct' when the two numbers are equal": share(
      equal.filter((l) => l.verdict === "correct").length,
      equal.length
    ),
    "  'wrong' when they differ": share(unequal.filter((l) => l.verdict === "wrong").length, unequal.length),
    "verdict accuracy (against the gold answer)": share(
      lines.filter((l) => l.header !== undefined && l.verdict === truth(l)).length,
      lines.filter((l) => l.header !== undefined).length
    ),
    "routes called correct": share(lines.filter((l) => l.verdict === "correct").length, lines.length)
  }
}

if (import.meta.main) {
  const [resultFile, problemsFile] = process.argv.slice(2)
  if (resultFile === undefined || problemsFile === undefined) {
    console.error("usage: verdict-analysis.ts <assisted eval result .json> <problems .jsonl>")
    process.exit(2)
  }
  // One result (`realm eval --mode assisted`) or a stage's list of results (`<runDir>/eval/results.json`).
  const read = JSON.parse(readFileSync(resultFile, "utf8")) as Result | ReadonlyArray<Result>
  const results: ReadonlyArray<Result> = Array.isArray(read) ? (read as ReadonlyArray<Result>) : [read as Result]
  const assisted = results.filter((r) => r.mode === "assisted")
  if (assisted.length === 0) throw new Error(`${resultFile}: no assisted result (evaluate with --mode assisted)`)
  const gold = new Map(
    readFileSync(problemsFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; gold: string })
      .map((p) => [p.id, p.gold])
  )
  const lines = assisted
    .flatMap((r) => r.outcomes)
    .flatMap((o) => {
      const text = o.texts?.[0]
      const g = gold.get(o.problemId)
      if (text === undefined || o.prompt === undefined || g === undefined) return []
      return verdictLines(text, headerAnswers(o.prompt.messages.map((m) => m.content).join("\n")), g)
    })
  const rows = summarise(lines)
  for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(46)} ${v}`)
}
