import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import type * as ModelConfig from "../src/ModelConfig.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as ReferenceModel from "../src/ReferenceModel.ts"
import * as Sampling from "../src/Sampling.ts"
import * as Weights from "../src/Weights.ts"
import { fixtureWeights, goldenTokens, tinyFixtures } from "./fixtures/make-tiny.ts"
import { tinyConfig } from "./support.ts"

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.provide(effect, NodeServices.layer)

/**
 * A second, differently organised forward: whole-sequence matrices, causal mask, K/V repeated per query head
 * (transformers' `repeat_kv`), RoPE as complex multiplication of (x_i, x_{i+d/2}). Only the maths is shared.
 */
const fullSequence = (
  c: ModelConfig.ModelConfig,
  w: Weights.Weights,
  tokens: ReadonlyArray<number>
): Array<Array<number>> => {
  const H = c.hiddenSize,
    d = c.headDim,
    half = d / 2
  const get = (n: string) => Weights.get(w, n)
  const linear = (X: Array<Array<number>>, name: string, bias?: string) => {
    const W = get(name),
      [rows, cols] = W.shape as [number, number]
    const b = bias !== undefined && w.has(bias) ? get(bias).data : undefined
    return X.map((x) =>
      Array.from({ length: rows }, (_, o) => {
        let s = b === undefined ? 0 : b[o]!
        for (let i = 0; i < cols; i++) s += W.data[o * cols + i]! * x[i]!
        return s
      })
    )
  }
  const norm = (X: Array<Array<number>>, name: string) =>
    X.map((x) => {
      const r = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + c.rmsNormEps)
      return x.map((v, i) => (v / r) * get(name).data[i]!)
    })
  const rope = (X: Array<Array<number>>, heads: number) =>
    X.map((x, t) => {
      const y = x.slice()
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < half; i++) {
          const theta = t / c.ropeTheta ** ((2 * i) / d)
          const re = x[h * d + i]!,
            im = x[h * d + i + half]!
          y[h * d + i] = re * Math.cos(theta) - im * Math.sin(theta)
          y[h * d + i + half] = re * Math.sin(theta) + im * Math.cos(theta)
        }
      return y
    })
  let X = tokens.map((t) => Array.from(get(Weights.embedTokens).data.subarray(t * H, (t + 1) * H)))
  for (let l = 0; l < c.numLayers; l++) {
    const n = Weights.layer(l)
    const Xn = norm(X, n.inputNorm)
    const Q = rope(linear(Xn, n.q, n.qBias), c.numHeads)
    const K = rope(linear(Xn, n.k, n.kBias), c.numKvHeads)
    const V = linear(Xn, n.v, n.vBias)
    const repeat = (M: Array<Array<number>>) =>
      M.map((row) =>
        Array.from({ length: c.numHeads * d }, (_, j) => {
          const h = Math.floor(j / d),
            kvh = Math.floor(h / (c.numHeads / c.numKvHeads))
          return row[kvh * d + (j % d)]!
        })
      )
    const Kr = repeat(K),
      Vr = repeat(V)
    const O = Q.map((q, t) => {
      const out = Array.from({ length: c.numHeads * d }, () => 0)
      for (let h = 0; h < c.numHeads; h++) {
        const s = Kr.map((k, u) =>
          u > t ? -Infinity : q.slice(h * d, h * d + d).reduce((a, v, i) => a + v * k[h * d + i]!, 0) / Math.sqrt(d)
        )
        const m = Math.max(...s),
          e = s.map((v) => Math.exp(v - m)),
          z = e.reduce((a, b) => a + b, 0)
        Vr.forEach((v, u) => {
          for (let i = 0; i < d; i++) out[h * d + i] = out[h * d + i]! + (e[u]! / z) * v[h * d + i]!
        })
      }
      return out
    })
    X = X.map((x, t) => x.map((v, i) => v + linear([O[t]!], n.o, n.oBias)[0]![i]!))
    const Xm = norm(X, n.postNorm)
    const G = linear(Xm, n.gate),
      U = linear(Xm, n.up)
    const A = G.map((g, t) => g.map((v, i) => (v / (1 + Math.exp(-v))) * U[t]![i]!))
    const D = linear(A, n.down)
    X = X.map((x, t) => x.map((v, i) => v + D[t]![i]!))
  }
  return linear(norm(X, Weights.finalNorm), c.tieWordEmbeddings ? Weights.embedTokens : Weights.lmHead)
}

const tokens = [1, 7, 3, 30, 12, 12, 5, 0, 19]

