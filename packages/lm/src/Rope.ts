/**
 * Rotary position embeddings in the Hugging Face convention: a head vector of size d is split into halves and
 * component i is rotated with component i + d/2 by angle `position * invFreq[i]` ("rotate_half"). llama2.c and
 * Meta's original code rotate adjacent pairs instead; `Llama2c` permutes q/k weights so both agree.
 */
import type { ModelConfig } from "./ModelConfig.ts"

/** The RoPE-relevant part of a config. */
export type RopeConfig = Pick<ModelConfig, "headDim" | "ropeTheta" | "ropeScaling">

/**
 * Inverse frequencies `[headDim / 2]`: `theta^(-2i/d)`, then the config's scaling. `llama3` follows Meta's
 * `apply_scaling` (and transformers' `_compute_llama3_parameters`): wavelengths shorter than
 * `original_max_position_embeddings / high_freq_factor` are kept, those longer than `... / low_freq_factor` are
 * divided by `factor`, and the band between is interpolated smoothly. `linear` divides every frequency by `factor`.
 */
export const inverseFrequencies = (config: RopeConfig): Float64Array => {
  const half = config.headDim / 2
  const out = new Float64Array(half)
  for (let i = 0; i < half; i++) out[i] = 1 / config.ropeTheta ** ((2 * i) / config.headDim)
  const scaling = config.ropeScaling
  if (scaling === null) return out
  if (scaling.type === "linear") return out.map((f) => f / scaling.factor)
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldContext } = scaling
  const lowFreqWavelen = oldContext / lowFreqFactor
  const highFreqWavelen = oldContext / highFreqFactor
  return out.map((freq) => {
    const wavelen = (2 * Math.PI) / freq
    if (wavelen < highFreqWavelen) return freq
    if (wavelen > lowFreqWavelen) return freq / factor
    const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
    return (1 - smooth) * (freq / factor) + smooth * freq
  })
}

/** cos/sin of `position * invFreq[i]`, each `[positions, headDim / 2]`, row-major. */
export const table = (
  invFreq: Float64Array,
  positions: number
): { readonly cos: Float64Array; readonly sin: Float64Array } => {
  const half = invFreq.length
  const cos = new Float64Array(positions * half)
  const sin = new Float64Array(positions * half)
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!
      cos[p * half + i] = Math.cos(angle)
      sin[p * half + i] = Math.sin(angle)
    }
  }
  return { cos, sin }
}

/**
 * Rotate `heads` consecutive head vectors of `x` (starting at `offset`, each `headDim` long) in place for one
 * position, given that position's cos/sin rows (`[headDim / 2]` at `row`): rotate_half convention.
 */
export const rotateHalf = (
  x: Float64Array,
  offset: number,
  heads: number,
  headDim: number,
  cos: Float64Array,
  sin: Float64Array,
  row: number
): void => {
  const half = headDim / 2
  for (let h = 0; h < heads; h++) {
    const base = offset + h * headDim
    for (let i = 0; i < half; i++) {
      const c = cos[row + i]!
      const s = sin[row + i]!
      const a = x[base + i]!
      const b = x[base + i + half]!
      x[base + i] = a * c - b * s
      x[base + i + half] = b * c + a * s
    }
  }
}
