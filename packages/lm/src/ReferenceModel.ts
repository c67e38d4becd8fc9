/**
 * An independent, plain-TypeScript forward pass of the Llama-family decoder, one token at a time with a KV cache,
 * computed in float64 from the float32 weights. It shares nothing with the ONNX graphs but the weight names, so it
 * is the yardstick they are checked against; it follows transformers' LlamaForCausalLM / Qwen2ForCausalLM
 * line by line and is meant to be read. Speed is secondary (fine for models up to a few million parameters).
 */
import type { Rng } from "@realm-lm/core"
import type { ModelConfig } from "./ModelConfig.ts"
import * as Rope from "./Rope.ts"
import * as Sampling from "./Sampling.ts"
import * as Weights from "./Weights.ts"

/** A model ready to run: config, validated weights and RoPE inverse frequencies. */
export interface ReferenceModel {
  readonly config: ModelConfig
  readonly weights: Weights.Weights
  readonly invFreq: Float64Array
}

/** Per-layer keys and values `[capacity, kvHeads · headDim]` (after RoPE for keys), and how many positions are filled. */
export interface KvCache {
  readonly keys: ReadonlyArray<Float64Array>
  readonly values: ReadonlyArray<Float64Array>
  readonly capacity: number
  length: number
}

/** Wrap validated weights (see `Weights.validate`) for the reference forward. */
export const make = (config: ModelConfig, weights: Weights.Weights): ReferenceModel => ({
  config,
  weights,
  invFreq: Rope.inverseFrequencies(config)
})

/** An empty cache for up to `capacity` positions (default the config's context). */
export const newCache = (model: ReferenceModel, capacity = model.config.maxContext): KvCache => {
  const kv = model.config.numKvHeads * model.config.headDim
  return {
    keys: Array.from({ length: model.config.numLayers }, () => new Float64Array(capacity * kv)),
    values: Array.from({ length: model.config.numLayers }, () => new Float64Array(capacity * kv)),
    capacity,
    length: 0
  }
}

/** `y[o] = Σ_i W[o, i] · x[i] (+ b[o])` for `W` `[out, in]` row-major. */
const matvec = (w: Weights.Tensor, x: Float64Array, bias?: Weights.Tensor): Float64Array => {
  const [rows, cols] = w.shape as [number, number]
  const y = new Float64Array(rows)
  const d = w.data
  for (let o = 0; o < rows; o++) {
    let s = 0
    const base = o * cols
    for (let i = 0; i < cols; i++) s += d[base + i]! * x[i]!
    y[o] = s + (bias === undefined ? 0 : bias.data[o]!)
  }
  return y
}

/** RMSNorm: `x · w / sqrt(mean(x²) + eps)`. */
const rmsNorm = (x: Float64Array, w: Weights.Tensor, eps: number): Float64Array => {
  let ss = 0
  for (const v of x) ss += v * v
  const scale = 1 / Math.sqrt(ss / x.length + eps)
  return x.map((v, i) => v * scale * w.data[i]!)
}

/** Causal grouped-query attention of one query position over the cache `[0, pos]`; returns `[heads · headDim]`. */
const attend = (
  config: ModelConfig,
  q: Float64Array,
  keys: Float64Array,
  values: Float64Array,
  pos: number
): Float64Array => {
  const { numHeads, numKvHeads, headDim } = config
  const kvDim = numKvHeads * headDim
  const group = numHeads / numKvHeads
  const scale = 1 / Math.sqrt(headDim)
  const out = new Float64Array(numHeads * headDim)
  const scores = new Float64Array(pos + 1)
  for (let h = 0; h < numHeads; h++) {
    const kvOffset = Math.floor(h / group) * headDim
    let max = -Infinity
    for (let t = 0; t <= pos; t++) {
      let s = 0
      for (let i = 0; i < headDim; i++) s += q[h * headDim + i]! * keys[t * kvDim + kvOffset + i]!
      scores[t] = s * scale
      max = Math.max(max, s * scale)
    }
    let sum = 0
    for (let t = 0; t <= pos; t++) {
      scores[t] = Math.exp(scores[t]! - max)
      sum += scores[t]!
    }
    for (let t = 0; t <= pos; t++) {
      const p = scores[t]! / sum
      for (let i = 0; i < headDim; i++)
        out[h * headDim + i] = out[h * headDim + i]! + p * values[t * kvDim + kvOffset + i]!
    }
  }
  return out
}

/**
 * Run one token at the next position of `cache` (its `length`), append its keys/values, and return the logits
 * `[vocab]` for the token that follows.
 */
