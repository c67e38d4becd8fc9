/**
 * Inference graphs of the kind `@realm-lm/lm` builds: a prefill graph returning KV caches and a one-token
 * decode graph taking them as inputs (RoPE tables fed per position, GQA, cache concat), all reading the
 * same params from the executor state. Decoding must reproduce the full forward pass's last logits.
 */
import { assert } from "vitest"
import { Rng } from "@realm-lm/core"
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"

import * as Executor from "../src/Executor.ts"
import type { Tensor } from "../src/Graph.ts"
import * as G from "../src/Graph.ts"
import * as Init from "../src/Init.ts"
import * as L from "../src/Layout.ts"
import * as Nn from "../src/Nn.ts"
import * as O from "../src/Ops.ts"

const V = 11
const D = 8
const H = 2
const HKV = 1
const HD = D / H

/** One attention layer + tied head over `tokens [1, t]` with optional past KV `[1, HKV, p, HD]`. */
const layer = (g: G.Graph, t: number, past: number) => {
  const tokens = g.input("tokens", "int32", [1, t])
  const cos = g.input("cos", "float32", [t, HD])
  const sin = g.input("sin", "float32", [t, HD])
  const emb = g.param("embed", [V, D], { init: Init.normal(0.5) })
  const x = Nn.rmsNorm(Nn.embedding(emb, tokens), g.param("norm", [D], { init: Init.ones }))
  const q = Nn.rope(Nn.splitHeads(Nn.linear(x, g.param("wq", [D, D], { init: Init.normal(0.4) })), H), cos, sin)
  let k: Tensor = Nn.rope(
    Nn.splitHeads(Nn.linear(x, g.param("wk", [D, HKV * HD], { init: Init.normal(0.4) })), HKV),
    cos,
    sin
  )
  let v: Tensor = Nn.splitHeads(Nn.linear(x, g.param("wv", [D, HKV * HD], { init: Init.normal(0.4) })), HKV)
  if (past > 0) {
    k = L.concat([g.input("past_k", "float32", [1, HKV, past, HD]), k], 2)
    v = L.concat([g.input("past_v", "float32", [1, HKV, past, HD]), v], 2)
  }
  const att = Nn.attention(q, k, v, Nn.causalMask(g, t, past + t))
  g.output("logits", Nn.tiedLogits(O.add(x, Nn.mergeHeads(att)), emb))
  g.output("present_k", k)
  g.output("present_v", v)
  return g
}

describe("KV-cache inference graphs", () => {
  it.effect("prefill + one decode step reproduce the full forward's last-token logits", () =>
    Effect.gen(function* () {
      const T = 5
      const exec = yield* Executor.make()
      const full = yield* exec.compile(layer(G.make("full"), T, 0))
      const prefill = yield* exec.compile(layer(G.make("prefill"), T - 1, 0))
      const decode = yield* exec.compile(layer(G.make("decode"), 1, T - 1))
      const specs = layer(G.make("specs"), 1, 0).params
      const values = Init.values(specs, Rng.Rng.make(3))
      exec.write(values, Object.fromEntries(specs.map((p) => [p.name, p.shape])))
      const tokens = Int32Array.of(3, 7, 1, 10, 4)
      const tables = Nn.ropeTables(T, HD)
      const fullOut = yield* full.run({ tokens, cos: tables.cos, sin: tables.sin })
      const pre = yield* prefill.run({
        tokens: tokens.slice(0, T - 1),
        cos: tables.cos.slice(0, (T - 1) * HD),
        sin: tables.sin.slice(0, (T - 1) * HD)
      })
      const at = Nn.ropeTables(1, HD, 10000, T - 1) // the decoded token's position
      const dec = yield* decode.run({
        tokens: tokens.slice(T - 1),
        cos: at.cos,
        sin: at.sin,
        past_k: pre["present_k"]!,
        past_v: pre["present_v"]!
      })
      const last = Array.from(fullOut["logits"]?.data as Float32Array).slice((T - 1) * V)
      const got = Array.from(dec["logits"]?.data as Float32Array)
      got.forEach((v, i) => assert.isBelow(Math.abs(v - last[i]!), 5e-6))
      assert.deepStrictEqual(dec["present_k"]?.dims, [1, HKV, T, HD])
      const fullK = Array.from(fullOut["present_k"]?.data as Float32Array)
      Array.from(dec["present_k"]?.data as Float32Array).forEach((v, i) =>
        assert.isBelow(Math.abs(v - fullK[i]!), 5e-7)
      )
    }).pipe(Effect.scoped)
  )
})
