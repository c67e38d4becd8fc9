import { assert, describe, it } from "vitest"
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
            assert.isBelow(Math.abs(mean), 1e-9)
            if (!zeroVarianceGroups.includes(k)) {
              const variance = a.reduce((s, x) => s + x * x, 0) / (g - 1)
              assert.isBelow(Math.abs(variance - 1), 5e-7)
            } else {
              assert.isTrue([...a].every((x) => x === 0))
            }
          }
        }
      )
    )
  })

  it("Dr. GRPO ('none') only centres; zero-variance groups are reported", () => {
    const { advantages, zeroVarianceGroups } = groupAdvantages([1, 0, 0, 0, 1, 1, 1, 1], 4, "none")
    assert.deepStrictEqual([...advantages], [0.75, -0.25, -0.25, -0.25, 0, 0, 0, 0])
    assert.deepStrictEqual(zeroVarianceGroups, [1])
  })

  it("rejects rewards that do not split into whole groups", () => {
    assert.throws(() => groupAdvantages([1, 2, 3], 2, "std"), /groups of 2/)
  })

  it("stats gives mean, population std, min and max", () => {
    assert.deepStrictEqual(stats([1, 2, 3, 4]), { mean: 2.5, std: Math.sqrt(1.25), min: 1, max: 4 })
  })
})
