import { assert, describe, it } from "vitest"
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
    assert.strictEqual(result.samples, 3)
    assert.strictEqual(result.accuracy.value, 0.5)
    assert.strictEqual(result.metrics["sc@3"]?.value, 0.75)
    assert.strictEqual(result.metrics["pass@3"]?.value, 0.75)
    assert.isBelow(Math.abs((result.metrics.consistency?.value ?? NaN) - (2 / 3 + 2 / 3 + 1 / 3 + 1) / 4), 5e-13)
    assert.isAtMost(result.accuracy.low, 0.5)
    assert.isAtLeast(result.accuracy.high, 0.5)
  })

  it("breaks accuracy down by difficulty and by split", () => {
    assert.deepStrictEqual(Object.keys(result.breakdown), [
      "difficulty=1",
      "difficulty=2",
      "split=heldout",
      "split=test"
    ])
    assert.strictEqual(result.breakdown["difficulty=1"]?.value, 0.5)
    assert.strictEqual(result.breakdown["split=heldout"]?.value, 0.5)
  })

  it("exposes per-problem scores for paired comparisons", () => {
    assert.deepStrictEqual(
      [...perProblem(outcomes, "sc").entries()],
      [
        ["a", 1],
        ["b", 1],
        ["c", 0],
        ["d", 1]
      ]
    )
  })

  it("renders the method × (split, mode) markdown table with CIs", () => {
    const other = summarise({ ...header, method: "SFT", mode: "assisted" }, outcomes)
    const table = markdown([result, other])
    const lines = table.split("\n")
    assert.strictEqual(lines[0], "| method | test assisted | test autonomous |")
    assert.match(lines[2]!, /^\| ReaLM \| – \| 50\.0 \[\d+\.\d, \d+\.\d\] \|$/)
    assert.match(lines[3]!, /^\| SFT \| 50\.0 \[/)
  })
})