export const forward = (model: ReferenceModel, token: number, cache: KvCache): Float64Array => {
  const { config, weights } = model
  const pos = cache.length
  if (pos >= cache.capacity) throw new RangeError(`ReferenceModel.forward: cache is full (${cache.capacity} positions)`)
  if (!Number.isInteger(token) || token < 0 || token >= config.vocabSize)
    throw new RangeError(`ReferenceModel.forward: token ${token} is outside the vocabulary`)
  const { hiddenSize: h, numHeads, numKvHeads, headDim } = config
  const kvDim = numKvHeads * headDim
  const half = headDim / 2
  const cos = new Float64Array(half)
  const sin = new Float64Array(half)
  for (let i = 0; i < half; i++) {
    cos[i] = Math.cos(pos * model.invFreq[i]!)
    sin[i] = Math.sin(pos * model.invFreq[i]!)
  }
  const embed = Weights.get(weights, Weights.embedTokens).data
  const x = Float64Array.from(embed.subarray(token * h, (token + 1) * h))
  const bias = (name: string) => (config.qkvBias || config.oBias ? weights.get(name) : undefined)
  for (let l = 0; l < config.numLayers; l++) {
    const n = Weights.layer(l)
    const xn = rmsNorm(x, Weights.get(weights, n.inputNorm), config.rmsNormEps)
    const q = matvec(Weights.get(weights, n.q), xn, bias(n.qBias))
    const k = matvec(Weights.get(weights, n.k), xn, bias(n.kBias))
    const v = matvec(Weights.get(weights, n.v), xn, bias(n.vBias))
    Rope.rotateHalf(q, 0, numHeads, headDim, cos, sin, 0)
    Rope.rotateHalf(k, 0, numKvHeads, headDim, cos, sin, 0)
    cache.keys[l]!.set(k, pos * kvDim)
    cache.values[l]!.set(v, pos * kvDim)
    const attn = attend(config, q, cache.keys[l]!, cache.values[l]!, pos)
    const o = matvec(Weights.get(weights, n.o), attn, config.oBias ? weights.get(n.oBias) : undefined)
    for (let i = 0; i < h; i++) x[i] = x[i]! + o[i]!
    const xm = rmsNorm(x, Weights.get(weights, n.postNorm), config.rmsNormEps)
    const gate = matvec(Weights.get(weights, n.gate), xm)
    const up = matvec(Weights.get(weights, n.up), xm)
    for (let i = 0; i < gate.length; i++) {
      const g = gate[i]!
      gate[i] = (g / (1 + Math.exp(-g))) * up[i]! // SwiGLU: silu(gate) · up
    }
    const down = matvec(Weights.get(weights, n.down), gate)
    for (let i = 0; i < h; i++) x[i] = x[i]! + down[i]!
  }
  cache.length = pos + 1
  return matvec(Weights.head(config, weights), rmsNorm(x, Weights.get(weights, Weights.finalNorm), config.rmsNormEps))
}

/** Logits for every position of a token sequence, `[seq, vocab]` row-major (teacher forcing from a fresh cache). */
export const logits = (model: ReferenceModel, tokens: ReadonlyArray<number>): Float64Array => {
  const vocab = model.config.vocabSize
  const out = new Float64Array(tokens.length * vocab)
  const cache = newCache(model, tokens.length)
  tokens.forEach((t, i) => out.set(forward(model, t, cache), i * vocab))
  return out
}

/** Options for `generate`. */
export interface GenerateOptions {
  /** Tokens to produce at most. */
  readonly maxNewTokens: number
  /** How to pick tokens (default greedy). */
  readonly sampling?: Sampling.SamplingConfig
  /** Random stream for non-greedy sampling (one `float()` per sampled token). */
  readonly rng?: Rng.Rng
  /** A coin source instead of `rng` (e.g. another program's RNG, to reproduce its samples). */
  readonly coin?: () => number
  /** Generation ends after one of these is produced (it is included in `tokens`). */
  readonly stopTokens?: ReadonlyArray<number>
}

/** Generated tokens (prompt excluded) and each one's log-probability under the unfiltered model distribution. */
export interface Generation {
  readonly tokens: ReadonlyArray<number>
  readonly logProbs: ReadonlyArray<number>
}

/** Autoregressive generation from a non-empty prompt with the reference forward. */
export const generate = (
  model: ReferenceModel,
  prompt: ReadonlyArray<number>,
  options: GenerateOptions
): Generation => {
  if (prompt.length === 0)
    throw new RangeError("ReferenceModel.generate: the prompt must hold at least one token (e.g. BOS)")
  const sampling = options.sampling ?? Sampling.greedy
  const coin = options.coin ?? (options.rng !== undefined ? () => (options.rng as Rng.Rng).float() : undefined)
  if (sampling.temperature > 0 && coin === undefined)
    throw new RangeError("ReferenceModel.generate: sampling needs an rng or a coin")
  const cache = newCache(model, Math.min(model.config.maxContext, prompt.length + options.maxNewTokens))
  const stop = new Set(options.stopTokens ?? [])
  const tokens: Array<number> = []
  const logProbs: Array<number> = []
  let next = -1
  let out: Float64Array = new Float64Array(0)
  for (const t of prompt) out = forward(model, t, cache)
  while (tokens.length < options.maxNewTokens) {
    next = sampling.temperature === 0 ? Sampling.argmax(out) : Sampling.sample(out, sampling, (coin as () => number)())
    tokens.push(next)
    logProbs.push(Sampling.logProb(out, next))
    if (stop.has(next) || cache.length >= cache.capacity) break
    out = forward(model, next, cache)
  }
  return { tokens, logProbs }
}
