/**
 * The Llama-family decoder (RMSNorm, RoPE with the config's scaling, grouped-query attention, SwiGLU, tied or
 * untied head, Qwen2 q/k/v biases) as @realm-lm/graph graphs built from a `ModelConfig`. Every parameter is a graph
 * input named and shaped as in Hugging Face checkpoints (`[out, in]`, used through Gemm with transB, never
 * re-laid out), so one compiled session per shape bucket serves every new set of weights.
 */
import { Graph, Init, Layout, LmHead, Nn, Ops, Recompute as GraphRecompute } from "@realm-lm/graph"
import * as Lora from "./Lora.ts"
import type { ModelConfig } from "./ModelConfig.ts"
import * as Rope from "./Rope.ts"
import * as Weights from "./Weights.ts"
import * as A from "./internal/graphOps.ts"

type T = Graph.Tensor

/** The decoder's parameters inside one graph, by Hugging Face name. */
export type Params = ReadonlyMap<string, T>

/** Large negative score for masked attention slots (finite: a fully masked row gives a uniform, not NaN, softmax). */
export const maskValue = -1e9

/** How `Trainer.initialize` fills a parameter (the same rule as `Weights.init` with std 0.02). */
const initOf = (config: ModelConfig, p: Weights.ParameterSpec): Init.Init => {
  if (p.kind === "norm") return Init.ones
  if (p.kind === "bias") return Init.zeros
  const residual = p.name.endsWith("o_proj.weight") || p.name.endsWith("down_proj.weight")
  return Init.normal(residual ? 0.02 / Math.sqrt(2 * config.numLayers) : 0.02)
}

/**
 * Declare every parameter of `Weights.spec(config)` as a graph param (decay on matrices and embeddings only). With
 * `config.lora`, the base parameters are frozen (no gradient, no optimizer state; the norm gains stay trainable with
 * `trainNorms`) and every adapter `A [rank, in]`, `B [out, rank]` of `Lora.adapted(config)` is declared, trainable.
 */
export const declareParams = (g: Graph.Graph, config: ModelConfig): Params => {
  const out = new Map<string, T>()
  const lora = config.lora
  for (const p of Weights.spec(config)) {
    const trainable = lora === undefined || (lora.trainNorms && p.kind === "norm")
    out.set(p.name, g.param(p.name, p.shape, { init: initOf(config, p), trainable }))
  }
  for (const x of Lora.adapted(config)) {
    for (const a of [x.a, x.b]) out.set(a.name, g.param(a.name, a.shape, { init: Lora.initOf(a.name, a.shape) }))
  }
  return out
}

const param = (params: Params, name: string): T => {
  const t = params.get(name)
  if (t === undefined)
    throw new Graph.InvalidGraph({
      detail: `Model: parameter ${name} was not declared`,
      fix: "declare parameters with Model.declareParams"
    })
  return t
}

/** RoPE tables `{ cos, sin }`, each `[rows, headDim]` (halves duplicated, rotate_half layout) in the graph's float type. */
export const ropeTables = (g: Graph.Graph, config: ModelConfig, rows: number): RopeTables => {
  const inv = Rope.inverseFrequencies(config)
  const d = config.headDim
  const half = d / 2
  const make = (f: (x: number) => number) => {
    const data = g.float === "float64" ? new Float64Array(rows * d) : new Float32Array(rows * d)
    for (let p = 0; p < rows; p++) {
      for (let i = 0; i < half; i++) data[p * d + i] = data[p * d + i + half] = f(p * inv[i]!)
    }
    return g.constant(data, [rows, d])
  }
  return { cos: make(Math.cos), sin: make(Math.sin) }
}

/**
 * RoPE tables `[rows, headDim]`. `inference: true` marks a sign-folded sin (`[−sin, sin]` halves) and selects the
 * inference-only forms of RoPE and RMSNorm (no gradients through them).
 */
export interface RopeTables {
  readonly cos: T
  readonly sin: T
  readonly inference?: boolean
}

/** `ropeTables` with the sign of rotate_half folded into sin, for inference graphs. */
export const inferenceRopeTables = (g: Graph.Graph, config: ModelConfig, rows: number): RopeTables => {
  const inv = Rope.inverseFrequencies(config)
  const d = config.headDim
  const half = d / 2
  const cos = new Float32Array(rows * d)
  const sin = new Float32Array(rows * d)
  for (let p = 0; p < rows; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * inv[i]!
      cos[p * d + i] = cos[p * d + i + half] = Math.cos(angle)
      sin[p * d + i] = -(sin[p * d + i + half] = Math.sin(angle))
    }
  }
  return { cos: g.constant(cos, [rows, d]), sin: g.constant(sin, [rows, d]), inference: true }
}

