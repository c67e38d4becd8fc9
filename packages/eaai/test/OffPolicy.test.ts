import { assert, describe, it } from "vitest"
import { decodeSync } from "../src/EaaiConfig.ts"
import { autonomousCounterpart, behaviourMixture, isGuided, truncatedRatios } from "../src/OffPolicy.ts"

const guidance = decodeSync({ schedule: { totalSteps: 10 } }).guidance
const decision = { problemId: "p", strength: 0.6, routeCount: 3, hintFraction: 0, rescue: false, seed: 9 }

describe("OffPolicy", () => {
  it("strips all guidance but keeps the problem and prompt seed", () => {
    assert.deepStrictEqual(autonomousCounterpart({ ...decision, rescue: true }), {
      problemId: "p",
      strength: 0,
      routeCount: 0,
      hintFraction: 0,
      rescue: false,
      seed: 9
    })
    assert.isTrue(isGuided({ mode: "hint", strength: 0.2, routeIds: [], hint: "Step 1: x" }))
    assert.isFalse(isGuided({ mode: "autonomous", strength: 0, routeIds: [] }))
  })

  it("reports the behaviour mixture: drawn for regular decisions, forced for rescues", () => {
    assert.deepStrictEqual(behaviourMixture(guidance, decision), {
      assisted: 0.6,
      hint: 0.4 * 0.5,
      autonomous: 1 - 0.6 - 0.2
    })
    assert.deepStrictEqual(
      behaviourMixture(guidance, { ...decision, rescue: true, routeCount: 0, hintFraction: 0.5 }),
      {
        assisted: 0,
        hint: 1,
        autonomous: 0
      }
    )
  })

  it("computes truncated per-token ratios", () => {
    const r = truncatedRatios([-1, -2, -0.5, -3, Number.NaN], [-1, -1, -2, -1000, -1], 2)
    assert.deepStrictEqual(Array.from(r), [1, Math.exp(-1), 2, 2, 0])
    assert.throws(() => truncatedRatios([0], [0, 0], 2), /same completion tokens/)
  })
})
