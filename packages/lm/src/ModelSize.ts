/**
 * How big a model is: its parameter count, and the memory it needs for inference and for training with AdamW,
 * computed from the config alone so a run can refuse a model that will not fit before loading anything.
 */
import type { ModelConfig } from "./ModelConfig.ts"

/** Number of parameters (tied embeddings counted once). Equals the sum over `Weights.spec(config)`. */
export const parameterCount = (config: ModelConfig): number => {
  const h = config.hiddenSize
  const q = config.numHeads * config.headDim
  const kv = config.numKvHeads * config.headDim
  const attention = h * q + 2 * h * kv + q * h + (config.qkvBias ? q + 2 * kv : 0) + (config.oBias ? h : 0)
  const mlp = 3 * h * config.intermediateSize
  const perLayer = attention + mlp + 2 * h
  return config.vocabSize * h * (config.tieWordEmbeddings ? 1 : 2) + config.numLayers * perLayer + h
}

/** Workload shape for `memory`. */
export interface Workload {
  /** Sequences processed together. */
  readonly batch: number
  /** Tokens per sequence (prompt + completion). */
  readonly seq: number
}

/** Byte counts, all float32. */
export interface MemoryEstimate {
  readonly parameters: number
  /** 4 bytes per parameter. */
  readonly weights: number
  /** Gradients, 4 bytes per parameter (training). */
  readonly gradients: number
  /** AdamW first and second moments, 8 bytes per parameter (training). */
  readonly adamState: number
  /**
   * Activations a reverse-mode graph keeps for the backward pass with no recomputation, per layer
   * `[batch, seq, ·]`: residual input, two RMSNorm outputs, q/k/v before and after RoPE, attention scores and
   * probabilities `[batch, heads, seq, seq]`, attention output, residual, gate, up, silu(gate), gate·up; plus logits
   * and their softmax `[batch, seq, vocab]`.
   */
  readonly activations: number
  /** KV cache for generation: `2 · layers · batch · seq · kvHeads · headDim` floats. */
  readonly kvCache: number
  /** weights + gradients + AdamW state + activations. */
  readonly training: number
  /** weights + KV cache + one step's logits `[batch, vocab]`. */
  readonly generation: number
}

/** Memory estimate for a model at a workload, in bytes. */
export const memory = (config: ModelConfig, workload: Workload): MemoryEstimate => {
  const p = parameterCount(config)
  const { batch: b, seq: t } = workload
  const h = config.hiddenSize
  const q = config.numHeads * config.headDim
  const kv = config.numKvHeads * config.headDim
  const perLayerFloats = b * t * (4 * h + 3 * q + 3 * kv + 4 * config.intermediateSize) + 2 * b * config.numHeads * t * t
  const activations = 4 * (config.numLayers * perLayerFloats + 2 * b * t * config.vocabSize + b * t * h)
  const kvCache = 4 * 2 * config.numLayers * b * t * kv
  const weights = 4 * p
  return {
    parameters: p,
    weights,
    gradients: 4 * p,
    adamState: 8 * p,
    activations,
    kvCache,
    training: 16 * p + activations,
    generation: weights + kvCache + 4 * b * config.vocabSize
  }
}
