import { describe, expect, it } from "vitest"
import { learningRate } from "../src/LrSchedule.ts"

describe("learningRate", () => {
  const base = { peak: 1e-3, warmupSteps: 10, floor: 0.1 } as const

  it("warms up linearly to the peak", () => {
    const lr = (s: number) => learningRate({ ...base, decay: "cosine" }, s, 100)
    expect(lr(0)).toBeCloseTo(1e-4, 12)
    expect(lr(4)).toBeCloseTo(5e-4, 12)
    expect(lr(9)).toBeCloseTo(1e-3, 12)
  })

  it("cosine and linear decay from the peak to peak * floor at the last step, monotonically", () => {
    for (const decay of ["cosine", "linear"] as const) {
      const values = Array.from({ length: 90 }, (_, i) => learningRate({ ...base, decay }, 10 + i, 100))
      expect(values[0]).toBeCloseTo(1e-3, 12)
      expect(values.at(-1)).toBeCloseTo(1e-4, 12)
      for (let i = 1; i < values.length; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!)
    }
    expect(learningRate({ ...base, decay: "linear" }, 10 + 44.5, 100)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 9)
  })

  it("constant stays at the peak after warmup", () => {
    expect(learningRate({ ...base, decay: "constant" }, 99, 100)).toBe(1e-3)
  })
})
