/**
 * Gradients of the neural-network blocks and losses against float64 finite differences, plus their
 * forward values against plain-TypeScript references where the formula is easy to state.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"

import * as Executor from "../src/Executor.ts"
import * as G from "../src/Graph.ts"
import * as L from "../src/Layout.ts"
import * as Loss from "../src/Loss.ts"
import * as Nn from "../src/Nn.ts"
import * as O from "../src/Ops.ts"
import { expectGradient, ints, uniformIn } from "./support/check.ts"
import * as Transformer from "./support/transformer.ts"

const f64 = (a: Float32Array) => Float64Array.from(a)

describe("blocks", () => {
  it.effect("linear with bias, SiLU, GELU", () =>
    expectGradient(
      (g) => {
        const x = g.param("x", [2, 3, 4])
        const h = Nn.linear(x, g.param("w", [4, 5]), g.param("b", [5]))
        return O.add(Nn.silu(h), Nn.gelu(O.mul(h, 0.5)))
      },
      { h: 1e-3, atol: 1e-4, rtol: 1e-3 }
    )
  )
  it.effect("SwiGLU MLP", () =>
    expectGradient((g) =>
      Nn.swiglu(g.param("x", [2, 4]), g.param("wg", [4, 6]), g.param("wu", [4, 6]), g.param("wd", [6, 4]))
    )
  )
  it.effect("RMSNorm (composite backward)", () =>
    expectGradient((g) => Nn.rmsNorm(g.param("x", [2, 3, 5]), g.param("gamma", [5]), 1e-5))
  )
  it.effect("LayerNorm", () =>
    expectGradient((g) => Nn.layerNorm(g.param("x", [3, 6]), g.param("gamma", [6]), g.param("beta", [6])))
  )
  it.effect("log-softmax (composite backward)", () => expectGradient((g) => Nn.logSoftmax(g.param("x", [2, 3, 7]))))
  it.effect("RoPE with constant cos/sin tables", () =>
    expectGradient((g) => {
      const t = Nn.ropeTables(3, 4)
      return Nn.rope(g.param("x", [1, 2, 3, 4]), g.constant(f64(t.cos), [3, 4]), g.constant(f64(t.sin), [3, 4]))
    })
  )
  it.effect("causal GQA attention (4 query heads over 2 KV heads)", () =>
    expectGradient((g) =>
      Nn.attention(
        g.param("q", [1, 4, 3, 2]),
        g.param("k", [1, 2, 3, 2]),
        g.param("v", [1, 2, 3, 2]),
        Nn.causalMask(g, 3)
      )
    )
  )
  it.effect("LoRA adapter term, [in, r] x [r, out] layout (Nn.lora) on a linear layer", () =>
    expectGradient((g) => {
      const x = g.param("x", [2, 3, 4])
      return O.add(Nn.linear(x, g.param("w", [4, 5])), Nn.lora(x, g.param("a", [4, 2]), g.param("b", [2, 5]), 1.5))
    })
  )
  it.effect(
    "LoRA in PEFT's layout as lm builds it: Gemm(Gemm(x, A, transB), B, C = x·Wᵀ + bias, transB, alpha = scale)",
    () =>
      expectGradient((g) => {
        const x = g.param("x", [3, 4])
        const base = O.gemm(x, g.param("w", [5, 4]), g.param("bias", [5]), { transB: true }) // [3, 5]
        return O.gemm(O.gemm(x, g.param("a", [2, 4]), undefined, { transB: true }), g.param("b", [5, 2]), base, {
          transB: true,
          alpha: 2
        })
      })
  )
  it.effect("tied-embedding logits", () =>
    expectGradient((g) => Nn.tiedLogits(g.param("h", [2, 3, 4]), g.param("emb", [5, 4])))
  )
})

describe("losses", () => {
  it.effect("cross entropy with ignore index and mask", () =>
    expectGradient(
      (g) =>
        Loss.crossEntropy(g.param("logits", [2, 3, 5]), g.input("t", "int32", [2, 3]), {
          ignoreIndex: -100,
          mask: g.input("m", "bool", [2, 3])
        }),
      {
        feeds: { t: ints(1, -100, 4, 0, 0, 2), m: Uint8Array.from([1, 1, 1, 0, 1, 1]) }
      }
    )
  )
  it.effect("token log-probs", () =>
    expectGradient((g) => Loss.tokenLogProbs(g.param("logits", [3, 4]), g.input("t", "int32", [3])), {
      feeds: { t: ints(3, 0, 3) }
    })
  )
  it.effect("KL k3", () =>
    expectGradient((g) => Loss.klK3(g.param("a", [2, 3]), g.param("b", [2, 3])), { sample: uniformIn(-2, -0.2) })
  )
  for (const aggregate of ["token", "sequence"] as const) {
    it.effect(`clipped policy loss with per-token advantages and KL (${aggregate} mean)`, () =>
      expectGradient(
        (g) => {
          const logp = g.param("logp", [2, 4])
          const oldLogp = g.input("old", "float64", [2, 4])
          const out = Loss.policyLoss(
            {
              logp,
              oldLogp,
              advantages: g.input("adv", "float64", [2, 4]),
              mask: g.input("mask", "bool", [2, 4]),
              refLogp: g.input("ref", "float64", [2, 4])
            },
            { clipLow: 0.2, clipHigh: 0.28, klCoef: 0.1, aggregate }
          )
          return out.loss
        },
        {
          feeds: {
            // ratios exp(logp - old) fall inside and outside [0.8, 1.28] on both advantage signs
            old: Float64Array.from([-1, -1.5, -0.5, -2, -1, -1.2, -0.7, -1.1]),
            adv: Float64Array.from([1, -0.5, 2, -1, 0.3, 1.5, -2, 0.7]),
            mask: Uint8Array.from([1, 1, 1, 0, 1, 1, 1, 1]),
            ref: Float64Array.from([-1.1, -1.4, -0.6, -1.9, -0.9, -1.3, -0.8, -1])
          },
          sample: uniformIn(-2, -0.3)
        }
      )
    )
  }
})

describe("small models end to end", () => {
  it.effect("full loss gradient of a 2-layer MLP classifier (tanh, bias broadcast, masked cross entropy)", () =>
    expectGradient(
      (g) => {
        const x = g.input("x", g.float, [5, 3])
        const h = O.tanh(Nn.linear(x, g.param("w1", [3, 6]), g.param("b1", [6])))
        const logits = Nn.linear(h, g.param("w2", [6, 4]), g.param("b2", [4]))
        return Loss.crossEntropy(logits, g.input("y", "int32", [5]), { ignoreIndex: -100 })
      },
      { feeds: { y: ints(0, 3, -100, 1, 3) } }
    )
  )
  const size: Transformer.TransformerSize = { vocab: 7, dim: 8, heads: 2, kvHeads: 1, hidden: 12, layers: 2 }
  it.effect("full loss gradient of a 2-layer GQA decoder matches finite differences for every param", () =>
    expectGradient((g) => Transformer.model(size)(g, { batch: 2, seq: 4 }).loss, {
      feeds: { tokens: ints(1, 3, 5, 2, 0, 6, 6, 4), targets: ints(3, 5, 2, -100, 6, 6, 4, 1) },
      maxPerTensor: 6
    })
  )
})

describe("forward values", () => {
  it.effect("log-softmax, RMSNorm and cross entropy agree with plain TypeScript", () =>
    Effect.gen(function* () {
      const g = G.make("fwd", { float: "float64" })
      const x = g.input("x", "float64", [2, 3])
      const t = g.input("t", "int32", [2])
      g.output("ls", Nn.logSoftmax(x))
      g.output("rms", Nn.rmsNorm(x, g.constant(Float64Array.from([1, 2, 3]), [3]), 0))
      g.output("ce", Loss.crossEntropy(x, t))
      g.output("mask", O.cast(L.expand(Nn.causalMask(g, 2, 3), [2, 3]), "float64"))
      const exec = yield* Executor.make()
      const s = yield* exec.compile(g)
      const xv = [0.5, -1, 2, 3, 0.1, -0.2]
      const out = yield* s.run({ x: Float64Array.from(xv), t: ints(2, 0) })
      const lse = (r: Array<number>) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0))
      const rows = [xv.slice(0, 3), xv.slice(3)]
      const ls = rows.flatMap((r) => r.map((v) => v - lse(r)))
      Array.from(out["ls"]?.data as Float64Array).forEach((v, i) => assert.isBelow(Math.abs(v - ls[i]!), 5e-13))
      const rms = rows.flatMap((r) => r.map((v, i) => (v / Math.sqrt(r.reduce((a, u) => a + u * u, 0) / 3)) * (i + 1)))
      Array.from(out["rms"]?.data as Float64Array).forEach((v, i) => assert.isBelow(Math.abs(v - rms[i]!), 5e-13))
      assert.isBelow(Math.abs((out["ce"]!.data as Float64Array)[0]! - -(ls[2]! + ls[3]!) / 2), 5e-13)
      // 2 queries over 3 keys with 1 cached token: query 0 sees keys 0..1, query 1 sees 0..2.
      assert.deepStrictEqual(Array.from(out["mask"]?.data as Float64Array).slice(0, 6), [1, 1, 0, 1, 1, 1])
    }).pipe(Effect.scoped)
  )
})
