/** The verdict diagnostic of `bench/verdict-analysis.ts` (docs/EXPERIMENTS.md, "MRPV learnability") on hand-made completions. */
import { assert, describe, it } from "vitest"
import { headerAnswers, summarise, verdictLines } from "../bench/verdict-analysis.ts"

const prompt =
  "Q: Parcel: zone B, 4kg, long. Fee?\nRoute A: answer 20\nStep 1: base zone B = 12\nRoute B: answer 1,200\nStep 1: x\nSolve, then verify each route."

describe("verdict analysis", () => {
  it("reads route answers from the prompt's headers and each verdict line with its comparison", () => {
    assert.deepStrictEqual(
      [...headerAnswers(prompt)],
      [
        ["A", "20"],
        ["B", "1,200"]
      ]
    )
    const lines = verdictLines(
      "Step 1: y\nAnswer: 20\nRoute A: answer 20 vs 20, correct\nRoute B: answer 20 vs 20, wrong\nReflection: z",
      headerAnswers(prompt),
      "20"
    )
    assert.deepStrictEqual(lines, [
      { route: "A", header: "20", copied: "20", own: "20", compared: "20", verdict: "correct", gold: "20" },
      { route: "B", header: "1,200", copied: "20", own: "20", compared: "20", verdict: "wrong", gold: "20" }
    ])
    const rows = summarise(lines)
    assert.strictEqual(rows["route answer copied right"], "50.0% (1 of 2)")
    assert.strictEqual(rows["verdict follows the line's comparison"], "50.0% (1 of 2)")
    assert.strictEqual(rows["verdict accuracy (against the gold answer)"], "100.0% (2 of 2)")
    assert.strictEqual(rows["routes called correct"], "50.0% (1 of 2)")
  })

  it("reads verdict lines without echoed answers (verify-first) as verdicts only", () => {
    const lines = verdictLines("Route A: correct\nRoute B: wrong\nAnswer: 20", headerAnswers(prompt), "20")
    assert.deepStrictEqual(
      lines.map((l) => [l.route, l.copied, l.verdict]),
      [
        ["A", undefined, "correct"],
        ["B", undefined, "wrong"]
      ]
    )
    assert.strictEqual(summarise(lines)["route answer copied right"], "–")
  })
})
