import { describe, expect, it } from "vitest"
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
      expect(sentences).toBe(program.steps.length + 1) // the start, each operation, the question
      const solved = StepProgram.solve(program)
      expect(String(solved.answer)).toBe(p.gold)
      expect(solved.steps).toEqual(p.goldSteps)
      expect(Format.evaluate(program.steps).every((v) => Number.isInteger(v) && v >= 0)).toBe(true)
    }
  })

  it("keeps level 1 compact (one operation, small numbers) and grows with the level", () => {
    const level = (l: number) => train.filter((p) => p.difficulty === l)
    for (const p of level(1)) {
      expect(p.question.length).toBeLessThan(80)
      expect(p.goldSteps?.length).toBe(2)
      expect(Number(p.gold)).toBeLessThanOrEqual(30)
    }
    const meanSteps = [1, 2, 3, 4, 5].map(
      (l) => level(l).reduce((s, p) => s + (p.goldSteps?.length ?? 0), 0) / level(l).length
    )
    for (let i = 1; i < 5; i++) expect(meanSteps[i]).toBeGreaterThan(meanSteps[i - 1]!)
    expect(Math.max(...level(5).map((p) => Number(p.gold)))).toBeGreaterThan(500)
  })

  it("holds out operation combinations from training and raises the held-out split to level 3", () => {
    const heldout = gen("heldout", 200)
    const trainCombos = new Set(train.map((p) => p.metadata.combination as string))
    const heldCombos = new Set(heldout.map((p) => p.metadata.combination as string))
    expect(heldCombos.size).toBeGreaterThanOrEqual(8)
    for (const combo of heldCombos) expect(trainCombos.has(combo)).toBe(false)
    for (const p of heldout) expect(p.difficulty).toBeGreaterThanOrEqual(3)
  })

  it("marks neighbouring additions as a commuting block", () => {
    const withBlock = train.find((p) =>
      (p.metadata.program as { steps: Array<{ block?: number }> }).steps.some((s) => s.block !== undefined)
    )
    expect(withBlock).toBeDefined()
  })

  it("has no transfer split and says so", () => {
    const r = Arithmetic.generate(config, "transfer", 0)
    expect(Result.isFailure(r) && r.failure.detail).toMatch(/no transfer split/)
  })
})
