import { assert, describe, it } from "vitest"
import { Rng } from "@realm-lm/core"
import { accuracyOverSeeds, byGroup, pairedOverSeeds, t975Quantile, type SeedScores } from "../src/SeedPaired.ts"

const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`)

/** seed → problem → score from a function of (seed, problem index). */
const scores = (
  seeds: ReadonlyArray<number>,
  problems: ReadonlyArray<string>,
  f: (s: number, i: number) => number
): SeedScores => new Map(seeds.map((s) => [s, new Map(problems.map((id, i) => [id, f(s, i)]))]))

/** seed → problem → score written as plain objects: `{ 1: { x: 1, y: 0 } }`. */
const literal = (bySeed: Record<number, Record<string, number>>): SeedScores =>
  new Map(Object.entries(bySeed).map(([seed, byProblem]) => [Number(seed), new Map(Object.entries(byProblem))]))

describe("SeedPaired", () => {
  it("identical methods: difference exactly 0 with interval [0, 0] at every level, p = 1", () => {
    const a = scores([1, 2, 3], ids(20), (s, i) => ((s * 7 + i * 3) % 5 === 0 ? 1 : 0))
    const cmp = pairedOverSeeds(a, a, { seed: 4 })
    for (const e of [cmp.difference, cmp.overProblems, cmp.overSeeds, cmp.overSeedsT])
      assert.deepStrictEqual(e, { value: 0, low: 0, high: 0 })
    assert.strictEqual(cmp.pValue, 1)
    assert.deepStrictEqual(cmp.perSeed, [0, 0, 0])
    assert.deepInclude(cmp, { seeds: 3, problems: 20, dropped: 0, droppedSeeds: 0 })
  })

  it("B right on exactly 3 more of 10 problems in every seed: value 0.3, over-seeds interval [0.3, 0.3]", () => {
    const a = scores([0, 1, 2, 3], ids(10), (_s, i) => (i >= 5 ? 1 : 0))
    const b = scores([0, 1, 2, 3], ids(10), (_s, i) => (i >= 5 || i < 3 ? 1 : 0))
    const cmp = pairedOverSeeds(a, b, { seed: 1 })
    assert.isBelow(Math.abs(cmp.difference.value - 0.3), 5e-13)
    assert.isBelow(Math.abs(cmp.overProblems.value - 0.3), 5e-13)
    assert.deepStrictEqual(cmp.perSeed, [0.3, 0.3, 0.3, 0.3])
    assert.isBelow(Math.abs(cmp.overSeeds.value - 0.3), 5e-13)
    assert.strictEqual(cmp.overSeeds.low, cmp.overSeeds.value)
    assert.strictEqual(cmp.overSeeds.high, cmp.overSeeds.value)
    assert.isBelow(Math.abs(cmp.overSeedsT.low - 0.3), 5e-13)
    assert.isBelow(Math.abs(cmp.overSeedsT.high - 0.3), 5e-13)
    // Problem noise remains: resampling 10 problems moves the two-level and over-problems intervals off 0.3.
    assert.isBelow(cmp.difference.low, 0.3)
    assert.isAbove(cmp.difference.high, 0.3)
    assert.isAtLeast(cmp.difference.low, 0)
    // Only a resample with none of the 3 gaining problems reaches 0: probability 0.7^10, doubled for two sides.
    assert.isBelow(Math.abs(cmp.pValue - 2 * 0.7 ** 10), 0.025)
  })

  it("per-seed differences 0.1, 0.2, 0.3: over-seeds value 0.2 and t-interval 0.2 ± 4.303·0.1/√3", () => {
    const a = scores([10, 20, 30], ids(10), () => 0)
    const b = scores([10, 20, 30], ids(10), (s, i) => (i < s / 10 ? 1 : 0))
    const cmp = pairedOverSeeds(a, b, { seed: 2 })
    assert.deepStrictEqual(cmp.perSeed, [0.1, 0.2, 0.3])
    assert.isBelow(Math.abs(cmp.overSeeds.value - 0.2), 5e-10)
    const half = (4.303 * 0.1) / Math.sqrt(3)
    assert.isBelow(Math.abs(cmp.overSeedsT.value - 0.2), 1e-9)
    assert.isBelow(Math.abs(cmp.overSeedsT.low - (0.2 - half)), 1e-9)
    assert.isBelow(Math.abs(cmp.overSeedsT.high - (0.2 + half)), 1e-9)
    // Percentile bootstrap over 3 seeds stays within the range of the per-seed values.
    assert.isAtLeast(cmp.overSeeds.low, 0.1 - 1e-12)
    assert.isAtMost(cmp.overSeeds.high, 0.3 + 1e-12)
    assert.isAbove(cmp.overSeeds.high - cmp.overSeeds.low, 0.05)
  })

  it("t quantiles: table for df 1..30, 1.96 beyond; a single seed gives a degenerate over-seeds interval", () => {
    assert.deepStrictEqual([1, 2, 10, 30, 31, 100].map(t975Quantile), [12.706, 4.303, 2.228, 2.042, 1.96, 1.96])
    const a = scores([5], ids(8), () => 0)
    const b = scores([5], ids(8), (_s, i) => (i < 2 ? 1 : 0))
    const cmp = pairedOverSeeds(a, b)
    assert.deepStrictEqual(cmp.overSeeds, { value: 0.25, low: 0.25, high: 0.25 })
    assert.deepStrictEqual(cmp.overSeedsT, { value: 0.25, low: 0.25, high: 0.25 })
    assert.isAbove(cmp.difference.high, cmp.difference.low) // problems are still resampled
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
      assert.isAtMost(c.difference.low, c.difference.value)
      assert.isAtMost(c.difference.value, c.difference.high)
    }
    assert.isAbove(new Set(loud.perSeed).size, 1)
    assert.isAbove(loud.difference.high - loud.difference.low, quiet.difference.high - quiet.difference.low)
    assert.isAbove(loud.overSeeds.high - loud.overSeeds.low, quiet.overSeeds.high - quiet.overSeeds.low)
  })

  it("one problem draw is shared by all chosen seeds: seed-invariant scores give the over-problems width", () => {
    // Every seed has the same per-problem differences, so the two-level statistic is a one-level problem
    // bootstrap; independent draws per seed would shrink the interval by about 1/√5.
    const problems = ids(50)
    const a = scores([1, 2, 3, 4, 5], problems, () => 0)
    const b = scores([1, 2, 3, 4, 5], problems, (_s, i) => (i % 3 === 0 ? 1 : 0))
    const cmp = pairedOverSeeds(a, b, { seed: 6 })
    const width = (e: { low: number; high: number }) => e.high - e.low
    assert.strictEqual(width(cmp.overSeeds), 0)
    assert.isAbove(width(cmp.difference) / width(cmp.overProblems), 0.85)
    assert.isBelow(width(cmp.difference) / width(cmp.overProblems), 1.15)
  })

  it("is deterministic for a seed and differs for another seed", () => {
    const rng = Rng.Rng.make(7)
    const a = scores([1, 2, 3], ids(40), () => (rng.bernoulli(0.5) ? 1 : 0))
    const b = scores([1, 2, 3], ids(40), () => rng.float()) // continuous scores: no ties between quantiles
    assert.deepStrictEqual(pairedOverSeeds(a, b, { seed: 9 }), pairedOverSeeds(a, b, { seed: 9 }))
    assert.deepStrictEqual(accuracyOverSeeds(b, { seed: 9 }), accuracyOverSeeds(b, { seed: 9 }))
    assert.notDeepEqual(pairedOverSeeds(a, b, { seed: 10 }).difference, pairedOverSeeds(a, b, { seed: 9 }).difference)
    assert.notStrictEqual(accuracyOverSeeds(b, { seed: 10 }).low, accuracyOverSeeds(b, { seed: 9 }).low)
  })

  it("accuracy over seeds: mean of per-seed means over problems common to every seed", () => {
    const m: SeedScores = literal({ 1: { x: 1, y: 0, z: 1 }, 2: { x: 1, y: 1 } })
    const acc = accuracyOverSeeds(m, { seed: 0 })
    assert.deepStrictEqual(acc.perSeed, [0.5, 1])
    assert.strictEqual(acc.value, 0.75)
    assert.deepInclude(acc, { seedIds: [1, 2], problems: 2, dropped: 1 })
    assert.isAtMost(acc.low, acc.value)
    assert.isAtLeast(acc.high, acc.value)
    assert.isBelow(acc.low, acc.high)
  })

  it("drops and counts problems missing from one seed or one method, and seeds only one method has", () => {
    const a: SeedScores = literal({ 1: { x: 0, y: 0, z: 0 }, 2: { x: 0, y: 0, w: 0 }, 3: { x: 0 } })
    const b: SeedScores = literal({ 1: { x: 1, y: 0, z: 1 }, 2: { x: 1, y: 1, z: 1 } })
    const cmp = pairedOverSeeds(a, b)
    assert.deepInclude(cmp, { seeds: 2, seedIds: [1, 2], problems: 2, dropped: 2, droppedSeeds: 1 }) // z, w dropped; seed 3
    assert.deepStrictEqual(cmp.perSeed, [0.5, 1])
    assert.strictEqual(cmp.difference.value, 0.75)
  })

  it("by group equals pairedOverSeeds on the group's problems filtered by hand", () => {
    const rng = Rng.Rng.make(21)
    const problems = ids(30)
    const level = (id: string) => `level=${Number(id.slice(1)) % 3}`
    const a = scores([1, 2], problems, () => (rng.bernoulli(0.4) ? 1 : 0))
    const b = scores([1, 2], problems, () => (rng.bernoulli(0.6) ? 1 : 0))
    const groups = byGroup(a, b, level, { seed: 5, resamples: 500 })
    assert.deepStrictEqual(Object.keys(groups), ["level=0", "level=1", "level=2"])
    for (const g of Object.keys(groups)) {
      const keep = (m: SeedScores): SeedScores =>
        new Map([...m].map(([s, xs]) => [s, new Map([...xs].filter(([id]) => level(id) === g))]))
      assert.deepStrictEqual(groups[g], pairedOverSeeds(keep(a), keep(b), { seed: 5, resamples: 500 }))
      assert.strictEqual(groups[g]?.problems, 10)
    }
    assert.notStrictEqual(groups["level=0"]?.difference.value, groups["level=1"]?.difference.value)
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
        assert.isAtMost(e.low, e.value + 1e-12)
        assert.isAtMost(e.value, e.high + 1e-12)
      }
      assert.isAtLeast(cmp.pValue, 0)
      assert.isAtMost(cmp.pValue, 1)
    }
  })
})
