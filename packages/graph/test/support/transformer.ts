/**
 * A small Llama-style decoder used by tests and benchmarks: token embedding, pre-RMSNorm blocks with
 * RoPE + causal grouped-query attention and a SwiGLU MLP, a final norm, tied-embedding logits and a
 * masked cross-entropy loss. Float type follows the graph (float64 for gradient checks).
 */
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import type { ExecutorShape } from "../../src/Executor.ts"
import type { Graph, Tensor } from "../../src/Graph.ts"
import * as Init from "../../src/Init.ts"
import * as Loss from "../../src/Loss.ts"
import * as Nn from "../../src/Nn.ts"
import * as O from "../../src/Ops.ts"
import * as Recompute from "../../src/Recompute.ts"
import * as Trainer from "../../src/Trainer.ts"

/** Sizes of the decoder. */
export interface TransformerSize {
  readonly vocab: number
  readonly dim: number
  readonly heads: number
  readonly kvHeads: number
  readonly hidden: number
  readonly layers: number
}

/** Build options: `recompute` makes every block a `Recompute.checkpoint` (same loss and gradients, less memory). */
export interface Options {
  readonly recompute?: boolean
}

/** Shape bucket. */
export interface Bucket {
  readonly batch: number
  readonly seq: number
}

/** One pre-norm decoder block `[b, t, d] → [b, t, d]`; with `recompute`, a `Recompute.checkpoint` (backward recomputes it). */
export const block = (
  g: Graph,
  x: Tensor,
  size: TransformerSize,
  prefix: string,
  cos: Tensor,
  sin: Tensor,
  mask: Tensor,
  recompute = false
): Tensor => {
  const { dim, heads, kvHeads, hidden } = size
  const hd = dim / heads
  const std = 0.5 / Math.sqrt(dim)
  const p = (name: string, shape: ReadonlyArray<number>, init: Init.Init = Init.normal(std)) =>
    g.param(`${prefix}.${name}`, shape, { init })
  const params = [
    p("attn_norm", [dim], Init.ones),
    p("wq", [dim, dim]),
    p("wk", [dim, kvHeads * hd]),
    p("wv", [dim, kvHeads * hd]),
    p("wo", [dim, dim]),
    p("mlp_norm", [dim], Init.ones),
    p("w_gate", [dim, hidden]),
    p("w_up", [dim, hidden]),
    p("w_down", [hidden, dim])
  ]
  const body = (xs: ReadonlyArray<Tensor>): ReadonlyArray<Tensor> => {
    const [x, attnNorm, wq, wk, wv, wo, mlpNorm, wGate, wUp, wDown] = xs as [
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor
    ]
    const h = Nn.rmsNorm(x, attnNorm)
    const q = Nn.rope(Nn.splitHeads(Nn.linear(h, wq), heads), cos, sin)
    const k = Nn.rope(Nn.splitHeads(Nn.linear(h, wk), kvHeads), cos, sin)
    const v = Nn.splitHeads(Nn.linear(h, wv), kvHeads)
    const x2 = O.add(x, Nn.linear(Nn.mergeHeads(Nn.attention(q, k, v, mask)), wo))
    const h2 = Nn.rmsNorm(x2, mlpNorm)
    return [O.add(x2, Nn.swiglu(h2, wGate, wUp, wDown))]
  }
  return (recompute ? Recompute.checkpoint("Block", [x, ...params], body) : body([x, ...params]))[0]!
}

/** Logits `[b, t, vocab]` of the decoder for int32 `tokens [b, t]`. */
export const logits = (g: Graph, tokens: Tensor, size: TransformerSize, options: Options = {}): Tensor => {
  const [, seq] = tokens.shape as [number, number]
  const emb = g.param("embed", [size.vocab, size.dim], { init: Init.normal(1 / Math.sqrt(size.dim)) })
  const tables = Nn.ropeTables(seq, size.dim / size.heads)
  const asFloat = (a: Float32Array) => (g.float === "float64" ? Float64Array.from(a) : a)
  const cos = g.constant(asFloat(tables.cos), [seq, size.dim / size.heads])
  const sin = g.constant(asFloat(tables.sin), [seq, size.dim / size.heads])
  const mask = Nn.causalMask(g, seq)
  let x = Nn.embedding(emb, tokens)
  for (let i = 0; i < size.layers; i++) x = block(g, x, size, `layers.${i}`, cos, sin, mask, options.recompute === true)
  const h = Nn.rmsNorm(x, g.param("final_norm", [size.dim], { init: Init.ones }))
  return Nn.tiedLogits(h, emb)
}

/** The training model: next-token cross entropy with an ignore index of −100. */
export const model =
  (size: TransformerSize, options: Options = {}) =>
  (g: Graph, b: Bucket) => {
    const tokens = g.input("tokens", "int32", [b.batch, b.seq])
    const targets = g.input("targets", "int32", [b.batch, b.seq])
    return { loss: Loss.crossEntropy(logits(g, tokens, size, options), targets, { ignoreIndex: -100 }) }
  }

/**
 * The decoder of `size` under AdamW with clip norm 1 on `exec`, its parameters initialized from `seed`; the optimizer
 * in the graph unless `optimizerOn` says "host".
 */
export const adamwTrainer = (
  exec: ExecutorShape,
  size: TransformerSize,
  bucket: Bucket,
  seed: number,
  optimizerOn: "graph" | "host" = "graph"
) =>
  Effect.gen(function* () {
    const trainer = yield* Trainer.make(
      exec,
      model(size),
      { optimizer: { kind: "adamw" }, clipNorm: 1, optimizerOn },
      bucket
    )
    yield* trainer.initialize(Rng.Rng.make(seed))
    return trainer
  })

/** FLOPs of one training step (forward + backward ≈ 3× forward matmul FLOPs), for benchmarks. */
export const trainFlops = (size: TransformerSize, b: Bucket): number => {
  const n = b.batch * b.seq
  const hd = size.dim / size.heads
  const perLayer =
    2 * n * (size.dim * size.dim * 2 + size.dim * size.kvHeads * hd * 2 + 3 * size.dim * size.hidden) +
    2 * 2 * b.batch * size.heads * b.seq * b.seq * hd
  return 3 * (size.layers * perLayer + 2 * n * size.dim * size.vocab)
}
