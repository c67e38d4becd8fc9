/**
 * Does another judge implementation decide the parcel and arith formats the same way as `src/Answer.ts`? For 3,000
 * problems of each domain (levels 1-5) it judges ten outputs (the gold steps with `Answer: gold`, gold ± 1, ×10, a
 * truncated `Answer:`, steps only, a trailing step after the answer, …) with both and counts the differences in
 * extraction or verdict, plus `equivalent` on route-answer pairs.
 * `node --conditions=@realm-lm/source packages/tasks/bench/parcel-judgement.ts path/to/OtherAnswer.ts`
 */
import type { AnswerJudge, Problem } from "@realm-lm/core"
import { Result } from "effect"
import { resolve } from "node:path"
import * as New from "../src/Answer.ts"
import * as Arithmetic from "../src/Arithmetic.ts"
import * as ParcelDomain from "../src/ParcelDomain.ts"

const other = process.argv[2]
if (other === undefined) {
  console.error("usage: parcel-judgement.ts path/to/OtherAnswer.ts (e.g. a previous version saved from git)")
  process.exit(1)
}
const Old = (await import(resolve(other))) as AnswerJudge.AnswerJudge["Service"]

const take = (generate: (i: number) => Result.Result<Problem.Problem, unknown>) =>
  Array.from({ length: 3000 }, (_, i) => Result.getOrThrow(generate(i)))
const parcel = ParcelDomain.decodeConfig({ levels: [1, 2, 3, 4, 5] })
const arith = Arithmetic.decodeConfig({ levels: [1, 2, 3, 4, 5] })
const problems = [
  ...take((i) => ParcelDomain.generate(parcel, "train", i)),
  ...take((i) => Arithmetic.generate(arith, "train", i))
]

let compared = 0
let differences = 0
for (const p of problems) {
  const steps = (p.goldSteps ?? []).map((s, k) => `Step ${k + 1}: ${s}`).join("\n")
  const g = Number(p.gold)
  const texts = [
    `${steps}\nAnswer: ${p.gold}`,
    `${steps}\nAnswer: ${g + 1}`,
    `${steps}\nAnswer: ${g - 1}`,
    `Answer: ${g * 10}`,
    steps,
    `${steps}\nAnswer:`,
    `${steps}\nAnswer: ${p.gold}\nStep 9: x = 3`,
    `Answer: ${p.gold}0`,
    steps.split("\n").slice(0, -1).join("\n"),
    `Answer: ${(g / 3).toFixed(2)}`
  ]
  for (const text of texts) {
    compared++
    const [a, b] = [Old.judge(p, text), New.judge(p, text)]
    if (a.correct !== b.correct || a.extracted !== b.extracted) {
      differences++
      if (differences <= 10) console.log(JSON.stringify(text.slice(-80)), "gold", p.gold, "other", a, "now", b)
    }
  }
  for (const [x, y] of [
    [p.gold, String(g)],
    [String(g + 1), p.gold],
    [String(g), `${g}.0`]
  ] as const) {
    compared++
    if (Old.equivalent(p, x, y) !== New.equivalent(p, x, y)) differences++
  }
}
console.log(`compared ${compared} judgements, ${differences} differences`)
