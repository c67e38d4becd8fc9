import { assert, describe, it } from "vitest"
import { Rng } from "@realm-lm/core"
import * as Rope from "../src/Rope.ts"

const base = { headDim: 64, ropeTheta: 500000, ropeScaling: null } as const
const llama3 = {
  type: "llama3",
  factor: 32,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings: 8192
} as const

// Meta's llama-models `apply_scaling`, restated as a loop over wavelengths (scale_factor 32 for Llama 3.2).
const metaApplyScaling = (freqs: ReadonlyArray<number>): Array<number> => {
  const scaleFactor = 32,
    lowFreqFactor = 1,
    highFreqFactor = 4,
    oldContextLen = 8192
  const lowFreqWavelen = oldContextLen / lowFreqFactor
  const highFreqWavelen = oldContextLen / highFreqFactor
  const out: Array<number> = []
  for (const freq of freqs) {
    const wavelen = (2 * Math.PI) / freq
    if (wavelen < highFreqWavelen) out.push(freq)
    else if (wavelen > lowFreqWavelen) out.push(freq / scaleFactor)
    else {
      const smooth = (oldContextLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
      out.push(((1 - smooth) * freq) / scaleFactor + smooth * freq)
    }
  }
  return out
}

describe("Rope.inverseFrequencies", () => {
  it("is theta^(-2i/d) without scaling", () => {
    const f = Rope.inverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: null })
    const want = [1, 10000 ** -0.25, 10000 ** -0.5, 10000 ** -0.75]
    assert.lengthOf(f, want.length)
    f.forEach((x, i) => assert.isBelow(Math.abs(x - want[i]!), 5e-16))
  })

  it("llama3 scaling equals Meta's apply_scaling and has all three regimes for Llama 3.2 (d=64, theta=5e5)", () => {
    const plain = Array.from(Rope.inverseFrequencies(base))
    const scaled = Array.from(Rope.inverseFrequencies({ ...base, ropeScaling: llama3 }))
    const meta = metaApplyScaling(plain)
    scaled.forEach((x, i) => assert.isBelow(Math.abs(x - meta[i]!), 5e-16))
    const kept = scaled.filter((x, i) => x === plain[i]).length
    const divided = scaled.filter((x, i) => Math.abs(x - plain[i]! / 32) < 1e-18).length
    assert.isAbove(kept, 0)
    assert.isAbove(divided, 0)
    assert.isBelow(kept + divided, 32) // some frequencies fall in the smoothed band
    // Scaled frequencies never increase and stay monotone decreasing in i.
    scaled.forEach((x, i) => {
      assert.isAtMost(x, plain[i]!)
      if (i > 0) assert.isBelow(x, scaled[i - 1]!)
    })
  })

  it("linear scaling divides every frequency by the factor", () => {
    const plain = Rope.inverseFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: null })
    const lin = Rope.inverseFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: { type: "linear", factor: 4 } })
    lin.forEach((x, i) => assert.isBelow(Math.abs(x - plain[i]! / 4), 5e-16))
  })
})

describe("Rope.rotateHalf", () => {
  const d = 16
  const inv = Rope.inverseFrequencies({ headDim: d, ropeTheta: 10000, ropeScaling: null })
  const { cos, sin } = Rope.table(inv, 64)
  const rotated = (v: Float64Array, p: number) => {
    const x = Float64Array.from(v)
    Rope.rotateHalf(x, 0, 1, d, cos, sin, p * (d / 2))
    return x
  }
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0)
  const rng = Rng.Rng.make("rope")
  const q = Float64Array.from({ length: d }, () => rng.normal())
  const k = Float64Array.from({ length: d }, () => rng.normal())

  it("rotates component i with i + d/2 (transformers' rotate_half) and preserves the norm", () => {
    const x = rotated(q, 5)
    const angle = 5 * inv[1]!
    assert.isBelow(Math.abs(x[1]! - (q[1]! * Math.cos(angle) - q[1 + d / 2]! * Math.sin(angle))), 5e-13)
    assert.isBelow(Math.abs(x[1 + d / 2]! - (q[1 + d / 2]! * Math.cos(angle) + q[1]! * Math.sin(angle))), 5e-13)
    assert.isBelow(Math.abs(dot(x, x) - dot(q, q)), 5e-11)
  })

  it("makes q·k depend only on the relative position", () => {
    const a = dot(rotated(q, 10), rotated(k, 3))
    const b = dot(rotated(q, 40), rotated(k, 33))
    assert.isBelow(Math.abs(a - b), 5e-11)
    assert.isAbove(Math.abs(a - dot(rotated(q, 10), rotated(k, 4))), 1e-6)
  })
})
