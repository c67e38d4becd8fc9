/**
 * Where the parcel domain's hardest level fails: each method's greedy accuracy on one level of one split, split by how
 * many parcels the question has (levels 3-4 never have more than 3; level 5 up to 9, and 5 or more also take the bulk
 * discount), summed over every seed of an experiment's run directory. D15 (docs/EXPERIMENTS.md) found that after SFT
 * on levels 3-4 no method solves a level-5 problem with 4 or more parcels.
 *
 * Run: `node --conditions=@realm-lm/source examples/experiments/analysis/parcel-counts.ts <experiment run dir>
 *   [--split test] [--level 5] [--mode autonomous]`
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? fallback : (args[i + 1] ?? fallback)
}
const runDir = args.find((a, i) => !a.startsWith("--") && !(args[i - 1] ?? "").startsWith("--"))
if (runDir === undefined) {
  console.error("usage: parcel-counts.ts <experiment run dir> [--split test] [--level 5] [--mode autonomous]")
  process.exit(2)
}
const split = option("split", "test")
const level = Number(option("level", "5"))
const mode = option("mode", "autonomous")

interface Outcome {
  readonly problemId: string
  readonly difficulty?: number
  readonly correct: ReadonlyArray<boolean>
}
interface Result {
  readonly method: string
  readonly split: string
  readonly mode: string
  readonly outcomes: ReadonlyArray<Outcome>
}

const readJsonl = (file: string): Array<{ id: string; question: string }> =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as { id: string; question: string })

/** The parcel count a question asks for (`…, 4 parcels. Fee?`), 1 when it names none. */
const parcels = (question: string): number => Number(/(\d+) parcels/.exec(question)?.[1] ?? "1")

const buckets = [
  { name: "1 parcel", has: (n: number) => n === 1 },
  { name: "2-3 parcels", has: (n: number) => n >= 2 && n <= 3 },
  { name: "4 parcels", has: (n: number) => n === 4 },
  { name: "5-9 parcels (bulk)", has: (n: number) => n >= 5 }
]

const seeds = readdirSync(runDir)
  .filter((d) => /^seed-\d+$/.test(d) && existsSync(join(runDir, d, "eval", "results.json")))
  .sort()
if (seeds.length === 0) {
  console.error(`no seed-N/eval/results.json under ${runDir}: run the experiment first`)
  process.exit(1)
}
const tally = new Map<string, Array<{ right: number; total: number }>>()
for (const seed of seeds) {
  const questions = new Map(readJsonl(join(runDir, seed, "problems", `${split}.jsonl`)).map((p) => [p.id, p.question]))
  const results = JSON.parse(readFileSync(join(runDir, seed, "eval", "results.json"), "utf8")) as ReadonlyArray<Result>
  for (const result of results.filter((r) => r.split === split && r.mode === mode)) {
    const row = tally.get(result.method) ?? buckets.map(() => ({ right: 0, total: 0 }))
    for (const outcome of result.outcomes.filter((o) => o.difficulty === level)) {
      const question = questions.get(outcome.problemId)
      if (question === undefined) throw new Error(`${seed}: ${outcome.problemId} is not in problems/${split}.jsonl`)
      const cell = row[buckets.findIndex((b) => b.has(parcels(question)))]!
      cell.total += 1
      cell.right += outcome.correct[0] === true ? 1 : 0
    }
    tally.set(result.method, row)
  }
}
console.log(`${split}, level ${level}, ${mode}, greedy first sample, right / problems over ${seeds.join(", ")}:\n`)
console.log(`| method | ${buckets.map((b) => b.name).join(" | ")} |`)
console.log(`| --- | ${buckets.map(() => "---").join(" | ")} |`)
for (const [method, row] of tally)
  console.log(
    `| ${method} | ${row.map((c) => `${c.right} / ${c.total}${c.total > 0 ? ` (${((100 * c.right) / c.total).toFixed(0)}%)` : ""}`).join(" | ")} |`
  )
