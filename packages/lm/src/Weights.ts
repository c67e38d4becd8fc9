/**
 * Model parameters by their Hugging Face names and shapes (`model.layers.3.self_attn.q_proj.weight` `[out, in]`),
 * as float32 arrays. Loading, the reference forward, the ONNX graphs and export all use this one naming, so a
 * checkpoint maps onto every consumer without renaming tables.
 */
import { Effect, Schema } from "effect"
import type { Rng } from "@realm-lm/core"
import type { ModelConfig } from "./ModelConfig.ts"

/** A dense float32 tensor, row-major. */
export interface Tensor {
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

/** Parameters by Hugging Face name. */
export type Weights = ReadonlyMap<string, Tensor>

/** One expected parameter: its name, shape, and how `init` fills it. */
export interface ParameterSpec {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly kind: "matrix" | "embedding" | "norm" | "bias"
}

/** `model.embed_tokens.weight` `[vocab, hidden]`. */
export const embedTokens = "model.embed_tokens.weight"
/** `model.norm.weight` `[hidden]`: the final RMSNorm. */
export const finalNorm = "model.norm.weight"
/** `lm_head.weight` `[vocab, hidden]`: absent when embeddings are tied. */
export const lmHead = "lm_head.weight"

/** Names of one decoder layer's parameters. */
export const layer = (i: number) => {
  const p = `model.layers.${i}`
  return {
    inputNorm: `${p}.input_layernorm.weight`,
    q: `${p}.self_attn.q_proj.weight`,
    k: `${p}.self_attn.k_proj.weight`,
    v: `${p}.self_attn.v_proj.weight`,
    o: `${p}.self_attn.o_proj.weight`,
    qBias: `${p}.self_attn.q_proj.bias`,
    kBias: `${p}.self_attn.k_proj.bias`,
    vBias: `${p}.self_attn.v_proj.bias`,
    oBias: `${p}.self_attn.o_proj.bias`,
    postNorm: `${p}.post_attention_layernorm.weight`,
    gate: `${p}.mlp.gate_proj.weight`,
    up: `${p}.mlp.up_proj.weight`,
    down: `${p}.mlp.down_proj.weight`
  }
}

/** Every parameter the config implies, in a stable order (embedding, layers 0..L-1, final norm, head). */
export const spec = (config: ModelConfig): ReadonlyArray<ParameterSpec> => {
  const h = config.hiddenSize
  const q = config.numHeads * config.headDim
  const kv = config.numKvHeads * config.headDim
  const out: Array<ParameterSpec> = [{ name: embedTokens, shape: [config.vocabSize, h], kind: "embedding" }]
  for (let i = 0; i < config.numLayers; i++) {
    const n = layer(i)
    out.push({ name: n.inputNorm, shape: [h], kind: "norm" })
    out.push({ name: n.q, shape: [q, h], kind: "matrix" })
    out.push({ name: n.k, shape: [kv, h], kind: "matrix" })
    out.push({ name: n.v, shape: [kv, h], kind: "matrix" })
    if (config.qkvBias) {
      out.push({ name: n.qBias, shape: [q], kind: "bias" })
      out.push({ name: n.kBias, shape: [kv], kind: "bias" })
      out.push({ name: n.vBias, shape: [kv], kind: "bias" })
    }
    out.push({ name: n.o, shape: [h, q], kind: "matrix" })
    if (config.oBias) out.push({ name: n.oBias, shape: [h], kind: "bias" })
    out.push({ name: n.postNorm, shape: [h], kind: "norm" })
    out.push({ name: n.gate, shape: [config.intermediateSize, h], kind: "matrix" })
    out.push({ name: n.up, shape: [config.intermediateSize, h], kind: "matrix" })
    out.push({ name: n.down, shape: [h, config.intermediateSize], kind: "matrix" })
  }
  out.push({ name: finalNorm, shape: [h], kind: "norm" })
  if (!config.tieWordEmbeddings) out.push({ name: lmHead, shape: [config.vocabSize, h], kind: "matrix" })
  return out
}

/** Number of elements of a shape. */
export const numel = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

/** A tensor of `shape`, zero-filled unless `data` is given (its length must match). */
export const tensor = (shape: ReadonlyArray<number>, data?: Float32Array): Tensor => {
  const n = numel(shape)
  if (data !== undefined && data.length !== n)
    throw new RangeError(`tensor: data has ${data.length} elements, shape [${shape.join(", ")}] needs ${n}`)
  return { shape: [...shape], data: data ?? new Float32Array(n) }
}

/** A required parameter is absent. */
export class MissingWeight extends Schema.TaggedError<MissingWeight>()("MissingWeight", {
  name: Schema.String,
  source: Schema.String
}) {
  override get message(): string {
    return `${this.source}: parameter ${this.name} is missing (does config.json match this checkpoint? tie_word_embeddings and attention biases change the expected set)`
  }
}

/** A parameter's shape disagrees with the config. */
export class WeightShapeMismatch extends Schema.TaggedError<WeightShapeMismatch>()("WeightShapeMismatch", {
  name: Schema.String,
  source: Schema.String,
  expected: Schema.Array(Schema.Int),
  actual: Schema.Array(Schema.Int)
}) {
  override get message(): string {
    return `${this.source}: parameter ${this.name} has shape [${this.actual.join(", ")}], config.json implies [${this.expected.join(", ")}]`
  }
}

/** The checkpoint holds a parameter this architecture has no place for. */
export class UnexpectedWeight extends Schema.TaggedError<UnexpectedWeight>()("UnexpectedWeight", {
  name: Schema.String,
  source: Schema.String
}) {
  override get message(): string {
    return `${this.source}: parameter ${this.name} is not part of this architecture (wrong config.json, or an unsupported variant)`
  }
}

/** Any disagreement between a checkpoint's parameters and its config. */
export type WeightsMismatch = MissingWeight | WeightShapeMismatch | UnexpectedWeight

/** Names a loader may skip: non-persistent buffers some exporters wrote, and a redundant head on tied models. */
export const isIgnorable = (config: ModelConfig, name: string): boolean =>
  name.endsWith(".rotary_emb.inv_freq") || (config.tieWordEmbeddings && name === lmHead)

/**
 * Check a name → shape listing against the config: every expected parameter present with its shape, nothing
 * unknown. Used on safetensors headers before any data is read, and on finished `Weights`.
 */
export const checkShapes = (
  config: ModelConfig,
  shapes: ReadonlyMap<string, ReadonlyArray<number>>,
  source: string
): Effect.Effect<void, WeightsMismatch> =>
  Effect.gen(function* () {
    const expected = spec(config)
    const known = new Set(expected.map((p) => p.name))
    for (const p of expected) {
      const actual = shapes.get(p.name)
      if (actual === undefined) return yield* new MissingWeight({ name: p.name, source })
      if (actual.length !== p.shape.length || actual.some((d, i) => d !== p.shape[i])) {
        return yield* new WeightShapeMismatch({ name: p.name, source, expected: [...p.shape], actual: [...actual] })
      }
    }
    for (const name of shapes.keys()) {
      if (!known.has(name) && !isIgnorable(config, name)) return yield* new UnexpectedWeight({ name, source })
    }
  })

/** Validate weights against the config and drop ignorable entries; the result has exactly `spec(config)`'s names. */
export const validate = (
  config: ModelConfig,
  weights: Weights,
  source = "weights"
): Effect.Effect<Weights, WeightsMismatch> =>
  Effect.gen(function* () {
    const shapes = new Map<string, ReadonlyArray<number>>()
    for (const [name, t] of weights) {
      if (t.data.length !== numel(t.shape)) {
        return yield* new WeightShapeMismatch({ name, source, expected: [...t.shape], actual: [t.data.length] })
      }
      shapes.set(name, t.shape)
    }
    yield* checkShapes(config, shapes, source)
    return new Map(spec(config).map((p) => [p.name, weights.get(p.name) as Tensor]))
  })

/**
 * Index of the first NaN or ±Infinity in `data`, or -1. One pass over the array, no allocation: `x - x` is 0 for
 * every finite float and NaN otherwise, so the loop body is one subtraction and one compare.
 */
export const firstNonFinite = (data: Float32Array): number => {
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!
    if (x - x !== 0) return i
  }
  return -1
}

