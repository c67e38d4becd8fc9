import { assert, describe, it } from "vitest"
import { Rng } from "@realm-lm/core"
import { consistency, majorityVote, passAtK, selfConsistencyCorrect } from "../src/Metrics.ts"

const choose = (n: number, k: number): number => {
  let r = 1
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i
  return r
}

describe("Metrics", () => {
  it("passAtK equals the combinatorial definition 1 - C(n-c,k)/C(n,k) for all small n, c, k", () => {
    for (let n = 1; n <= 12; n++) {
      for (let c = 0; c <= n; c++) {
        for (let k = 1; k <= n; k++) {
          const exact = n - c < k ? 1 : 1 - choose(n - c, k) / choose(n, k)
          assert.isBelow(Math.abs(passAtK(n, c, k) - exact), 5e-13)
        }
      }
    }
    assert.throws(() => passAtK(4, 5, 2), /0 <= c <= n/)
  })

  it("passAtK matches Monte Carlo sampling of k without replacement", () => {
    const rng = Rng.Rng.make(3)
    const pool = [true, true, false, false, false, false, false]
    let hits = 0
    const trials = 20_000
    for (let t = 0; t < trials; t++) if (rng.shuffle(pool).slice(0, 3).some(Boolean)) hits++
    assert.isBelow(Math.abs(hits / trials - passAtK(7, 2, 3)), 0.015)
  })

  it("majority vote ignores missing answers and breaks ties by first appearance", () => {
    assert.strictEqual(majorityVote(["3", undefined, "4", "4", "3"]), "3")
    assert.strictEqual(majorityVote(["5", "4", "4"]), "4")
    assert.isUndefined(majorityVote([undefined, ""]))
    assert.strictEqual(consistency(["4", "4", "4", "2"]), 0.75)
    assert.strictEqual(consistency([undefined]), 0)
  })

  it("self-consistency is correct exactly when the majority answer is a correct one", () => {
    assert.isFalse(selfConsistencyCorrect(["7", "9", "9"], [true, false, false]))
    assert.isTrue(selfConsistencyCorrect(["7", "7", "9"], [true, true, false]))
    assert.isFalse(selfConsistencyCorrect([undefined, undefined], [false, false]))
  })
})