/** An additive causal mask `[queries, keys]` (0 where key ≤ query, `maskValue` above the diagonal). */
export const causalMask = (g: Graph.Graph, length: number): T => {
  const data = g.float === "float64" ? new Float64Array(length * length) : new Float32Array(length * length)
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) data[i * length + j] = maskValue
  return g.constant(data, [length, length])
}

/** Which attention the layers run. */
export type Attention =
  | {
      /** Whole sequences `[batch, seq]`, optionally after past keys/values; mask additive, broadcast to `[b, 1, 1, seq, keys]`. */
      readonly kind: "sequence"
      readonly dims: A.Dims
      readonly mask?: T
      readonly past?: (layer: number) => A.KeyValue
    }
  | {
      /** One new token per row over a cache: keys `[B, kv, d, C]` (transposed), values `[B, kv, C, d]`, mask `[B, 1, 1, C]`. */
      readonly kind: "decode"
      readonly mask: T
      readonly pastKeyT: (layer: number) => T
      readonly pastValue: (layer: number) => T
    }

/** Result of `forward`: the residual stream `[N, hidden]` before the final norm and each layer's keys/values. */
export interface Forward {
  readonly x: T
  /** `sequence`: present keys/values `[b, kv, keys, d]`; `decode`: the new token's `[B, kv, d]` (after RoPE for keys). */
  readonly kv: ReadonlyArray<A.KeyValue>
  /** Built with inference-only forms (from `inferenceRopeTables`): no gradients through it. */
  readonly inference: boolean
}

/**
 * Rotary embedding on the last axis, `x·cos + rotate_half(x)·sin`. Inference graphs fold rotate_half's sign into
 * the sin table (`[−sin, sin]`) and only swap halves, the same products bit for bit as `Nn.rope`'s
 * split/neg/concat form that training graphs differentiate.
 */
const rope = (x: T, cos: T, sin: T, inference: boolean): T => {
  if (!inference) return Nn.rope(x, cos, sin)
  const d = x.shape[x.rank - 1]!
  const [a, b] = Layout.split(x, -1, [d / 2, d / 2]) as [T, T]
  return Ops.add(Ops.mul(x, cos), Ops.mul(Layout.concat([b, a], -1), sin))
}

/**
 * RMSNorm. Inference graphs spell it `x / √(mean(x²) + eps) · γ` with Pow and Div, the pattern ONNX Runtime fuses
 * into one SimplifiedLayerNormalization kernel; training graphs use `Nn.rmsNorm` and its closed-form backward.
 */
const rmsNorm = (x: T, gamma: T, eps: number, inference: boolean): T =>
  inference
    ? Ops.mul(Ops.div(x, Ops.sqrt(Ops.add(Ops.reduceMean(Ops.pow(x, 2), [-1], true), eps))), gamma)
    : Nn.rmsNorm(x, gamma, eps)

/** `x W^T (+ b)` for `x [N, in]`, `W [out, in]` (Hugging Face layout). */
const proj = (x: T, w: T, b?: T): T => Ops.gemm(x, w, b, { transB: true })

/**
 * Projection `name` of `x [N, in]`: `x·Wᵀ (+ b)`, plus `(alpha / rank)·(x·Aᵀ)·Bᵀ` when the projection has LoRA adapters
 * (declared by `declareParams` with `config.lora`). The adapter's second Gemm takes the base output as its C input, so
 * the sum and the scale cost no extra node.
 */
const adaptedProj = (config: ModelConfig, params: Params, x: T, name: string, b?: T): T => {
  const base = proj(x, param(params, name), b)
  const a = params.get(Lora.aName(name))
  if (a === undefined || config.lora === undefined) return base
  return Ops.gemm(proj(x, a), param(params, Lora.bName(name)), base, { transB: true, alpha: Lora.scale(config.lora) }) // [N, out]
}

/**
 * The decoder over N token rows: `ids [N]` and `positions [N]` (int32 or int64), RoPE `tables` with at least
 * max(position) + 1 rows. Returns the pre-norm residual stream; apply `head` for logits.
 */
