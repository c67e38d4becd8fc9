import { describe, expect, it } from "vitest"
import { Rng } from "@realm-lm/core"
import { meanCi, paired } from "../src/Bootstrap.ts"

describe("Bootstrap", () => {
  it("95% intervals cover the true accuracy in about 95% of repeated experiments", () => {
    const rng = Rng.Rng.make(11)
    const p = 0.6
    let covered = 0
    const experiments = 200
    for (let e = 0; e < experiments; e++) {
      const sample = Array.from({ length: 150 }, () => (rng.bernoulli(p) ? 1 : 0))
      const ci = meanCi(sample, { seed: e, resamples: 400 })
      if (ci.low <= p && p <= ci.high) covered++
    }
    // Binomial(200, 0.95) has sd ~3.1: accept 88%..99.5%.
    expect(covered / experiments).toBeGreaterThan(0.88)
    expect(covered / experiments).toBeLessThan(0.995)
  })

  it("is deterministic for a seed and degenerate for constant data", () => {
    const data = [1, 0, 1, 1, 0, 1, 0, 1]
    expect(meanCi(data, { seed: 5 })).toEqual(meanCi(data, { seed: 5 }))
    expect(meanCi([1, 1, 1, 1])).toEqual({ value: 1, low: 1, high: 1 })
    expect(meanCi([]).value).toBe(0)
  })

  it("paired comparison: identical methods give difference 0 and p = 1; a clearly better method a small p", () => {
    const ids = Array.from({ length: 120 }, (_, i) => `p${i}`)
    const a = new Map(ids.map((id, i) => [id, i % 2]))
    const same = paired(a, new Map(a))
    expect(same.difference.value).toBe(0)
    expect(same.pValue).toBe(1)
    const better = new Map(ids.map((id, i) => [id, i % 2 === 1 || i % 3 === 0 ? 1 : 0]))
    const cmp = paired(a, better)
    expect(cmp.difference.value).toBeGreaterThan(0)
    expect(cmp.difference.low).toBeGreaterThan(0)
    expect(cmp.pValue).toBeLessThan(0.01)
    expect(cmp.onlyB).toBe(20)
    expect(cmp.onlyA).toBe(0)
    expect(cmp.n).toBe(120)
  })

  it("pairs by problem id, ignoring problems only one method saw", () => {
    const cmp = paired(
      new Map([
        ["x", 1],
        ["y", 0]
      ]),
      new Map([
        ["y", 1],
        ["z", 1]
      ])
    )
    expect(cmp.n).toBe(1)
    expect(cmp.difference.value).toBe(1)
  })
})
