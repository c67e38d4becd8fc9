/**
 * The vocabulary-chunked LM head: float64 finite-difference gradients (hidden states and head weight, tied or not,
 * chunk sizes that do and do not divide the vocabulary) and equality of log-probs, loss and every gradient with the
 * full-logits path in float32.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"

import * as Autodiff from "../src/Autodiff.ts"
import * as Executor from "../src/Executor.ts"
import * as G from "../src/Graph.ts"
import * as L from "../src/Layout.ts"
import * as LmHead from "../src/LmHead.ts"
import * as Loss from "../src/Loss.ts"
import * as Nn from "../src/Nn.ts"
import * as O from "../src/Ops.ts"
import { expectGradient, ints } from "./support/check.ts"

describe("chunk ranges", () => {
  it("covers the vocabulary once, the last chunk shorter when the chunk does not divide it", () => {
    assert.deepStrictEqual(LmHead.chunkRanges(7, 3), [
      [0, 3],
      [3, 6],
      [6, 7]
    ])
    assert.deepStrictEqual(LmHead.chunkRanges(8, 4), [
      [0, 4],
      [4, 8]
    ])
    assert.deepStrictEqual(LmHead.chunkRanges(5, 9), [[0, 5]])
  })
  it("rejects a chunk that is not a positive integer, with a fix", () => {
    assert.throws(() => LmHead.chunkRanges(7, 0), /positive integer.*Fix/)
    assert.throws(() => LmHead.chunkRanges(7, 2.5), /positive integer/)
  })
})

describe("targets", () => {
  it("both heads refuse targets of another shape or a float dtype, naming their op", () => {
    const g = G.make("t")
    const hidden = g.input("h", "float32", [2, 3, 4])
    const weight = g.input("w", "float32", [7, 4])
    const logits = g.input("l", "float32", [2, 3, 7])
    const short = g.input("short", "int32", [2, 2])
    const float = g.input("float", "float32", [2, 3])
    assert.throws(() => LmHead.tokenLogProbs(hidden, weight, short), /hidden's shape without the last axis/)
    assert.throws(() => Loss.tokenLogProbs(logits, short), /logits' shape without the vocab axis/)
    assert.throws(() => LmHead.tokenLogProbs(hidden, weight, float), /LmHead\.tokenLogProbs: targets must be int32/)
    assert.throws(() => Loss.tokenLogProbs(logits, float), /^tokenLogProbs: targets must be int32/)
  })
})

describe("gradients against finite differences (float64)", () => {
  const targets = ints(0, 6, 3, 2, 5, 1)
  for (const chunk of [1, 3, 4]) {
    it.effect(`hidden and head weight, vocab 7 in chunks of ${chunk}`, () =>
      expectGradient(
        (g) =>
          LmHead.tokenLogProbs(g.param("h", [2, 3, 4]), g.param("w", [7, 4]), g.input("t", "int32", [2, 3]), {
            vocabChunk: chunk
          }),
        {
          feeds: { t: targets },
          maxPerTensor: 28
        }
      )
    )
  }
  it.effect("a tied embedding: the table feeds the input lookup and the chunked head, with an ignore index", () =>
    expectGradient(
      (g) => {
        const table = g.param("table", [7, 4])
        const h = Nn.rmsNorm(
          O.tanh(Nn.linear(Nn.embedding(table, g.input("ids", "int32", [2, 3])), g.param("w1", [4, 4]))),
          g.param("gamma", [4])
        )
        const t = g.input("t", "int32", [2, 3])
        return Loss.maskedMean(O.neg(LmHead.tokenLogProbs(h, table, t, { vocabChunk: 3 })), O.not(O.equal(t, -100)))
      },
      { feeds: { ids: ints(1, 4, 6, 0, 2, 2), t: ints(4, 6, -100, 2, 2, 5) }, maxPerTensor: 28 }
    )
  )
  it.effect(
    "a frozen head weight and norm gain (constants): the hidden states' gradient alone, no dW or dγ nodes",
    () =>
      Effect.gen(function* () {
        const rng = Rng.Rng.make("frozen-head")
        const w = Float64Array.from({ length: 7 * 4 }, () => rng.normal())
        const gamma = Float64Array.from({ length: 4 }, () => 1 + 0.3 * rng.normal())
        const build = (g: G.Graph) => {
          const h = Nn.rmsNorm(g.param("h", [2, 3, 4]), g.constant(gamma, [4]))
          return LmHead.tokenLogProbs(h, g.constant(w, [7, 4]), g.input("t", "int32", [2, 3]), { vocabChunk: 3 })
        }
        yield* expectGradient(build, { feeds: { t: targets }, maxPerTensor: 24 })
        const g = G.make("frozen", { float: "float64" })
        const out = build(g)
        const before = g.nodes.length
        Autodiff.grad(O.reduceSum(out), [g.inputNamed("h") as G.Tensor])
        // dW_c would be a Gemm with transA=1 per chunk and dW their Concat: neither is built.
        const added = g.nodes.slice(before)
        assert.strictEqual(
          added.filter((n) => n.op === "Gemm" && (n.attrs["transA"] as { readonly i: number } | undefined)?.i === 1)
            .length,
          0
        )
        assert.isFalse(added.some((n) => n.op === "Concat"))
      })
  )
})

/** Float32 run of the head with and without chunking: log-probs, a masked loss and its gradients. */
const runHead = (n: number, d: number, v: number, chunk: number | undefined, feeds: Record<string, G.TensorData>) =>
  Effect.gen(function* () {
    const g = G.make("head")
    const h = g.input("h", "float32", [n, d])
    const w = g.input("w", "float32", [v, d])
    const t = g.input("t", "int32", [n])
    const lp = LmHead.tokenLogProbs(h, w, t, { vocabChunk: chunk })
    const loss = Loss.maskedMean(O.neg(lp), O.not(O.equal(t, -100)))
    const [dh, dw] = Autodiff.grad(loss, [h, w])
    g.output("lp", lp)
    g.output("loss", loss)
    g.output("dh", dh as G.Tensor)
    g.output("dw", dw as G.Tensor)
    const exec = yield* Executor.make({ device: "cpu", intraOpThreads: 1 })
    const out = yield* (yield* exec.compile(g)).run(feeds)
    return Object.fromEntries(["lp", "loss", "dh", "dw"].map((k) => [k, out[k]?.data as Float32Array]))
  }).pipe(Effect.scoped)

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)

