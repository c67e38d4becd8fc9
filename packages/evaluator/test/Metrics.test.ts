import { describe, expect, it } from "vitest"
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
          expect(passAtK(n, c, k)).toBeCloseTo(exact, 12)
        }
      }
    }
    expect(() => passAtK(4, 5, 2)).toThrow(/0 <= c <= n/)
  })

  it("passAtK matches Monte Carlo sampling of k without replacement", () => {
    const rng = Rng.Rng.make(3)
    const pool = [true, true, false, false, false, false, false]
    let hits = 0
    const trials = 20_000
    for (let t = 0; t < trials; t++) if (rng.shuffle(pool).slice(0, 3).some(Boolean)) hits++
    expect(Math.abs(hits / trials - passAtK(7, 2, 3))).toBeLessThan(0.015)
  })

  it("majority vote ignores missing answers and breaks ties by first appearance", () => {
    expect(majorityVote(["3", undefined, "4", "4", "3"])).toBe("3")
    expect(majorityVote(["5", "4", "4"])).toBe("4")
    expect(majorityVote([undefined, ""])).toBeUndefined()
    expect(consistency(["4", "4", "4", "2"])).toBe(0.75)
    expect(consistency([undefined])).toBe(0)
  })

  it("self-consistency is correct exactly when the majority answer is a correct one", () => {
    expect(selfConsistencyCorrect(["7", "9", "9"], [true, false, false])).toBe(false)
    expect(selfConsistencyCorrect(["7", "7", "9"], [true, true, false])).toBe(true)
    expect(selfConsistencyCorrect([undefined, undefined], [false, false])).toBe(false)
  })
})
