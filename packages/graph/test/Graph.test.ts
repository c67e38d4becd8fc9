/**
 * Build-time checking: shape and dtype errors name the op and the shapes, names are unique, tensors
 * cannot cross graphs, and shape inference gives the documented output shapes.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"

import * as G from "../src/Graph.ts"
import * as L from "../src/Layout.ts"
import * as Nn from "../src/Nn.ts"
import * as Onnx from "../src/Onnx.ts"
import * as O from "../src/Ops.ts"

const caught = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe("shape inference", () => {
  it("infers broadcast, matmul, reduction, gather and layout shapes", () => {
    const g = G.make("s")
    const a = g.input("a", "float32", [2, 1, 3])
    const b = g.input("b", "float32", [4, 3])
    assert.deepStrictEqual(O.add(a, b).shape, [2, 4, 3])
    assert.deepStrictEqual(
      O.matmul(g.input("m", "float32", [5, 2, 3, 4]), g.input("n", "float32", [2, 4, 6])).shape,
      [5, 2, 3, 6]
    )
    assert.deepStrictEqual(O.reduceSum(a, [0, -1]).shape, [1])
    assert.deepStrictEqual(O.reduceMean(a, [1], true).shape, [2, 1, 3])
    const ids = g.input("ids", "int32", [7, 8])
    assert.deepStrictEqual(L.gather(g.param("e", [10, 16]), ids).shape, [7, 8, 16])
    assert.deepStrictEqual(L.concat([a, a], -1).shape, [2, 1, 6])
    assert.deepStrictEqual(
      L.split(b, 0, [1, 3]).map((t) => t.shape),
      [
        [1, 3],
        [3, 3]
      ]
    )
    assert.deepStrictEqual(L.reshape(b, [-1]).shape, [12])
    assert.deepStrictEqual(L.transpose(a, [2, 0, 1]).shape, [3, 2, 1])
    assert.deepStrictEqual(L.unsqueeze(b, [0, -1]).shape, [1, 4, 3, 1])
    assert.deepStrictEqual(Nn.repeatKv(g.input("k", "float32", [2, 2, 5, 4]), 3).shape, [2, 6, 5, 4])
    assert.strictEqual(O.equal(a, 1).dtype, "bool")
  })

  it("returns the input itself for no-op reshapes, transposes, slices and expands", () => {
    const g = G.make("noop")
    const x = g.input("x", "float32", [2, 3])
    assert.strictEqual(L.reshape(x, [2, 3]), x)
    assert.strictEqual(L.transpose(x, [0, 1]), x)
    assert.strictEqual(L.slice(x, 1, 0, 3), x)
    assert.strictEqual(L.expand(x, [2, 3]), x)
    assert.strictEqual(g.nodes.length, 0)
  })
})

describe("build-time errors", () => {
  it("MatMul with mismatched inner dimensions names the op and both shapes", () => {
    const g = G.make("e")
    const e = caught(() => O.matmul(g.input("a", "float32", [2, 3]), g.input("b", "float32", [4, 5])))
    assert.instanceOf(e, G.ShapeMismatch)
    assert.strictEqual((e as G.ShapeMismatch).op, "MatMul")
    assert.strictEqual((e as Error).message, "MatMul: inner dimensions differ (shapes [2,3], [4,5])")
  })

  it("broadcasting, reshape, concat, squeeze, gemm and attention errors", () => {
    const g = G.make("e")
    const a = g.input("a", "float32", [2, 3])
    assert.throws(() => O.add(a, g.input("b", "float32", [4])), /Add: cannot broadcast dimension 1 \(3 vs 4\)/)
    assert.throws(() => L.reshape(a, [4, 2]), /Reshape: element count differs/)
    assert.throws(() => L.concat([a, g.input("c", "float32", [3, 3])], 1), /Concat: inputs must agree except on axis 1/)
    assert.throws(() => L.squeeze(a, [0]), /Squeeze/)
    assert.throws(() => O.gemm(a, a), /Gemm: inner dimensions differ/)
    assert.throws(() => O.softmax(a, 2), /Softmax: axis 2 out of range for rank 2/)
    const q = g.input("q", "float32", [1, 3, 4, 8])
    assert.throws(
      () => Nn.attention(q, g.input("k", "float32", [1, 2, 4, 8]), g.input("v", "float32", [1, 2, 4, 8])),
      /h % hkv == 0/
    )
  })

  it("dtype errors suggest a cast; indices must be integers", () => {
    const g = G.make("e")
    const a = g.input("a", "float32", [2])
    const i = g.input("i", "int32", [2])
    assert.throws(() => O.add(a, i), /dtypes differ.*Fix: insert Ops.cast/)
    assert.throws(() => L.gather(a, a), /indices must be int32 or int64/)
    assert.throws(() => O.exp(i), /needs a float tensor/)
  })

  it("names are unique and tensors cannot cross graphs", () => {
    const g = G.make("one")
    const h = G.make("two")
    const x = g.input("x", "float32", [1])
    assert.throws(() => g.param("x", [1]), /name "x" is already used/)
    assert.throws(() => O.add(x, h.input("y", "float32", [1])), /belongs to graph "two"/)
    assert.throws(() => g.constant(Float32Array.of(1, 2), [3]), /data has 2 elements/)
  })

  it("identical small constants are shared; params record init, trainability and decay", () => {
    const g = G.make("c")
    assert.strictEqual(g.scalar(2), g.scalar(2))
    assert.notStrictEqual(g.scalar(2, "float64"), g.scalar(2))
    g.param("w", [3, 4])
    g.param("b", [4], { trainable: false })
    assert.deepStrictEqual(
      g.params.map((p) => [p.name, p.trainable, p.decay, p.init.kind]),
      [
        ["w", true, true, "zeros"],
        ["b", false, false, "zeros"]
      ]
    )
  })

  it("describe prints composites flattened into standard ops", () => {
    const g = G.make("d")
    g.output("y", Nn.rmsNorm(g.input("x", "float32", [2, 4]), g.param("gamma", [4])))
    const text = Onnx.describe(g)
    assert.match(text, /ReduceMean/)
    assert.notMatch(text, /RMSNorm/)
  })
})
