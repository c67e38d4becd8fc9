import { assert, describe, it } from "vitest"
import * as Alignment from "../src/Alignment.ts"
import * as Dedup from "../src/Dedup.ts"

describe("Alignment", () => {
  it("compares steps by their result, ignoring wording", () => {
    assert.strictEqual(
      Alignment.stepKey("Add the weight surcharge: 12 + 8 = 20"),
      Alignment.stepKey("weight 7kg +8 = 20")
    )
    assert.strictEqual(Alignment.stepKey("total is 1,200"), "n:1200")
    assert.strictEqual(Alignment.stepKey("Look up the rule"), "t:look up the rule")
  })

  it("finds the first departure from the closest correct route, clamped to the last step", () => {
    const gold = ["base = 12", "weight +8 = 20", "fragile +5 = 25", "member -10% -2 = 23"]
    const other = ["base = 12", "fragile +5 = 17", "weight +8 = 25", "member -10% -2 = 23"]
    assert.strictEqual(
      Alignment.decisiveStep(["base = 12", "weight +8 = 20", "fragile +5 = 26", "member = 24"], [gold, other]),
      2
    )
    // Follows the second correct order longer than the first.
    assert.strictEqual(
      Alignment.decisiveStep(["base = 12", "fragile: 17", "weight: 25", "member: 22"], [gold, other]),
      3
    )
    // A correct prefix that stops and concludes wrongly goes wrong at its last step.
    assert.strictEqual(Alignment.decisiveStep(["base = 12", "weight +8 = 20"], [gold]), 1)
    assert.isUndefined(Alignment.decisiveStep([], [gold]))
    assert.isUndefined(Alignment.decisiveStep(["x = 1"], []))
  })
})

describe("Dedup", () => {
  it("drops near-identical routes with the same answer, keeps reorderings and different answers", () => {
    const a = { steps: ["Step 1: base zone B = 12", "weight 7kg +8 = 20"], answer: "20" }
    const aWorded = { steps: ["base zone B = 12.", "Weight 7kg +8 = 20!"], answer: "20" }
    const reordered = { steps: ["weight 7kg +8 = 8", "base zone B = 12"], answer: "20" }
    const otherAnswer = { steps: a.steps, answer: "21" }
    const { kept, dropped } = Dedup.dedupe([a, aWorded, reordered, otherAnswer], 0.95)
    assert.deepStrictEqual(kept, [a, reordered, otherAnswer])
    assert.strictEqual(dropped, 1)
    assert.strictEqual(Dedup.similarity(["a b c"], ["a b c", "d"]), 0.5)
  })
})