/** Row-major coordinates of flat index `index` in `shape`. */
const coordinates = (shape: ReadonlyArray<number>, index: number): Array<number> => {
  const out = Array.from({ length: shape.length }, () => 0)
  let rest = index
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!
    out[d] = rest % n
    rest = Math.floor(rest / n)
  }
  return out
}

/** A parameter holds NaN or ±Infinity: the checkpoint was written after training diverged, or was damaged. */
export class NonFiniteWeights extends Schema.TaggedError<NonFiniteWeights>()("NonFiniteWeights", {
  source: Schema.String,
  /** The parameter's Hugging Face name. */
  tensor: Schema.String,
  /** Row-major flat index of the first non-finite element. */
  index: Schema.Int,
  /** The same position as coordinates in the tensor's shape. */
  at: Schema.Array(Schema.Int),
  /** `NaN`, `Infinity` or `-Infinity`. */
  value: Schema.String
}) {
  override get message(): string {
    return (
      `${this.source}: parameter ${this.tensor} holds ${this.value} at [${this.at.join(", ")}] (flat index ${this.index}); ` +
      "a model with non-finite weights produces garbage. Resume training from the previous checkpoint (one written before the loss went non-finite), " +
      "or re-export the checkpoint from finite weights"
    )
  }
}

/** The first non-finite element of `t`, as a `NonFiniteWeights` error, or `undefined` when every element is finite. */
export const nonFinite = (name: string, t: Tensor, source: string): NonFiniteWeights | undefined => {
  const index = firstNonFinite(t.data)
  return index < 0
    ? undefined
    : new NonFiniteWeights({
        source,
        tensor: name,
        index,
        at: coordinates(t.shape, index),
        value: String(t.data[index])
      })
}

