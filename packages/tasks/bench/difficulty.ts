/**
 * Descriptive statistics of the generated domains per difficulty level (what a char-level student must read and
 * write): question and solution lengths, steps, exceptions, answer sizes, distinct questions. The learned
 * difficulty curve (accuracy of a small model per level) needs a trained model and is measured by the evaluator.
 * `node packages/tasks/bench/difficulty.ts [perLevel]`; writes bench/results/difficulty.json.
 */
import type { Problem } from "@realm-lm/core"
import { Result } from "effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Arithmetic from "../src/Arithmetic.ts"
import * as ParcelDomain from "../src/ParcelDomain.ts"

const perLevel = Number(process.argv[2] ?? 500)
const mean = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length)
const stats = (domain: string, level: number, ps: ReadonlyArray<Problem.Problem>) => {
  const solution = ps.map(
    (p) => (p.goldSteps ?? []).map((s, i) => `Step ${i + 1}: ${s}`).join("\n") + `\nAnswer: ${p.gold}`
  )
  return {
    domain,
    level,
    questionChars: Math.round(mean(ps.map((p) => p.question.length))),
    maxQuestionChars: Math.max(...ps.map((p) => p.question.length)),
    steps: Number(mean(ps.map((p) => p.goldSteps?.length ?? 0)).toFixed(2)),
    solutionChars: Math.round(mean(solution.map((s) => s.length))),
    exceptions: Number(mean(ps.map((p) => Number(p.metadata.exceptions ?? 0))).toFixed(2)),
    meanAnswer: Math.round(mean(ps.map((p) => Number(p.gold)))),
    maxAnswer: Math.max(...ps.map((p) => Number(p.gold))),
    distinctQuestions: new Set(ps.map((p) => p.question)).size,
    combinations: new Set(ps.map((p) => p.metadata.combination)).size
  }
}

const rows = []
for (const level of [1, 2, 3, 4, 5]) {
  const parcel = ParcelDomain.decodeConfig({ levels: [level] })
  const arith = Arithmetic.decodeConfig({ levels: [level] })
  const take = (gen: (i: number) => Result.Result<Problem.Problem, unknown>) =>
    Array.from({ length: perLevel }, (_, i) => Result.getOrThrow(gen(i)))
  rows.push(
    stats(
      "parcel",
      level,
      take((i) => ParcelDomain.generate(parcel, "train", i))
    )
  )
  rows.push(
    stats(
      "arith",
      level,
      take((i) => Arithmetic.generate(arith, "train", i))
    )
  )
}
console.table(rows)
mkdirSync(join(import.meta.dirname, "results"), { recursive: true })
writeFileSync(
  join(import.meta.dirname, "results", "difficulty.json"),
  `${JSON.stringify({ perLevel, rows }, null, 2)}\n`
)
