import { assert, describe, it } from "vitest"
import { decisivePattern, decisiveStepOf, goldReference } from "../src/DecisivePattern.ts"
import { claim, claimRoutes } from "./fixtures/problems.ts"

const byId = (id: string) => {
  const r = claimRoutes.find((x) => x.id === id)
  if (r === undefined) throw new Error(`fixture route ${id} missing`)
  return r
}
const positives = claimRoutes.filter((r) => r.label === "positive")

describe("decisivePattern", () => {
  it("finds a miscomputed value at the first divergent step", () => {
    const p = decisivePattern(byId("neg-value"), positives)
    assert.deepInclude(p, { step: 1, referenceId: "pos-1", kind: "value", summary: "900 instead of 800" })
    assert.deepStrictEqual(p?.values, { expected: ["800"], actual: ["900"] })
  })

  it("names the misapplied term and the values that follow from it", () => {
    const p = decisivePattern(byId("neg-rule"), positives)
    assert.strictEqual(p?.step, 0)
    assert.strictEqual(p?.kind, "value+rule")
    assert.deepStrictEqual(p?.terms, { expected: ["deductible"], actual: ["copay"] })
    assert.deepStrictEqual(p?.values, { expected: ["200", "1000"], actual: ["300", "900"] })
  })

  it("aligns against the closest positive (longest common prefix), not the first one given", () => {
    const p = decisivePattern(byId("neg-value"), [positives[1]!, positives[0]!])
    assert.strictEqual(p?.referenceId, "pos-1")
  })

  it("reports an answer-only divergence past the last step", () => {
    const p = decisivePattern(byId("neg-answer"), positives)
    assert.deepInclude(p, { step: 2, kind: "answer", expected: "800", actual: "1000" })
  })

  it("reports missing and extra steps", () => {
    const ref = { id: "r", steps: ["a = 1", "b = 2", "c = 3"], answer: "3" }
    assert.deepInclude(decisivePattern({ id: "n", steps: ["a = 1"], answer: "1" }, [ref]), {
      step: 1,
      kind: "missing-step"
    })
    assert.deepInclude(decisivePattern({ id: "n", steps: ["a = 1", "b = 2", "c = 3", "d = 4"], answer: "4" }, [ref]), {
      step: 3,
      kind: "extra-step"
    })
  })

  it("treats 1,200 and 1200.0 as the same value and ignores case and spacing", () => {
    const ref = { id: "r", steps: ["Total = 1,200 dollars"], answer: "1,200" }
    assert.isUndefined(decisivePattern({ id: "n", steps: ["total   =  1200.0 DOLLARS"], answer: "1200" }, [ref]))
  })

  it("is undefined without references", () => {
    assert.isUndefined(decisivePattern(byId("neg-value"), []))
  })
})

describe("decisiveStepOf", () => {
  it("prefers the route's own decisiveStep", () => {
    assert.strictEqual(decisiveStepOf(byId("neg-rule"), positives), 0)
    assert.strictEqual(decisiveStepOf({ ...byId("neg-value"), decisiveStep: 7 }, positives), 1) // clamped to the last step
  })

  it("falls back to alignment, clamping an answer-only divergence to the last step", () => {
    assert.strictEqual(decisiveStepOf(byId("neg-value"), positives), 1)
    assert.strictEqual(decisiveStepOf(byId("neg-answer"), positives), 1)
  })

  it("uses gold steps as a reference when no positive route is at hand", () => {
    const gold = goldReference(claim)
    assert.strictEqual(gold?.id, "gold")
    assert.strictEqual(decisiveStepOf(byId("neg-value"), gold === undefined ? [] : [gold]), 1)
    assert.isUndefined(decisiveStepOf(byId("neg-value"), []))
  })
})
