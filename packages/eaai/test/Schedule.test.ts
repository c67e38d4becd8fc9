import fc from "fast-check"
import { assert, describe, it } from "vitest"
import { decodeTimedSync as decodeSync } from "../src/EaaiConfig.ts"
import { curve, halfLife, strength, zeroFrom } from "../src/Schedule.ts"
import { params, scheduleArb } from "./fixtures/arbitraries.ts"

const schedule = (raw: Record<string, unknown>) => decodeSync({ schedule: { totalSteps: 100, ...raw } }).schedule

describe("Schedule", () => {
  it("is non-increasing, within [0, initial], initial in warm-up and exactly 0 in the final phase (property)", () => {
    fc.assert(
      fc.property(scheduleArb, (sc) => {
        const z = zeroFrom(sc)
        assert.isAtMost(z, sc.totalSteps - 1) // at least one autonomous step inside training
        assert.isAtLeast(z, sc.warmupSteps)
        // Plain checks in the loop, one assertion per schedule: thousands of assert calls per run are slow.
        const bad: Array<string> = []
        let prev = Number.POSITIVE_INFINITY
        for (let t = 0; t < sc.totalSteps + 20; t++) {
          const s = strength(sc, t)
          if (s > prev) bad.push(`increases at ${t}`)
          if (!(s >= 0 && s <= sc.initial)) bad.push(`out of range at ${t}: ${s}`)
          if (t < Math.min(sc.warmupSteps, z) && s !== sc.initial) bad.push(`not initial in warm-up at ${t}`)
          if (t >= z && !Object.is(s, 0)) bad.push(`not exactly 0 at ${t}: ${s}`)
          // Asymptotic or staged: never 0 before the autonomous phase (unless 2^-x underflows a double).
          const underflow = sc.kind === "exponential" && (t - sc.warmupSteps) / halfLife(sc) > 1000
          if (t < z && !underflow && !(s > 0)) bad.push(`0 before the autonomous phase at ${t}`)
          prev = s
        }
        assert.deepStrictEqual(bad, [])
      }),
      params(300)
    )
  })

  it("computes each shape's values", () => {
    const exp = schedule({ kind: "exponential", halfLife: 10, autonomousFraction: 0.5 })
    assert.strictEqual(zeroFrom(exp), 50)
    assert.deepStrictEqual(
      [strength(exp, 0), strength(exp, 10), strength(exp, 20), strength(exp, 49), strength(exp, 50)],
      [1, 0.5, 0.25, Math.pow(2, -4.9), 0]
    )
    const inv = schedule({ kind: "inverse-time", timeScale: 5, warmupSteps: 10, initial: 0.8 })
    assert.deepStrictEqual(
      [strength(inv, 9), strength(inv, 10), strength(inv, 15), strength(inv, 75)],
      [0.8, 0.8, 0.4, 0]
    )
    const cos = schedule({ kind: "cosine", autonomousFraction: 0.2 })
    assert.isBelow(Math.abs(strength(cos, 40) - 0.5), 5e-13)
    assert.isAbove(strength(cos, 79), 0)
    assert.strictEqual(strength(cos, 80), 0)
    const stair = schedule({ kind: "stepwise", stages: 4, autonomousFraction: 0.2 })
    assert.deepStrictEqual(
      [0, 19, 20, 40, 60, 79, 80].map((t) => strength(stair, t)),
      [1, 1, 0.75, 0.5, 0.25, 0.25, 0]
    )
    assert.deepStrictEqual(Array.from(curve(stair, 3)), [1, 1, 1])
  })

  it("defaults the exponential half-life to a sixth of the decay span", () => {
    const exp = schedule({ kind: "exponential", warmupSteps: 12, autonomousFraction: 0.4 }) // span 60 - 12 = 48
    assert.isBelow(Math.abs(strength(exp, 12 + 8) - 0.5), 5e-13)
  })

  it("keeps a constant signal through training only when explicitly allowed", () => {
    const baseline = schedule({ kind: "constant", autonomousFraction: 0, allowNoAutonomousPhase: true, initial: 0.9 })
    assert.strictEqual(zeroFrom(baseline), Number.POSITIVE_INFINITY)
    assert.isTrue(Array.from(curve(baseline)).every((s) => s === 0.9))
    assert.throws(() => schedule({ kind: "constant", autonomousFraction: 0 }), /never reaches the autonomous phase/)
  })

  it("treats negative and NaN steps as step 0", () => {
    const sc = schedule({ kind: "cosine" })
    assert.strictEqual(strength(sc, -5), 1)
    assert.strictEqual(strength(sc, Number.NaN), 1)
    assert.strictEqual(strength(sc, Number.POSITIVE_INFINITY), 0)
  })
})