export const forward = (
  config: ModelConfig,
  params: Params,
  ids: T,
  positions: T,
  tables: RopeTables,
  attention: Attention,
  options: ForwardOptions = {}
): Forward => {
  const { numHeads: heads, numKvHeads: kvHeads, headDim: d, rmsNormEps: eps } = config
  const p = (name: string) => param(params, name)
  const inference = tables.inference === true
  const cosAll = Layout.unsqueeze(Layout.gather(tables.cos, positions), [1]) // [N, 1, d]
  const sinAll = Layout.unsqueeze(Layout.gather(tables.sin, positions), [1])
  let x = Layout.gather(p(Weights.embedTokens), ids) // [N, hidden]
  const kv: Array<A.KeyValue> = []
  const recomputed = recomputedLayers(config, options.recompute)
  if (recomputed.size > 0 && (inference || attention.kind !== "sequence" || attention.past !== undefined)) {
    throw new Graph.InvalidGraph({
      detail:
        "Model.forward: recompute applies to training graphs only (whole sequences, no past, no inference tables)",
      fix: "leave recompute unset for prefill, decode and export graphs"
    })
  }
  for (let l = 0; l < config.numLayers; l++) {
    const prefix = `model.layers.${l}.`
    const own = [...params].filter(([name]) => name.startsWith(prefix)) // this layer's weights, biases and adapters
    // One decoder layer over [x, cos, sin, ...own]: the lookups below read the layer's own tensors from `xs`, so the
    // same function serves as a `Recompute.checkpoint` block (which re-runs it on copies in the backward).
    const layer = (xs: ReadonlyArray<T>): ReadonlyArray<T> => {
      const [x, cos, sin] = xs as [T, T, T]
      const lp: Params = new Map([...params, ...own.map(([name], i) => [name, xs[3 + i]!] as const)])
      const w = Weights.layer(l)
      const bias = (name: string) => lp.get(name)
      const linear = (x: T, name: string, b?: T) => adaptedProj(config, lp, x, name, b)
      const h = rmsNorm(x, param(lp, w.inputNorm), eps, inference)
      const q = rope(
        A.reshape(Ops.mul(linear(h, w.q, bias(w.qBias)), 1 / Math.sqrt(d)), [-1, heads, d]),
        cos,
        sin,
        inference
      )
      const k = rope(A.reshape(linear(h, w.k, bias(w.kBias)), [-1, kvHeads, d]), cos, sin, inference)
      const v = A.reshape(linear(h, w.v, bias(w.vBias)), [-1, kvHeads, d])
      let attended: T
      let present: A.KeyValue
      if (attention.kind === "sequence") {
        const r = A.sequenceAttention(attention.dims, q, k, v, attention.mask, attention.past?.(l))
        attended = r.out
        present = r.present
      } else {
        attended = A.decodeAttention(q, k, v, attention.pastKeyT(l), attention.pastValue(l), attention.mask)
        present = { key: k, value: v }
      }
      if (kv.length === l) kv.push(present) // the forward's; a recomputation in the backward builds its own
      const x2 = Ops.add(x, linear(attended, w.o, bias(w.oBias)))
      const m = rmsNorm(x2, param(lp, w.postNorm), eps, inference)
      return [Ops.add(x2, linear(Ops.mul(Nn.silu(linear(m, w.gate)), linear(m, w.up)), w.down))]
    }
    const xs = [x, cosAll, sinAll, ...own.map(([, t]) => t)]
    x = (recomputed.has(l) ? GraphRecompute.checkpoint(`DecoderLayer${l}`, xs, layer) : layer(xs))[0]!
  }
  return { x, kv, inference }
}

/** Options of `forward` for training graphs. */
export interface ForwardOptions {
  /**
   * Decoder layers whose activations are recomputed in the backward instead of kept (`@realm-lm/graph`
   * `Recompute.checkpoint`): `true` = every layer, a list = those layer indices. Default none. Same loss and
   * gradients; one more forward of those layers per step.
   */
  readonly recompute?: Recompute | undefined
}

/** How training graphs trade compute for memory: the LM head's `vocabChunk` and the decoder layers' `recompute`. */
export interface TrainingOptions extends LmHead.HeadOptions, ForwardOptions {}

/** Which layers recompute: every one (`true`), none (`false`), or these indices. */
export type Recompute = boolean | ReadonlyArray<number>

