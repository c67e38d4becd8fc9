import { assert, describe, it } from "vitest"
import type { Problem } from "@realm-lm/core"
import { Result, Schema } from "effect"
import * as Arithmetic from "../src/Arithmetic.ts"
import { StepProgram as Format } from "@realm-lm/core"
import * as StepProgram from "../src/StepProgram.ts"

const config = Arithmetic.decodeConfig({ levels: [1, 2, 3, 4, 5] })
const gen = (split: Problem.Split, n: number): Array<Problem.Problem> =>
  Array.from({ length: n }, (_, i) => Result.getOrThrow(Arithmetic.generate(config, split, i)))

describe("Arithmetic", () => {
  const train = gen("train", 1000)

  it("writes one sentence per operation and solves it step by step (re-evaluated from the stored program)", () => {
    for (const p of train.slice(0, 300)) {
      const program = Schema.decodeUnknownSync(Format.StepProgram)(p.metadata.program)
      const sentences = p.question.split(". ").length
      assert.strictEqual(sentences, program.steps.length + 1) // the start, each operation, the question
      const solved = StepProgram.solve(program)
      assert.strictEqual(String(solved.answer), p.gold)
      assert.deepStrictEqual(solved.steps, p.goldSteps)
      assert.isTrue(Format.evaluate(program.steps).every((v) => Number.isInteger(v) && v >= 0))
    }
  })

  it("keeps level 1 compact (one operation, small numbers) and grows with the level", () => {
    const level = (l: number) => train.filter((p) => p.difficulty === l)
    for (const p of level(1)) {
      assert.isBelow(p.question.length, 80)
      assert.strictEqual(p.goldSteps?.length, 2)
      assert.isAtMost(Number(p.gold), 30)
    }
    const meanSteps = [1, 2, 3, 4, 5].map(
      (l) => level(l).reduce((s, p) => s + (p.goldSteps?.length ?? 0), 0) / level(l).length
    )
    for (let i = 1; i < 5; i++) assert.isAbove(meanSteps[i]!, meanSteps[i - 1]!)
    assert.isAbove(Math.max(...level(5).map((p) => Number(p.gold))), 500)
  })

  it("holds out operation combinations from training and raises the held-out split to level 3", () => {
    const heldout = gen("heldout", 200)
    const trainCombos = new Set(train.map((p) => p.metadata.combination as string))
    const heldCombos = new Set(heldout.map((p) => p.metadata.combination as string))
    assert.isAtLeast(heldCombos.size, 8)
    for (const combo of heldCombos) assert.isFalse(trainCombos.has(combo))
    for (const p of heldout) assert.isAtLeast(p.difficulty, 3)
  })

  it("marks neighbouring additions as a commuting block", () => {
    const withBlock = train.find((p) =>
      (p.metadata.program as { steps: Array<{ block?: number }> }).steps.some((s) => s.block !== undefined)
    )
    assert.isDefined(withBlock)
  })

  it("has no transfer split and says so", () => {
    const r = Arithmetic.generate(config, "transfer", 0)
    assert.match(Result.isFailure(r) ? r.failure.detail : "", /no transfer split/)
  })
})
