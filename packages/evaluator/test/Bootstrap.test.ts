import { assert, describe, it } from "vitest"
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
    assert.isAbove(covered / experiments, 0.88)
    assert.isBelow(covered / experiments, 0.995)
  })

  it("is deterministic for a seed and degenerate for constant data", () => {
    const data = [1, 0, 1, 1, 0, 1, 0, 1]
    assert.deepStrictEqual(meanCi(data, { seed: 5 }), meanCi(data, { seed: 5 }))
    assert.deepStrictEqual(meanCi([1, 1, 1, 1]), { value: 1, low: 1, high: 1 })
    assert.strictEqual(meanCi([]).value, 0)
  })

  it("paired comparison: identical methods give difference 0 and p = 1; a clearly better method a small p", () => {
    const ids = Array.from({ length: 120 }, (_, i) => `p${i}`)
    const a = new Map(ids.map((id, i) => [id, i % 2]))
    const same = paired(a, new Map(a))
    assert.strictEqual(same.difference.value, 0)
    assert.strictEqual(same.pValue, 1)
    const better = new Map(ids.map((id, i) => [id, i % 2 === 1 || i % 3 === 0 ? 1 : 0]))
    const cmp = paired(a, better)
    assert.isAbove(cmp.difference.value, 0)
    assert.isAbove(cmp.difference.low, 0)
    assert.isBelow(cmp.pValue, 0.01)
    assert.strictEqual(cmp.onlyB, 20)
    assert.strictEqual(cmp.onlyA, 0)
    assert.strictEqual(cmp.n, 120)
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
    assert.strictEqual(cmp.n, 1)
    assert.strictEqual(cmp.difference.value, 1)
  })
})