describe("chunked equals full logits (float32)", () => {
  const [n, d, v] = [12, 16, 203]
  const rng = Rng.Rng.make(7, "head")
  const feeds = {
    h: Float32Array.from({ length: n * d }, () => rng.normal()),
    w: Float32Array.from({ length: v * d }, () => rng.normal() * 0.5),
    // Repeated targets (their head rows get several scattered terms), the last and first id, and an ignore index.
    t: ints(0, 202, 5, 5, 100, -100, 64, 63, 5, 17, 202, 1)
  }
  it.effect("log-probs, loss and both gradients agree for chunks of 64 (203 = 3·64 + 11) and 50, 1 and 203", () =>
    Effect.gen(function* () {
      const full = yield* runHead(n, d, v, undefined, feeds)
      assert.isTrue(full["lp"]?.every((x) => Number.isFinite(x) && x < 0))
      for (const chunk of [64, 50, 1, 203]) {
        const got = yield* runHead(n, d, v, chunk, feeds)
        for (const k of ["lp", "loss", "dh", "dw"]) {
          const ref = full[k]!
          const scale = ref.reduce((m, x) => Math.max(m, Math.abs(x)), 0)
          assert.isBelow(maxDiff(got[k]!, ref), 2e-6 * Math.max(1, scale) * 4, `${k} with chunk ${chunk}`)
        }
      }
      // The ignored row (index 5) gets no gradient in either path.
      assert.isTrue(Array.from(full["dh"]!.subarray(5 * d, 6 * d)).every((x) => x === 0))
    })
  )
})

describe("graph shape", () => {
  it("never builds a [tokens, vocab] tensor when chunked, forward or backward", () => {
    const g = G.make("shape")
    const h = g.param("h", [32, 8])
    const w = g.param("w", [1000, 8])
    const lp = LmHead.tokenLogProbs(h, w, g.input("t", "int32", [32]), { vocabChunk: 256 })
    Autodiff.grad(O.reduceSum(lp), [h, w])
    const widest = (nodes: ReadonlyArray<G.Node>): number =>
      Math.max(
        0,
        ...nodes.flatMap((node) => [
          ...node.outputs.filter((o) => o.rank === 2 && o.shape[0] === 32).map((o) => o.shape[1]!),
          widest(node.body ?? [])
        ])
      )
    assert.strictEqual(widest(g.nodes), 256)
    const g2 = G.make("shape2")
    const full = LmHead.tokenLogProbs(g2.param("h", [32, 8]), g2.param("w", [1000, 8]), g2.input("t", "int32", [32]))
    assert.deepStrictEqual(L.reshape(full, [32]).shape, [32])
    assert.strictEqual(widest(g2.nodes), 1000)
  })
})
