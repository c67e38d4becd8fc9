import fc from "fast-check"
import { assert, describe, it } from "vitest"
import { decodeSync } from "../src/EaaiConfig.ts"
import { decide, levels, modeProbabilities } from "../src/GuidancePolicy.ts"
import { params } from "./fixtures/arbitraries.ts"

const guidance = decodeSync({ schedule: { totalSteps: 10 } }).guidance

describe("GuidancePolicy", () => {
  it("maps s to levels: nothing at 0, everything at 1, k rising with s", () => {
    assert.deepStrictEqual(levels(guidance, 0), {
      routeProbability: 0,
      routeCount: 0,
      hintProbability: 0,
      hintFraction: 0
    })
    assert.deepStrictEqual(levels(guidance, 1), {
      routeProbability: 1,
      routeCount: 4,
      hintProbability: 0.5,
      hintFraction: 1
    })
    assert.deepInclude(levels(guidance, 0.5), { routeProbability: 0.5, routeCount: 3, hintFraction: 0.5 })
    assert.strictEqual(levels({ ...guidance, routeExponent: 2 }, 0.5).routeProbability, 0.25)
    assert.deepStrictEqual(levels(guidance, 7), levels(guidance, 1))
    assert.deepStrictEqual(levels(guidance, Number.NaN), levels(guidance, 0))
  })

  it("with routes off, guidance is hints only: no route at any strength, hints at the configured share", () => {
    const hintsOnly = { ...guidance, routes: false, hintShare: 1 }
    for (const s of [1, 0.6, 0.1]) {
      assert.deepInclude(levels(hintsOnly, s), { routeProbability: 0, hintProbability: 1, hintFraction: s })
      assert.deepStrictEqual(modeProbabilities(hintsOnly, s), { assisted: 0, hint: 1, autonomous: 0 })
      for (let i = 0; i < 50; i++) {
        const d = decide(hintsOnly, 7, i, `p${i}`, s)
        assert.deepStrictEqual([d.routeCount, d.hintFraction], [0, s])
      }
    }
  })

  it("gives mode probabilities that sum to 1", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (s, share) => {
          const p = modeProbabilities({ ...guidance, hintShare: share }, s)
          assert.isBelow(Math.abs(p.assisted + p.hint + p.autonomous - 1), 5e-13)
          for (const x of [p.assisted, p.hint, p.autonomous]) assert.isTrue(x >= -1e-15 && x <= 1)
        }
      ),
      params(200)
    )
  })

  it("is deterministic per (seed, step, problem) and gives no guidance at s = 0", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.nat(100_000),
        fc.string(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, step, id, s) => {
          const d = decide(guidance, seed, step, id, s)
          assert.deepStrictEqual(decide(guidance, seed, step, id, s), d)
          assert.isTrue(Number.isInteger(d.seed))
          assert.isTrue(d.routeCount === 0 || d.hintFraction === 0)
          const zero = decide(guidance, seed, step, id, 0)
          assert.deepStrictEqual([zero.routeCount, zero.hintFraction, zero.strength], [0, 0, 0])
        }
      ),
      params(300)
    )
  })

  it("shows routes with probability s^γ and hints at the configured share (frequencies over 4000 problems)", () => {
    const n = 4000
    let routes = 0,
      hints = 0
    for (let i = 0; i < n; i++) {
      const d = decide(guidance, 1, 3, `p${i}`, 0.3)
      if (d.routeCount > 0) {
        routes++
        assert.strictEqual(d.routeCount, 2)
      }
      if (d.hintFraction > 0) {
        hints++
        assert.isBelow(Math.abs(d.hintFraction - 0.3), 5e-13)
      }
    }
    const pr = 0.3,
      ph = 0.7 * 0.5
    assert.isBelow(Math.abs(routes / n - pr), 4 * Math.sqrt((pr * (1 - pr)) / n))
    assert.isBelow(Math.abs(hints / n - ph), 4 * Math.sqrt((ph * (1 - ph)) / n))
  })

  it("draws different prompt seeds for different problems and steps", () => {
    const seeds = new Set<number>()
    for (let i = 0; i < 200; i++) seeds.add(decide(guidance, 1, i % 7, `p${i}`, 0.5).seed)
    assert.strictEqual(seeds.size, 200)
  })
})
