import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { groupAdvantages, stats } from "../src/Advantages.ts"

describe("groupAdvantages", () => {
  it("has zero mean in every group and unit (unbiased) std under std scaling (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 48, maxLength: 48 }),
        (g, groups, pool) => {
          const rewards = pool.slice(0, g * groups)
          const { advantages, zeroVarianceGroups } = groupAdvantages(rewards, g, "std", 0)
          for (let k = 0; k < groups; k++) {
            const a = advantages.subarray(k * g, k * g + g)
            const mean = a.reduce((s, x) => s + x, 0) / g
            expect(Math.abs(mean)).toBeLessThan(1e-9)
            if (!zeroVarianceGroups.includes(k)) {
              const variance = a.reduce((s, x) => s + x * x, 0) / (g - 1)
              expect(variance).toBeCloseTo(1, 6)
            } else {
              expect([...a].every((x) => x === 0)).toBe(true)
            }
          }
        }
      )
    )
  })

  it("Dr. GRPO ('none') only centres; zero-variance groups are reported", () => {
    const { advantages, zeroVarianceGroups } = groupAdvantages([1, 0, 0, 0, 1, 1, 1, 1], 4, "none")
    expect([...advantages]).toEqual([0.75, -0.25, -0.25, -0.25, 0, 0, 0, 0])
    expect(zeroVarianceGroups).toEqual([1])
  })

  it("rejects rewards that do not split into whole groups", () => {
    expect(() => groupAdvantages([1, 2, 3], 2, "std")).toThrow(/groups of 2/)
  })

  it("stats gives mean, population std, min and max", () => {
    expect(stats([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(1.25), min: 1, max: 4 })
  })
})
