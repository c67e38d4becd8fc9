import { assert, describe, it } from "vitest"
import { learningRate } from "../src/LrSchedule.ts"

describe("learningRate", () => {
  const base = { peak: 1e-3, warmupSteps: 10, floor: 0.1 } as const

  it("warms up linearly to the peak", () => {
    const lr = (s: number) => learningRate({ ...base, decay: "cosine" }, s, 100)
    assert.isBelow(Math.abs(lr(0) - 1e-4), 5e-13)
    assert.isBelow(Math.abs(lr(4) - 5e-4), 5e-13)
    assert.isBelow(Math.abs(lr(9) - 1e-3), 5e-13)
  })

  it("cosine and linear decay from the peak to peak * floor at the last step, monotonically", () => {
    for (const decay of ["cosine", "linear"] as const) {
      const values = Array.from({ length: 90 }, (_, i) => learningRate({ ...base, decay }, 10 + i, 100))
      assert.isBelow(Math.abs(values[0]! - 1e-3), 5e-13)
      assert.isBelow(Math.abs(values.at(-1)! - 1e-4), 5e-13)
      for (let i = 1; i < values.length; i++) assert.isAtMost(values[i]!, values[i - 1]!)
    }
    assert.isBelow(Math.abs(learningRate({ ...base, decay: "linear" }, 10 + 44.5, 100) - (1e-4 + 0.5 * 9e-4)), 5e-10)
  })

  it("constant stays at the peak after warmup", () => {
    assert.strictEqual(learningRate({ ...base, decay: "constant" }, 99, 100), 1e-3)
  })
})
