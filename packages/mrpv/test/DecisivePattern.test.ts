import { describe, expect, it } from "vitest"
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
    expect(p).toMatchObject({ step: 1, referenceId: "pos-1", kind: "value", summary: "900 instead of 800" })
    expect(p?.values).toEqual({ expected: ["800"], actual: ["900"] })
  })

  it("names the misapplied term and the values that follow from it", () => {
    const p = decisivePattern(byId("neg-rule"), positives)
    expect(p?.step).toBe(0)
    expect(p?.kind).toBe("value+rule")
    expect(p?.terms).toEqual({ expected: ["deductible"], actual: ["copay"] })
    expect(p?.values).toEqual({ expected: ["200", "1000"], actual: ["300", "900"] })
  })

  it("aligns against the closest positive (longest common prefix), not the first one given", () => {
    const p = decisivePattern(byId("neg-value"), [positives[1]!, positives[0]!])
    expect(p?.referenceId).toBe("pos-1")
  })

  it("reports an answer-only divergence past the last step", () => {
    const p = decisivePattern(byId("neg-answer"), positives)
    expect(p).toMatchObject({ step: 2, kind: "answer", expected: "800", actual: "1000" })
  })

  it("reports missing and extra steps", () => {
    const ref = { id: "r", steps: ["a = 1", "b = 2", "c = 3"], answer: "3" }
    expect(decisivePattern({ id: "n", steps: ["a = 1"], answer: "1" }, [ref])).toMatchObject({
      step: 1,
      kind: "missing-step"
    })
    expect(decisivePattern({ id: "n", steps: ["a = 1", "b = 2", "c = 3", "d = 4"], answer: "4" }, [ref])).toMatchObject(
      { step: 3, kind: "extra-step" }
    )
  })

  it("treats 1,200 and 1200.0 as the same value and ignores case and spacing", () => {
    const ref = { id: "r", steps: ["Total = 1,200 dollars"], answer: "1,200" }
    expect(decisivePattern({ id: "n", steps: ["total   =  1200.0 DOLLARS"], answer: "1200" }, [ref])).toBeUndefined()
  })

  it("is undefined without references", () => {
    expect(decisivePattern(byId("neg-value"), [])).toBeUndefined()
  })
})

describe("decisiveStepOf", () => {
  it("prefers the route's own decisiveStep", () => {
    expect(decisiveStepOf(byId("neg-rule"), positives)).toBe(0)
    expect(decisiveStepOf({ ...byId("neg-value"), decisiveStep: 7 }, positives)).toBe(1) // clamped to the last step
  })

  it("falls back to alignment, clamping an answer-only divergence to the last step", () => {
    expect(decisiveStepOf(byId("neg-value"), positives)).toBe(1)
    expect(decisiveStepOf(byId("neg-answer"), positives)).toBe(1)
  })

  it("uses gold steps as a reference when no positive route is at hand", () => {
    const gold = goldReference(claim)
    expect(gold?.id).toBe("gold")
    expect(decisiveStepOf(byId("neg-value"), gold === undefined ? [] : [gold])).toBe(1)
    expect(decisiveStepOf(byId("neg-value"), [])).toBeUndefined()
  })
})
