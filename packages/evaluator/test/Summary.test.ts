import { describe, expect, it } from "vitest"
import type { EvalResult } from "@realm-lm/core"
import { perProblem, summarise } from "../src/Summary.ts"
import { markdown } from "../src/Table.ts"

const outcome = (
  id: string,
  difficulty: number,
  split: string,
  answers: Array<string>,
  correct: Array<boolean>
): EvalResult.ProblemOutcome => ({ problemId: id, difficulty, split, answers, correct })

const header = { method: "ReaLM", checkpoint: "ckpt/rl", task: "parcel", split: "test", mode: "autonomous" } as const

describe("summarise", () => {
  const outcomes = [
    outcome("a", 1, "test", ["5", "5", "4"], [true, true, false]),
    outcome("b", 1, "test", ["2", "3", "3"], [false, true, true]),
    outcome("c", 2, "heldout", ["9", "8", "7"], [false, false, false]),
    outcome("d", 2, "heldout", ["1", "1", "1"], [true, true, true])
  ]
  const result = summarise(header, outcomes)

  it("computes first-sample accuracy, sc@k, pass@k and consistency", () => {
    expect(result.samples).toBe(3)
    expect(result.accuracy.value).toBe(0.5)
    expect(result.metrics["sc@3"]?.value).toBe(0.75)
    expect(result.metrics["pass@3"]?.value).toBe(0.75)
    expect(result.metrics.consistency?.value).toBeCloseTo((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4, 12)
    expect(result.accuracy.low).toBeLessThanOrEqual(0.5)
    expect(result.accuracy.high).toBeGreaterThanOrEqual(0.5)
  })

  it("breaks accuracy down by difficulty and by split", () => {
    expect(Object.keys(result.breakdown)).toEqual(["difficulty=1", "difficulty=2", "split=heldout", "split=test"])
    expect(result.breakdown["difficulty=1"]?.value).toBe(0.5)
    expect(result.breakdown["split=heldout"]?.value).toBe(0.5)
  })

  it("exposes per-problem scores for paired comparisons", () => {
    expect([...perProblem(outcomes, "sc").entries()]).toEqual([
      ["a", 1],
      ["b", 1],
      ["c", 0],
      ["d", 1]
    ])
  })

  it("renders the method × (split, mode) markdown table with CIs", () => {
    const other = summarise({ ...header, method: "SFT", mode: "assisted" }, outcomes)
    const table = markdown([result, other])
    const lines = table.split("\n")
    expect(lines[0]).toBe("| method | test assisted | test autonomous |")
    expect(lines[2]).toMatch(/^\| ReaLM \| – \| 50\.0 \[\d+\.\d, \d+\.\d\] \|$/)
    expect(lines[3]).toMatch(/^\| SFT \| 50\.0 \[/)
  })
})
