/**
 * Activation recomputation (`Recompute.checkpoint`): float64 finite-difference gradients through recomputed blocks,
 * float32 equality of loss and every gradient with the same model without recomputation, and the graph shape that
 * keeps ONNX Runtime from merging the recomputation back into the forward.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"

import * as Autodiff from "../src/Autodiff.ts"
import * as Executor from "../src/Executor.ts"
import * as G from "../src/Graph.ts"
import * as Init from "../src/Init.ts"
import * as Nn from "../src/Nn.ts"
import * as O from "../src/Ops.ts"
import * as Recompute from "../src/Recompute.ts"
import { expectGradient, ints } from "./support/check.ts"
import * as Transformer from "./support/transformer.ts"

describe("gradients against finite differences (float64)", () => {
  it.effect("a recomputed block with two outputs, a data input and a nested composite (RMSNorm)", () =>
    expectGradient((g) => {
      const x = g.param("x", [3, 4])
      const y = g.input("y", g.float, [3, 4])
      const w = g.param("w", [4, 4])
      const gamma = g.param("gamma", [4])
      const [a, b] = Recompute.checkpoint("Block", [x, y, w, gamma], ([x, y, w, gamma]) => {
        const h = O.tanh(O.matmul(Nn.rmsNorm(O.mul(x as G.Tensor, y as G.Tensor), gamma as G.Tensor), w as G.Tensor))
        return [O.add(h, x as G.Tensor), O.sigmoid(h)]
      }) as [G.Tensor, G.Tensor]
      return O.add(O.mul(a, a), O.mul(b, 0.5))
    })
  )
  it.effect("two chained recomputed blocks, the second consuming both outputs of the first", () =>
    expectGradient((g) => {
      const x = g.param("x", [2, 3])
      const w1 = g.param("w1", [3, 3])
      const w2 = g.param("w2", [3, 3])
      const [a, b] = Recompute.checkpoint("B1", [x, w1], ([x, w]) => [
        O.tanh(O.matmul(x as G.Tensor, w as G.Tensor)),
        O.exp(O.mul(x as G.Tensor, 0.3))
      ]) as [G.Tensor, G.Tensor]
      const [c] = Recompute.checkpoint("B2", [a, b, w2], ([a, b, w]) => [
        O.mul(O.matmul(a as G.Tensor, w as G.Tensor), b as G.Tensor)
      ]) as [G.Tensor]
      return c
    })
  )
  const size: Transformer.TransformerSize = { vocab: 7, dim: 8, heads: 2, kvHeads: 1, hidden: 12, layers: 2 }
  it.effect("full loss gradient of a 2-layer GQA decoder with every block recomputed", () =>
    expectGradient((g) => Transformer.model(size, { recompute: true })(g, { batch: 2, seq: 4 }).loss, {
      feeds: { tokens: ints(1, 3, 5, 2, 0, 6, 6, 4), targets: ints(3, 5, 2, -100, 6, 6, 4, 1) },
      maxPerTensor: 6
    })
  )
})

describe("same values as without recomputation (float32)", () => {
  const size: Transformer.TransformerSize = { vocab: 50, dim: 32, heads: 4, kvHeads: 2, hidden: 48, layers: 3 }
  const bucket = { batch: 2, seq: 8 }
  const run = (recompute: boolean) =>
    Effect.gen(function* () {
      const g = G.make("decoder")
      const { loss } = Transformer.model(size, { recompute })(g, bucket)
      const params = g.inputs.filter((t) => t.kind === "param")
      Autodiff.grad(loss, params).forEach((d, i) => g.output(`grad::${params[i]!.name}`, d))
      g.output("loss", loss)
      const rng = Rng.Rng.make(3, "values")
      const feeds: Record<string, G.TensorData> = { ...Init.values(g.params, Rng.Rng.make(4, "init")) }
      feeds["tokens"] = Int32Array.from({ length: 16 }, () => rng.int(size.vocab))
      feeds["targets"] = Int32Array.from({ length: 16 }, (_, i) => (i === 5 ? -100 : rng.int(size.vocab)))
      const exec = yield* Executor.make({ device: "cpu", intraOpThreads: 1 })
      const out = yield* (yield* exec.compile(g)).run(feeds)
      return {
        names: params.map((p) => p.name),
        out: Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]))
      }
    }).pipe(Effect.scoped)
  it.effect("loss and the gradient of every parameter agree to float32 rounding", () =>
    Effect.gen(function* () {
      const plain = yield* run(false)
      const recomputed = yield* run(true)
      assert.strictEqual(plain.names.length, 2 + 9 * size.layers)
      for (const k of ["loss", ...plain.names.map((n) => `grad::${n}`)]) {
        const a = plain.out[k]!
        const b = recomputed.out[k]!
        const scale = a.reduce((m, x) => Math.max(m, Math.abs(x)), 0)
        assert.isAbove(scale, 0, `${k} is not all zero`)
        const diff = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)
        assert.isAtMost(diff, 1e-5 * scale, k)
      }
    })
  )
})

describe("graph shape", () => {
  it("the recomputed copy starts from the saved input plus a zero taken from the output gradient", () => {
    const g = G.make("shape")
    const x = g.param("x", [4, 4])
    const w = g.param("w", [4, 4])
    const [y] = Recompute.checkpoint("Block", [O.tanh(x), w], ([a, w]) => [
      O.matmul(O.sigmoid(a as G.Tensor), w as G.Tensor)
    ]) as [G.Tensor]
    const before = g.nodes.length
    Autodiff.grad(O.reduceSum(y), [x, w])
    const added = g.nodes.slice(before)
    // One forward copy: Sigmoid and MatMul again, after the backward started.
    assert.strictEqual(added.filter((n) => n.op === "Sigmoid").length, 1)
    const sigmoid = added.find((n) => n.op === "Sigmoid") as G.Node
    const input = sigmoid.inputs[0]!.unit as G.Node
    assert.strictEqual(input.op, "Add")
    // The Add's second operand is 0 · (an element of the output gradient): it cannot run before that gradient exists.
    const zero = input.inputs[1]!.unit as G.Node
    assert.strictEqual(zero.op, "Mul")
    const ancestors = new Set<G.Node>()
    const visit = (n: G.Node | undefined): void => {
      if (n === undefined || ancestors.has(n)) return
      ancestors.add(n)
      for (const t of n.inputs) visit(t?.unit)
    }
    visit(zero)
    assert.isTrue(
      [...ancestors].some((n) => n.op === "Expand"),
      "the seed of d(sum)/dy"
    )
  })
  it("a param or activation used inside but not passed as an input is an error naming it", () => {
    const g = G.make("captured")
    const x = g.param("x", [2, 2])
    const w = g.param("w", [2, 2])
    assert.throws(
      () => Recompute.checkpoint("Block", [x], ([x]) => [O.matmul(x as G.Tensor, w)]),
      /reads w: float32\[2,2\] from outside.*Fix: pass every param/
    )
    const c = g.constant(Float32Array.from([1, 2, 3, 4]), [2, 2])
    assert.deepStrictEqual(Recompute.checkpoint("Block", [x], ([x]) => [O.matmul(x as G.Tensor, c)])[0]?.shape, [2, 2])
  })
  it("no gradient wanted: the rule builds nothing", () => {
    const g = G.make("frozen")
    const x = g.param("x", [2, 2])
    const c = g.constant(Float32Array.from([1, 2, 3, 4]), [2, 2])
    const [y] = Recompute.checkpoint("Block", [c], ([c]) => [O.tanh(c as G.Tensor)]) as [G.Tensor]
    const before = g.nodes.length
    Autodiff.grad(O.reduceSum(O.mul(y, x)), [x])
    assert.isFalse(g.nodes.slice(before).some((n) => n.op === "Tanh"))
  })
})
