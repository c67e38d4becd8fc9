/**
 * How often the answer judge recognises correctly formatted answers and rejects wrong ones, per benchmark in the
 * shared data folder: every problem of each benchmark's test split (FOLIO: validation) gets about twenty outputs
 * in realistic styles with the gold answer and as many with wrong answers (`bench/outputStyles.ts`).
 * FOLIO and StrategyQA are measured a second time as multiple-choice questions (`(A) True`, `(B) False`, …)
 * with letter golds.
 *
 * `node packages/tasks/bench/judging.ts [--limit N] [--failures K] [--judge path/to/Answer.ts]`
 * prints the table (and K failing outputs per dataset) and writes bench/results/judging.json. `--judge` measures
 * another implementation of the same exports (e.g. a previous version saved from git).
 */
import { NodeServices } from "@effect/platform-node"
import { TaskSource } from "@realm-lm/core"
import type { AnswerJudge, Problem } from "@realm-lm/core"
import { Effect, Layer, Stream } from "effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Benchmarks from "../src/Benchmarks.ts"
import { asOptions, rates } from "./outputStyles.ts"
import type { Rates } from "./outputStyles.ts"

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name)
  return at < 0 ? undefined : process.argv[at + 1]
}
const limit = arg("--limit") === undefined ? undefined : Number(arg("--limit"))
const failuresShown = Number(arg("--failures") ?? 0)
const judgePath = arg("--judge")
const judgeModule = (await import(judgePath === undefined ? "../src/Answer.ts" : resolve(judgePath))) as {
  readonly judge: (problem: Problem.Problem, text: string) => AnswerJudge.Judgement
}

const dir = Benchmarks.benchmarksDir()
if (dir === undefined) {
  console.error(
    "No shared data folder with benchmarks/: set REALM_DATA_DIR to the shared data folder (default ../shared/data)."
  )
  process.exit(1)
}

const load = (name: Benchmarks.Name): Promise<ReadonlyArray<Problem.Problem>> => {
  const split: Problem.Split = name === "folio" ? "validation" : "test"
  const program = Effect.gen(function* () {
    const source = yield* TaskSource.TaskSource
    return yield* Stream.runCollect(source.problems(split))
  })
  const options = limit === undefined ? { dir } : { dir, limit }
  return Effect.runPromise(
    program.pipe(Effect.provide(Benchmarks.layer(name, options).pipe(Layer.provide(NodeServices.layer))))
  )
}

interface Row extends Rates {
  readonly dataset: string
  readonly problems: number
}

const pct = (n: number, d: number) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(2)}%`)

const measure = (dataset: string, problems: ReadonlyArray<Problem.Problem>): Row => {
  const shown: Array<string> = []
  const result = rates(problems, judgeModule.judge, (kind, problem, output, extracted) => {
    if (shown.length < failuresShown) {
      shown.push(
        `[${kind} ${output.style}] ${problem.id} gold ${problem.gold} extracted ${extracted}\n  ${output.text.split("\n").slice(-2).join("\n  ")}`
      )
    }
  })
  if (shown.length > 0) console.log(`--- ${dataset}\n${shown.join("\n")}`)
  return { dataset, problems: problems.length, ...result }
}

const rows: Array<Row> = []
for (const name of Benchmarks.names) {
  const problems = await load(name)
  rows.push(measure(name, problems))
  if (name === "folio" || name === "strategyqa") rows.push(measure(`${name} (options)`, problems.map(asOptions)))
}

console.table(
  rows.map((r) => ({
    dataset: r.dataset,
    problems: r.problems,
    recognised: `${pct(r.recognised, r.correctOutputs)} of ${r.correctOutputs}`,
    rejected: `${pct(r.rejected, r.wrongOutputs)} of ${r.wrongOutputs}`,
    "most missed styles": Object.entries(r.failingStyles)
      .toSorted((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([s, n]) => `${s} ${n}`)
      .join(", ")
  }))
)
mkdirSync(join(import.meta.dirname, "results"), { recursive: true })
writeFileSync(
  join(import.meta.dirname, "results", "judging.json"),
  `${JSON.stringify({ judge: judgePath ?? "src/Answer.ts", limit, rows }, null, 2)}\n`
)