/** The layer indices `recompute` selects; an index outside the model is an `InvalidGraph` error. */
export const recomputedLayers = (config: ModelConfig, recompute: Recompute | undefined): ReadonlySet<number> => {
  if (recompute === undefined || recompute === false) return new Set()
  if (recompute === true) return new Set(Array.from({ length: config.numLayers }, (_, l) => l))
  for (const l of recompute) {
    if (!Number.isInteger(l) || l < 0 || l >= config.numLayers) {
      throw new Graph.InvalidGraph({
        detail: `recompute: layer ${l} does not exist (the model has layers 0..${config.numLayers - 1})`,
        fix: "list layer indices below numLayers, or use true for every layer"
      })
    }
  }
  return new Set(recompute)
}

/** Final RMSNorm and LM head: `x [N, hidden]` → logits `[N, vocab]` (`inference` as `Forward.inference`). */
export const head = (config: ModelConfig, params: Params, x: T, inference = false): T =>
  proj(
    rmsNorm(x, param(params, Weights.finalNorm), config.rmsNormEps, inference),
    param(params, config.tieWordEmbeddings ? Weights.embedTokens : Weights.lmHead)
  )

/** Row-major position ids `[batch · length]` = 0..length-1 for every row, as an int32 constant. */
const rowPositions = (g: Graph.Graph, batch: number, length: number): T =>
  g.constant(
    Int32Array.from({ length: batch * length }, (_, i) => i % length),
    [batch * length]
  )

/**
 * The decoder stack over right-padded sequences `ids [batch, length]` (positions 0..length-1, causal mask): hidden
 * states `x [batch · length, hidden]` before the final norm, shared by `sequenceLogits` and `sequenceTokenLogProbs`.
 */
const sequenceForward = (config: ModelConfig, ids: T, params: Params, options: ForwardOptions = {}) => {
  const g = ids.graph
  const [batch, length] = ids.shape as [number, number]
  const attention: Attention = { kind: "sequence", dims: A.staticDims(g, batch, length), mask: causalMask(g, length) }
  const f = forward(
    config,
    params,
    Layout.reshape(ids, [batch * length]),
    rowPositions(g, batch, length),
    ropeTables(g, config, length),
    attention,
    options
  )
  return { x: f.x, batch, length }
}

/**
 * Teacher-forced logits `[batch, length, vocab]` of right-padded sequences `ids [batch, length]` (positions 0..length-1,
 * causal mask): the forward of scoring and training. Declares the parameters unless `params` is given.
 */
export const sequenceLogits = (config: ModelConfig, ids: T, params: Params = declareParams(ids.graph, config)): T => {
  const { x, batch, length } = sequenceForward(config, ids, params)
  return Layout.reshape(head(config, params, x), [batch, length, config.vocabSize])
}

/**
 * Teacher-forced log-probabilities `[batch, length]` of `targets` (int32 `[batch, length]`) after right-padded `ids`:
 * the final norm's hidden states through `LmHead.tokenLogProbs`, so with `vocabChunk` below the vocabulary the
 * `[batch, length, vocab]` logits are never held (forward or backward). Without it, the same as `sequenceLogits`
 * followed by `Loss.tokenLogProbs`. Targets outside the vocabulary read as id 0; mask them out. `head.recompute`
 * recomputes those decoder layers in the backward (`ForwardOptions`).
 *
 * With `scored` (int32 `[batch, window]`: flat indices into the `batch · length` positions), only those positions go
 * through the final norm and the LM head, and `targets` and the result are `[batch, window]`: the log-probs of the
 * targets at those positions. The decoder still runs over every position (attention needs the prompt); the head,
 * a vocabulary-wide product per position, runs only where a loss is taken (`Batches.scoredWindow`).
 */
export const sequenceTokenLogProbs = (
  config: ModelConfig,
  ids: T,
  targets: T,
  head: TrainingOptions = {},
  params: Params = declareParams(ids.graph, config),
  scored?: T
): T => {
  const { x, batch, length } = sequenceForward(config, ids, params, { recompute: head.recompute })
  // [rows, hidden] of the positions the head runs on: all of them, or the scored ones.
  const rows = scored === undefined ? x : Layout.reshape(Layout.gather(x, scored, 0), [-1, config.hiddenSize])
  const [r, w] = scored === undefined ? [batch, length] : (scored.shape as [number, number])
  const hidden = rmsNorm(rows, param(params, Weights.finalNorm), config.rmsNormEps, false)
  const weight = param(params, config.tieWordEmbeddings ? Weights.embedTokens : Weights.lmHead) // [vocab, hidden]
  return LmHead.tokenLogProbs(Layout.reshape(hidden, [r, w, config.hiddenSize]), weight, targets, head)
}

/** A prefill bucket: prompts left-padded to `length`, `batch` rows. */
export interface PrefillBucket {
  readonly batch: number
  readonly length: number
}

