import { describe, expect, it } from "vitest"
import { decodeSync } from "../src/EaaiConfig.ts"
import { autonomousCounterpart, behaviourMixture, isGuided, truncatedRatios } from "../src/OffPolicy.ts"

const guidance = decodeSync({ schedule: { totalSteps: 10 } }).guidance
const decision = { problemId: "p", strength: 0.6, routeCount: 3, hintFraction: 0, rescue: false, seed: 9 }

describe("OffPolicy", () => {
  it("strips all guidance but keeps the problem and prompt seed", () => {
    expect(autonomousCounterpart({ ...decision, rescue: true })).toEqual({
      problemId: "p",
      strength: 0,
      routeCount: 0,
      hintFraction: 0,
      rescue: false,
      seed: 9
    })
    expect(isGuided({ mode: "hint", strength: 0.2, routeIds: [], hint: "Step 1: x" })).toBe(true)
    expect(isGuided({ mode: "autonomous", strength: 0, routeIds: [] })).toBe(false)
  })

  it("reports the behaviour mixture: drawn for regular decisions, forced for rescues", () => {
    expect(behaviourMixture(guidance, decision)).toEqual({ assisted: 0.6, hint: 0.4 * 0.5, autonomous: 1 - 0.6 - 0.2 })
    expect(behaviourMixture(guidance, { ...decision, rescue: true, routeCount: 0, hintFraction: 0.5 })).toEqual({
      assisted: 0,
      hint: 1,
      autonomous: 0
    })
  })

  it("computes truncated per-token ratios", () => {
    const r = truncatedRatios([-1, -2, -0.5, -3, Number.NaN], [-1, -1, -2, -1000, -1], 2)
    expect(Array.from(r)).toEqual([1, Math.exp(-1), 2, 2, 0])
    expect(() => truncatedRatios([0], [0, 0], 2)).toThrow(/same completion tokens/)
  })
})
