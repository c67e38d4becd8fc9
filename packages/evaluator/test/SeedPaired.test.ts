import { describe, expect, it } from "vitest"
import { Rng } from "@realm-lm/core"
import { accuracyOverSeeds, byGroup, pairedOverSeeds, t975Quantile, type SeedScores } from "../src/SeedPaired.ts"

const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`)

/** seed → problem → score from a function of (seed, problem index). */
const scores = (
  seeds: ReadonlyArray<number>,
  problems: ReadonlyArray<string>,
  f: (s: number, i: number) => number
): SeedScores => new Map(seeds.map((s) => [s, new Map(problems.map((id, i) => [id, f(s, i)]))]))

describe("SeedPaired", () => {
  it("identical methods: difference exactly 0 with interval [0, 0] at every level, p = 1", () => {
    const a = scores([1, 2, 3], ids(20), (s, i) => ((s * 7 + i * 3) % 5 === 0 ? 1 : 0))
    const cmp = pairedOverSeeds(a, a, { seed: 4 })
    for (const e of [cmp.difference, cmp.overProblems, cmp.overSeeds, cmp.overSeedsT])
      expect(e).toEqual({ value: 0, low: 0, high: 0 })
    expect(cmp.pValue).toBe(1)
    expect(cmp.perSeed).toEqual([0, 0, 0])
    expect(cmp).toMatchObject({ seeds: 3, problems: 20, dropped: 0, droppedSeeds: 0 })
  })

  it("B right on exactly 3 more of 10 problems in every seed: value 0.3, over-seeds interval [0.3, 0.3]", () => {
    const a = scores([0, 1, 2, 3], ids(10), (_s, i) => (i >= 5 ? 1 : 0))
    const b = scores([0, 1, 2, 3], ids(10), (_s, i) => (i >= 5 || i < 3 ? 1 : 0))
    const cmp = pairedOverSeeds(a, b, { seed: 1 })
    expect(cmp.difference.value).toBeCloseTo(0.3, 12)
    expect(cmp.overProblems.value).toBeCloseTo(0.3, 12)
    expect(cmp.perSeed).toEqual([0.3, 0.3, 0.3, 0.3])
    expect(cmp.overSeeds.value).toBeCloseTo(0.3, 12)
    expect(cmp.overSeeds.low).toBe(cmp.overSeeds.value)
    expect(cmp.overSeeds.high).toBe(cmp.overSeeds.value)
    expect(cmp.overSeedsT.low).toBeCloseTo(0.3, 12)
    expect(cmp.overSeedsT.high).toBeCloseTo(0.3, 12)
    // Problem noise remains: resampling 10 problems moves the two-level and over-problems intervals off 0.3.
    expect(cmp.difference.low).toBeLessThan(0.3)
    expect(cmp.difference.high).toBeGreaterThan(0.3)
    expect(cmp.difference.low).toBeGreaterThanOrEqual(0)
    // Only a resample with none of the 3 gaining problems reaches 0: probability 0.7^10, doubled for two sides.
    expect(Math.abs(cmp.pValue - 2 * 0.7 ** 10)).toBeLessThan(0.025)
  })

  it("per-seed differences 0.1, 0.2, 0.3: over-seeds value 0.2 and t-interval 0.2 ± 4.303·0.1/√3", () => {
    const a = scores([10, 20, 30], ids(10), () => 0)
    const b = scores([10, 20, 30], ids(10), (s, i) => (i < s / 10 ? 1 : 0))
    const cmp = pairedOverSeeds(a, b, { seed: 2 })
    expect(cmp.perSeed).toEqual([0.1, 0.2, 0.3])
    expect(cmp.overSeeds.value).toBeCloseTo(0.2, 9)
    const half = (4.303 * 0.1) / Math.sqrt(3)
    expect(Math.abs(cmp.overSeedsT.value - 0.2)).toBeLessThan(1e-9)
    expect(Math.abs(cmp.overSeedsT.low - (0.2 - half))).toBeLessThan(1e-9)
    expect(Math.abs(cmp.overSeedsT.high - (0.2 + half))).toBeLessThan(1e-9)
    // Percentile bootstrap over 3 seeds stays within the range of the per-seed values.
    expect(cmp.overSeeds.low).toBeGreaterThanOrEqual(0.1 - 1e-12)
    expect(cmp.overSeeds.high).toBeLessThanOrEqual(0.3 + 1e-12)
    expect(cmp.overSeeds.high - cmp.overSeeds.low).toBeGreaterThan(0.05)
  })

  it("t quantiles: table for df 1..30, 1.96 beyond; a single seed gives a degenerate over-seeds interval", () => {
    expect([1, 2, 10, 30, 31, 100].map(t975Quantile)).toEqual([12.706, 4.303, 2.228, 2.042, 1.96, 1.96])
    const a = scores([5], ids(8), () => 0)
    const b = scores([5], ids(8), (_s, i) => (i < 2 ? 1 : 0))
    const cmp = pairedOverSeeds(a, b)
    expect(cmp.overSeeds).toEqual({ value: 0.25, low: 0.25, high: 0.25 })
    expect(cmp.overSeedsT).toEqual({ value: 0.25, low: 0.25, high: 0.25 })
    expect(cmp.difference.high).toBeGreaterThan(cmp.difference.low) // problems are still resampled
  })

  it("the interval contains the value and widens when per-seed noise is added", () => {
    const problems = ids(60)
    const seeds = [1, 2, 3, 4, 5]
    const a = scores(seeds, problems, (_s, i) => (i % 2 === 0 ? 1 : 0))
    const steady = scores(seeds, problems, (_s, i) => (i % 2 === 0 || i % 5 === 1 ? 1 : 0))
    // Seeds 4 and 5 gain on 4 and 6 more problems: seed-to-seed spread on top of the steady gain.
    const noisy = scores(seeds, problems, (s, i) =>
      i % 2 === 0 || i % 5 === 1 || (s > 3 ? i % 10 === 3 && i < (s - 3) * 40 : false) ? 1 : 0
    )
    const quiet = pairedOverSeeds(a, steady, { seed: 3 })
    const loud = pairedOverSeeds(a, noisy, { seed: 3 })
    for (const c of [quiet, loud]) {
      expect(c.difference.low).toBeLessThanOrEqual(c.difference.value)
      expect(c.difference.value).toBeLessThanOrEqual(c.difference.high)
    }
    expect(new Set(loud.perSeed).size).toBeGreaterThan(1)
    expect(loud.difference.high - loud.difference.low).toBeGreaterThan(quiet.difference.high - quiet.difference.low)
    expect(loud.overSeeds.high - loud.overSeeds.low).toBeGreaterThan(quiet.overSeeds.high - quiet.overSeeds.low)
  })

  it("one problem draw is shared by all chosen seeds: seed-invariant scores give the over-problems width", () => {
    // Every seed has the same per-problem differences, so the two-level statistic is a one-level problem
    // bootstrap; independent draws per seed would shrink the interval by about 1/√5.
    const problems = ids(50)
    const a = scores([1, 2, 3, 4, 5], problems, () => 0)
    const b = scores([1, 2, 3, 4, 5], problems, (_s, i) => (i % 3 === 0 ? 1 : 0))
    const cmp = pairedOverSeeds(a, b, { seed: 6 })
    const width = (e: { low: number; high: number }) => e.high - e.low
    expect(width(cmp.overSeeds)).toBe(0)
    expect(width(cmp.difference) / width(cmp.overProblems)).toBeGreaterThan(0.85)
    expect(width(cmp.difference) / width(cmp.overProblems)).toBeLessThan(1.15)
  })

  it("is deterministic for a seed and differs for another seed", () => {
    const rng = Rng.Rng.make(7)
    const a = scores([1, 2, 3], ids(40), () => (rng.bernoulli(0.5) ? 1 : 0))
    const b = scores([1, 2, 3], ids(40), () => rng.float()) // continuous scores: no ties between quantiles
    expect(pairedOverSeeds(a, b, { seed: 9 })).toEqual(pairedOverSeeds(a, b, { seed: 9 }))
    expect(accuracyOverSeeds(b, { seed: 9 })).toEqual(accuracyOverSeeds(b, { seed: 9 }))
    expect(pairedOverSeeds(a, b, { seed: 10 }).difference).not.toEqual(pairedOverSeeds(a, b, { seed: 9 }).difference)
    expect(accuracyOverSeeds(b, { seed: 10 }).low).not.toBe(accuracyOverSeeds(b, { seed: 9 }).low)
  })

  it("accuracy over seeds: mean of per-seed means over problems common to every seed", () => {
    const m: SeedScores = new Map([
      [
        1,
        new Map([
          ["x", 1],
          ["y", 0],
          ["z", 1]
        ])
      ],
      [
        2,
        new Map([
          ["x", 1],
          ["y", 1]
        ])
      ]
    ])
    const acc = accuracyOverSeeds(m, { seed: 0 })
    expect(acc.perSeed).toEqual([0.5, 1])
    expect(acc.value).toBe(0.75)
    expect(acc).toMatchObject({ seedIds: [1, 2], problems: 2, dropped: 1 })
    expect(acc.low).toBeLessThanOrEqual(acc.value)
    expect(acc.high).toBeGreaterThanOrEqual(acc.value)
    expect(acc.low).toBeLessThan(acc.high)
  })

  it("drops and counts problems missing from one seed or one method, and seeds only one method has", () => {
    const a: SeedScores = new Map([
      [
        1,
        new Map([
          ["x", 0],
          ["y", 0],
          ["z", 0]
        ])
      ],
      [
        2,
        new Map([
          ["x", 0],
          ["y", 0],
          ["w", 0]
        ])
      ],
      [3, new Map([["x", 0]])]
    ])
    const b: SeedScores = new Map([
      [
        1,
        new Map([
          ["x", 1],
          ["y", 0],
          ["z", 1]
        ])
      ],
      [
        2,
        new Map([
          ["x", 1],
          ["y", 1],
          ["z", 1]
        ])
      ]
    ])
    const cmp = pairedOverSeeds(a, b)
    expect(cmp).toMatchObject({ seeds: 2, seedIds: [1, 2], problems: 2, dropped: 2, droppedSeeds: 1 }) // z, w dropped; seed 3
    expect(cmp.perSeed).toEqual([0.5, 1])
    expect(cmp.difference.value).toBe(0.75)
  })

  it("by group equals pairedOverSeeds on the group's problems filtered by hand", () => {
    const rng = Rng.Rng.make(21)
    const problems = ids(30)
    const level = (id: string) => `level=${Number(id.slice(1)) % 3}`
    const a = scores([1, 2], problems, () => (rng.bernoulli(0.4) ? 1 : 0))
    const b = scores([1, 2], problems, () => (rng.bernoulli(0.6) ? 1 : 0))
    const groups = byGroup(a, b, level, { seed: 5, resamples: 500 })
    expect(Object.keys(groups)).toEqual(["level=0", "level=1", "level=2"])
    for (const g of Object.keys(groups)) {
      const keep = (m: SeedScores): SeedScores =>
        new Map([...m].map(([s, xs]) => [s, new Map([...xs].filter(([id]) => level(id) === g))]))
      expect(groups[g]).toEqual(pairedOverSeeds(keep(a), keep(b), { seed: 5, resamples: 500 }))
      expect(groups[g]?.problems).toBe(10)
    }
    expect(groups["level=0"]?.difference.value).not.toBe(groups["level=1"]?.difference.value)
  })

  it("property: low ≤ value ≤ high for random data (fixed seeds)", () => {
    for (let trial = 0; trial < 40; trial++) {
      const rng = Rng.Rng.make(100, trial)
      const seeds = Array.from({ length: 1 + rng.int(6) }, (_, i) => i)
      const problems = ids(2 + rng.int(40))
      const pa = rng.float()
      const pb = rng.float()
      const a = scores(seeds, problems, () => (rng.bernoulli(pa) ? 1 : rng.float() < 0.1 ? 0.5 : 0))
      const b = scores(seeds, problems, () => (rng.bernoulli(pb) ? 1 : 0))
      const cmp = pairedOverSeeds(a, b, { seed: trial, resamples: 400 })
      const acc = accuracyOverSeeds(a, { seed: trial, resamples: 400 })
      for (const e of [cmp.difference, cmp.overProblems, cmp.overSeeds, cmp.overSeedsT, acc]) {
        expect(e.low).toBeLessThanOrEqual(e.value + 1e-12)
        expect(e.value).toBeLessThanOrEqual(e.high + 1e-12)
      }
      expect(cmp.pValue).toBeGreaterThanOrEqual(0)
      expect(cmp.pValue).toBeLessThanOrEqual(1)
    }
  })
})
