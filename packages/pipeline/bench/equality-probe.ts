/**
 * Can a student learn the comparison a compared-answers verdict needs, on its own? (issue 12, "MRPV learnability";
 * docs/EXPERIMENTS.md, D10.) Verdict lines in the compared-answers format are `Route A: answer 76 vs 74, wrong`: the
 * verdict is exactly whether the two numbers are equal. This probe trains nothing but that line, so every gradient goes
 * to the comparison, and measures how often a checkpoint prefers the right verdict.
 *
 * - `data --out <dir> [--train 4000] [--test 400] [--seed 7]`: writes `train.jsonl` and `test.jsonl` as SFT pairs
 *   (`problemId`, `prompt`, `completion`) that `realm train sft --corpus` reads: half the lines compare equal numbers
 *   (10-300), a quarter numbers a few apart (1-12, like an arithmetic slip), a quarter unrelated numbers.
 * - `eval <checkpoint> <test.jsonl>`: for each line, the sum of log-probabilities of the line ending in ` correct` and
 *   in ` wrong` (teacher-forced, after the same prompt); the verdict is the likelier one. Prints the accuracy.
 *
 * Run: `node --conditions=@realm-lm/source packages/pipeline/bench/equality-probe.ts data --out runs/probe`, then
 * `./realm train sft --init <model dir> --corpus runs/probe/train.jsonl --out runs/probe/sft --config <cfg>` and
 * `node --conditions=@realm-lm/source packages/pipeline/bench/equality-probe.ts eval runs/probe/sft/final runs/probe/test.jsonl`.
 */
import { NodeServices } from "@effect/platform-node"
import { Rng } from "@realm-lm/core"
import { Policy, PromptText, Tokenizer } from "@realm-lm/lm"
import { Effect } from "effect"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? fallback : (args[i + 1] ?? fallback)
}
const usage = () => {
  console.error(
    "usage: equality-probe.ts data --out <dir> [--train 4000] [--test 400] [--seed 7]\n       equality-probe.ts eval <checkpoint> <test.jsonl>"
  )
  process.exit(2)
}

const PROMPT = "Compare the two answers."

interface Pair {
  readonly problemId: string
  readonly prompt: string
  readonly completion: string
}

/** One probe line: equal numbers half the time, else a near miss or an unrelated number. */
const pair = (rng: Rng.Rng, id: string): Pair => {
  const y = rng.intBetween(10, 300)
  const kind = rng.float()
  let x = y
  if (kind >= 0.5 && kind < 0.75) x = y + (rng.float() < 0.5 ? -1 : 1) * rng.intBetween(1, 12)
  else if (kind >= 0.75) while (x === y) x = rng.intBetween(10, 300)
  return { problemId: id, prompt: PROMPT, completion: `Route A: answer ${x} vs ${y}, ${x === y ? "correct" : "wrong"}` }
}

const data = () => {
  const out = option("out", "")
  if (out === "") usage()
  const rng = Rng.Rng.make(Number(option("seed", "7")), "equality-probe")
  mkdirSync(out, { recursive: true })
  for (const [split, n] of [
    ["train", Number(option("train", "4000"))],
    ["test", Number(option("test", "400"))]
  ] as const) {
    const lines = Array.from({ length: n }, (_, i) => JSON.stringify(pair(rng, `${split}/${i}`)))
    writeFileSync(join(out, `${split}.jsonl`), `${lines.join("\n")}\n`)
  }
  console.log(`${out}/train.jsonl, ${out}/test.jsonl`)
}

const evaluate = (checkpoint: string, file: string) =>
  Effect.gen(function* () {
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Pair)
    const tokenizer = yield* Tokenizer.load(checkpoint)
    const policy = yield* Policy.load(checkpoint, { runtime: { intraOpThreads: 1 } })
    const prompt = yield* PromptText.encode(tokenizer, {
      problemId: "probe",
      messages: [{ role: "user", content: PROMPT }],
      guidance: { mode: "autonomous", strength: 0, routeIds: [] }
    })
    const sum = (xs: Float64Array | undefined) => (xs === undefined ? Number.NaN : xs.reduce((a, b) => a + b, 0))
    let right = 0
    let equal = 0
    let equalRight = 0
    for (let i = 0; i < lines.length; i += 50) {
      const batch = lines.slice(i, i + 50)
      const requests = batch.flatMap((l) => {
        const head = l.completion.replace(/ (correct|wrong)$/, "")
        return [" correct", " wrong"].map((verdict) => ({ prompt, completion: tokenizer.encode(head + verdict) }))
      })
      const scores = yield* policy.score(requests)
      batch.forEach((l, j) => {
        const said = sum(scores[2 * j]) > sum(scores[2 * j + 1]) ? "correct" : "wrong"
        const truth = l.completion.endsWith(" correct") ? "correct" : "wrong"
        if (said === truth) right++
        if (truth === "correct") {
          equal++
          if (said === truth) equalRight++
        }
      })
    }
    const pct = (a: number, b: number) => `${((100 * a) / Math.max(1, b)).toFixed(1)}%`
    console.log(
      `${checkpoint}: verdict right ${right} of ${lines.length} (${pct(right, lines.length)}); equal pairs ${pct(equalRight, equal)}, different pairs ${pct(right - equalRight, lines.length - equal)}`
    )
  })

const [command, a, b] = args.filter((x, i) => !x.startsWith("--") && !(args[i - 1] ?? "").startsWith("--"))
if (command === "data") data()
else if (command === "eval" && a !== undefined && b !== undefined) {
  Effect.runPromise(evaluate(a, b).pipe(Effect.scoped, Effect.provide(NodeServices.layer))).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e)
    process.exit(1)
  })
} else usage()
