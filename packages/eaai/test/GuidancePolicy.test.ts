import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeSync } from "../src/EaaiConfig.ts"
import { decide, levels, modeProbabilities } from "../src/GuidancePolicy.ts"
import { params } from "./fixtures/arbitraries.ts"

const guidance = decodeSync({ schedule: { totalSteps: 10 } }).guidance

describe("GuidancePolicy", () => {
  it("maps s to levels: nothing at 0, everything at 1, k rising with s", () => {
    expect(levels(guidance, 0)).toEqual({ routeProbability: 0, routeCount: 0, hintProbability: 0, hintFraction: 0 })
    expect(levels(guidance, 1)).toEqual({ routeProbability: 1, routeCount: 4, hintProbability: 0.5, hintFraction: 1 })
    expect(levels(guidance, 0.5)).toMatchObject({ routeProbability: 0.5, routeCount: 3, hintFraction: 0.5 })
    expect(levels({ ...guidance, routeExponent: 2 }, 0.5).routeProbability).toBe(0.25)
    expect(levels(guidance, 7)).toEqual(levels(guidance, 1))
    expect(levels(guidance, Number.NaN)).toEqual(levels(guidance, 0))
  })

  it("with routes off, guidance is hints only: no route at any strength, hints at the configured share", () => {
    const hintsOnly = { ...guidance, routes: false, hintShare: 1 }
    for (const s of [1, 0.6, 0.1]) {
      expect(levels(hintsOnly, s)).toMatchObject({ routeProbability: 0, hintProbability: 1, hintFraction: s })
      expect(modeProbabilities(hintsOnly, s)).toEqual({ assisted: 0, hint: 1, autonomous: 0 })
      for (let i = 0; i < 50; i++) {
        const d = decide(hintsOnly, 7, i, `p${i}`, s)
        expect([d.routeCount, d.hintFraction]).toEqual([0, s])
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
          expect(p.assisted + p.hint + p.autonomous).toBeCloseTo(1, 12)
          for (const x of [p.assisted, p.hint, p.autonomous]) expect(x >= -1e-15 && x <= 1).toBe(true)
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
          expect(decide(guidance, seed, step, id, s)).toEqual(d)
          expect(Number.isInteger(d.seed)).toBe(true)
          expect(d.routeCount === 0 || d.hintFraction === 0).toBe(true)
          const zero = decide(guidance, seed, step, id, 0)
          expect([zero.routeCount, zero.hintFraction, zero.strength]).toEqual([0, 0, 0])
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
        expect(d.routeCount).toBe(2)
      }
      if (d.hintFraction > 0) {
        hints++
        expect(d.hintFraction).toBeCloseTo(0.3, 12)
      }
    }
    const pr = 0.3,
      ph = 0.7 * 0.5
    expect(Math.abs(routes / n - pr)).toBeLessThan(4 * Math.sqrt((pr * (1 - pr)) / n))
    expect(Math.abs(hints / n - ph)).toBeLessThan(4 * Math.sqrt((ph * (1 - ph)) / n))
  })

  it("draws different prompt seeds for different problems and steps", () => {
    const seeds = new Set<number>()
    for (let i = 0; i < 200; i++) seeds.add(decide(guidance, 1, i % 7, `p${i}`, 0.5).seed)
    expect(seeds.size).toBe(200)
  })
})