/** Input and output names of the generation graphs (the same in every bucket). */
export const names = {
  inputIds: "input_ids",
  positions: "positions",
  keyMask: "key_mask",
  cacheMask: "cache_mask",
  logits: "logits",
  pastKey: (l: number) => `past.${l}.key`,
  pastValue: (l: number) => `past.${l}.value`,
  key: (l: number) => `kv.${l}.key`,
  value: (l: number) => `kv.${l}.value`,
  newKeys: "new_keys",
  newValues: "new_values"
} as const

/**
 * Prefill graph for left-padded prompts. Inputs: `input_ids` int32 `[B, P]`, `positions` int32 `[B, P]` (0 at each
 * row's first real token), `key_mask` float `[B, P]` (0 for real tokens, `maskValue` for padding). Outputs: `logits`
 * `[B, vocab]` at the last position and `kv.L.key` / `kv.L.value` `[B, kvHeads, P, headDim]` (keys after RoPE).
 */
export const prefillGraph = (config: ModelConfig, bucket: PrefillBucket): Graph.Graph => {
  const { batch: b, length: n } = bucket
  const g = Graph.make(`prefill_b${b}_p${n}`)
  const ids = g.input(names.inputIds, "int32", [b, n])
  const positions = g.input(names.positions, "int32", [b, n])
  const keyMask = g.input(names.keyMask, "float32", [b, n])
  const params = declareParams(g, config)
  const mask = Ops.add(causalMask(g, n), Layout.reshape(keyMask, [b, 1, 1, 1, n])) // [b, 1, 1, n, n]
  const attention: Attention = { kind: "sequence", dims: A.staticDims(g, b, n), mask }
  const f = forward(
    config,
    params,
    Layout.reshape(ids, [b * n]),
    Layout.reshape(positions, [b * n]),
    inferenceRopeTables(g, config, n),
    attention
  )
  const last = Layout.reshape(Layout.slice(Layout.reshape(f.x, [b, n, config.hiddenSize]), 1, n - 1, n), [
    b,
    config.hiddenSize
  ])
  g.output(names.logits, head(config, params, last, true))
  f.kv.forEach((entry, l) => {
    g.output(names.key(l), entry.key)
    g.output(names.value(l), entry.value)
  })
  return g
}

/** A decode bucket: `batch` rows, cache `capacity` slots. */
export interface DecodeBucket {
  readonly batch: number
  readonly capacity: number
}

/**
 * One decode step. Inputs: `input_ids` int32 `[B]`, `positions` int32 `[B]` (< capacity), `cache_mask` float `[B, C]`
 * (0 for filled slots, `maskValue` otherwise), `past.L.key` `[B, kv, d, C]` (keys transposed) and `past.L.value`
 * `[B, kv, C, d]`. Outputs: `logits` `[B, vocab]` and the new token's keys / values of every layer, `new_keys` /
 * `new_values` `[layers · B, kv, d]`, which the caller writes into the cache (the graph never copies the cache).
 */
export const decodeGraph = (config: ModelConfig, bucket: DecodeBucket): Graph.Graph => {
  const { batch: b, capacity: c } = bucket
  const { numKvHeads: kv, headDim: d } = config
  const g = Graph.make(`decode_b${b}_c${c}`)
  const ids = g.input(names.inputIds, "int32", [b])
  const positions = g.input(names.positions, "int32", [b])
  const cacheMask = g.input(names.cacheMask, "float32", [b, c])
  const keys = Array.from({ length: config.numLayers }, (_, l) => g.input(names.pastKey(l), "float32", [b, kv, d, c]))
  const values = Array.from({ length: config.numLayers }, (_, l) =>
    g.input(names.pastValue(l), "float32", [b, kv, c, d])
  )
  const params = declareParams(g, config)
  const attention: Attention = {
    kind: "decode",
    mask: Layout.reshape(cacheMask, [b, 1, 1, c]),
    pastKeyT: (l) => keys[l]!,
    pastValue: (l) => values[l]!
  }
  const f = forward(config, params, ids, positions, inferenceRopeTables(g, config, c), attention)
  g.output(names.logits, head(config, params, f.x, true))
  // Two outputs instead of 2·layers: each output costs a conversion in the Node binding every step.
  g.output(
    names.newKeys,
    Layout.concat(
      f.kv.map((e) => e.key),
      0
    )
  )
  g.output(
    names.newValues,
    Layout.concat(
      f.kv.map((e) => e.value),
      0
    )
  )
  return g
}
