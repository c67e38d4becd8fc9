/**
 * How big a model is: its parameter count, and the memory it needs for inference and for training with AdamW,
 * computed from the config alone so a run can refuse a model that will not fit before loading anything.
 */
import * as Lora from "./Lora.ts"
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

/** Trainable parameters: all of them, or with `config.lora` the adapters (and the norm gains with `trainNorms`). */
export const trainableCount = (config: ModelConfig): number => {
  if (config.lora === undefined) return parameterCount(config)
  const adapters = Lora.adapted(config).reduce(
    (n, x) => n + x.a.shape[0] * x.a.shape[1] + x.b.shape[0] * x.b.shape[1],
    0
  )
  return adapters + (config.lora.trainNorms ? (2 * config.numLayers + 1) * config.hiddenSize : 0)
}

/** Byte counts, all float32. */
export interface MemoryEstimate {
  /** Base parameters (LoRA adapters not included). */
  readonly parameters: number
  /** 4 bytes per parameter, adapters included. */
  readonly weights: number
  /** Gradients, 4 bytes per trainable parameter (training; with LoRA only the adapters and trained norms). */
  readonly gradients: number
  /** AdamW first and second moments, 8 bytes per trainable parameter (training). */
  readonly adamState: number
  /**
   * Activations a reverse-mode graph keeps for the backward pass with no recomputation, per layer
   * `[batch, seq, ·]`: residual input, two RMSNorm outputs, q/k/v before and after RoPE, attention scores and
   * probabilities `[batch, heads, seq, seq]`, attention output, residual, gate, up, silu(gate), gate·up; plus logits
   * and their softmax `[batch, seq, vocab]`; with LoRA also each adapter's `x·Aᵀ` `[batch, seq, rank]`.
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
  const adapterFloats = config.lora === undefined ? 0 : b * t * config.lora.rank * config.lora.targets.length
  const perLayerFloats =
    b * t * (4 * h + 3 * q + 3 * kv + 4 * config.intermediateSize) + 2 * b * config.numHeads * t * t + adapterFloats
  const activations = 4 * (config.numLayers * perLayerFloats + 2 * b * t * config.vocabSize + b * t * h)
  const kvCache = 4 * 2 * config.numLayers * b * t * kv
  const trainable = trainableCount(config)
  const weights =
    4 *
    (p + (config.lora === undefined ? 0 : trainable - (config.lora.trainNorms ? (2 * config.numLayers + 1) * h : 0)))
  return {
    parameters: p,
    weights,
    gradients: 4 * trainable,
    adamState: 8 * trainable,
    activations,
    kvCache,
    training: weights + 12 * trainable + activations,
    generation: weights + kvCache + 4 * b * config.vocabSize
  }
}