describe("ReferenceModel", () => {
  const configs: ReadonlyArray<readonly [string, ModelConfig.ModelConfig]> = [
    ["Llama, untied, GQA 4/2", tinyConfig()],
    [
      "Qwen2, tied, q/k/v bias",
      tinyConfig({ architecture: "Qwen2ForCausalLM", qkvBias: true, tieWordEmbeddings: true, ropeTheta: 1e6 })
    ],
    ["Llama attention_bias, MHA", tinyConfig({ qkvBias: true, oBias: true, numKvHeads: 4 })],
    ["Mistral, one kv head", tinyConfig({ architecture: "MistralForCausalLM", numKvHeads: 1 })]
  ]
  for (const [name, config] of configs) {
    it(`KV-cached forward equals an independent whole-sequence forward within 1e-12 (${name})`, () => {
      const weights = Weights.init(config, Rng.Rng.make("ref", name), { std: 0.3 })
      for (const [n, t] of weights)
        if (n.endsWith(".bias")) t.data.forEach((_, i) => (t.data[i] = 0.1 * Math.sin(i + 1)))
      const model = ReferenceModel.make(config, weights)
      const got = ReferenceModel.logits(model, tokens)
      const expected = fullSequence(config, weights, tokens)
      expected.forEach((row, t) =>
        row.forEach((x, v) => assert.approximately(got[t * config.vocabSize + v]!, x, 1e-12, `${t},${v}`))
      )
    })
  }

  it.effect("reproduces the golden logits of the committed fixtures", () =>
    run(
      Effect.gen(function* () {
        const golden = JSON.parse(
          readFileSync(join(import.meta.dirname, "fixtures", "golden-logits.json"), "utf8")
        ) as Record<string, Array<number>>
        for (const f of tinyFixtures) {
          const { config, weights } = yield* Pretrained.load(join(import.meta.dirname, "fixtures", f.dir))
          const got = ReferenceModel.logits(ReferenceModel.make(config, weights), goldenTokens)
          const expected = golden[f.dir]!
          assert.strictEqual(got.length, expected.length)
          expected.forEach((x, i) => assert.approximately(got[i]!, x, 1e-9, `${f.dir}[${i}]`))
          assert.isAbove(Math.max(...expected) - Math.min(...expected), 1, "logits are not flat")
        }
      })
    )
  )

  it("generate: greedy picks argmax, stops after a stop token, reports log-probs under the full distribution", () => {
    const config = tinyConfig()
    const model = ReferenceModel.make(config, fixtureWeights(config, 9))
    const free = ReferenceModel.generate(model, [1, 4], { maxNewTokens: 12 })
    assert.strictEqual(free.tokens.length, 12)
    const all = ReferenceModel.logits(model, [1, 4, ...free.tokens])
    free.tokens.forEach((t, i) => {
      const row = all.subarray((i + 1) * config.vocabSize, (i + 2) * config.vocabSize)
      assert.strictEqual(t, Sampling.argmax(row))
      assert.approximately(free.logProbs[i]!, Sampling.logProb(row, t), 1e-12)
    })
    const stopAt = free.tokens[3]!
    const stopped = ReferenceModel.generate(model, [1, 4], { maxNewTokens: 12, stopTokens: [stopAt] })
    assert.deepStrictEqual(stopped.tokens, free.tokens.slice(0, free.tokens.indexOf(stopAt) + 1))
  })

  it("generate: sampling is reproducible from the Rng seed path and differs across seeds", () => {
    const config = tinyConfig()
    const model = ReferenceModel.make(config, fixtureWeights(config, 9))
    const sampling = { temperature: 1.5, topK: 20, topP: 0.95 }
    const a = ReferenceModel.generate(model, [1], { maxNewTokens: 20, sampling, rng: Rng.Rng.make(5, "gen") })
    const b = ReferenceModel.generate(model, [1], { maxNewTokens: 20, sampling, rng: Rng.Rng.make(5, "gen") })
    const c = ReferenceModel.generate(model, [1], { maxNewTokens: 20, sampling, rng: Rng.Rng.make(6, "gen") })
    assert.deepStrictEqual(a, b)
    assert.notDeepEqual(a.tokens, c.tokens)
    assert.throws(() => ReferenceModel.generate(model, [1], { maxNewTokens: 2, sampling }), /rng or a coin/)
  })

  it("stops at the context limit and rejects out-of-vocabulary tokens", () => {
    const config = tinyConfig({ maxContext: 6 })
    const model = ReferenceModel.make(config, fixtureWeights(config, 3))
    assert.strictEqual(ReferenceModel.generate(model, [1, 2], { maxNewTokens: 50 }).tokens.length, 5)
    assert.throws(() => ReferenceModel.logits(model, [1, 32]), /outside the vocabulary/)
  })
})