/** Fail with `NonFiniteWeights` naming the first tensor (in map order) that holds a NaN or ±Infinity. */
export const checkFinite = (weights: Weights, source = "weights"): Effect.Effect<Weights, NonFiniteWeights> =>
  Effect.suspend(() => {
    for (const [name, t] of weights) {
      const bad = nonFinite(name, t, source)
      if (bad !== undefined) return Effect.fail(bad)
    }
    return Effect.succeed(weights)
  })

/** The tensor for `name`; a missing name is a bug in the caller (weights are validated on load). */
export const get = (weights: Weights, name: string): Tensor => {
  const t = weights.get(name)
  if (t === undefined) throw new Error(`Weights.get: ${name} is missing; validate weights with Weights.validate first`)
  return t
}

/** The LM head matrix `[vocab, hidden]`: `lm_head.weight`, or the embedding when tied. */
export const head = (config: ModelConfig, weights: Weights): Tensor =>
  get(weights, config.tieWordEmbeddings ? embedTokens : lmHead)

/** Options for `init`. */
export interface InitOptions {
  /** Standard deviation of matrices and embeddings (default 0.02, transformers' `initializer_range`). */
  readonly std?: number
}

/**
 * Fresh weights for training from scratch: normal(0, std) matrices and embeddings (GPT-2 style: output
 * projections `o_proj`/`down_proj` scaled by 1/sqrt(2·layers)), RMSNorm weights 1, biases 0.
 */
export const init = (config: ModelConfig, rng: Rng.Rng, options: InitOptions = {}): Weights => {
  const std = options.std ?? 0.02
  const residualStd = std / Math.sqrt(2 * config.numLayers)
  const out = new Map<string, Tensor>()
  for (const p of spec(config)) {
    const t = tensor(p.shape)
    if (p.kind === "norm") t.data.fill(1)
    else if (p.kind !== "bias") {
      const s = p.name.endsWith("o_proj.weight") || p.name.endsWith("down_proj.weight") ? residualStd : std
      const r = rng.split(p.name)
      for (let i = 0; i < t.data.length; i++) t.data[i] = s * r.normal()
    }
    out.set(p.name, t)
  }
  return out
}

/** Total number of scalars. */
export const count = (weights: Weights): number => {
  let n = 0
  for (const t of weights.values()) n += t.data.length
  return n
}
