/**
 * Build-time checking: shape and dtype errors name the op and the shapes, names are unique, tensors
 * cannot cross graphs, and shape inference gives the documented output shapes.
 */
import { describe, it } from "@effect/vitest"
import { expect } from "vitest"
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
    expect(O.add(a, b).shape).toEqual([2, 4, 3])
    expect(O.matmul(g.input("m", "float32", [5, 2, 3, 4]), g.input("n", "float32", [2, 4, 6])).shape).toEqual([
      5, 2, 3, 6
    ])
    expect(O.reduceSum(a, [0, -1]).shape).toEqual([1])
    expect(O.reduceMean(a, [1], true).shape).toEqual([2, 1, 3])
    const ids = g.input("ids", "int32", [7, 8])
    expect(L.gather(g.param("e", [10, 16]), ids).shape).toEqual([7, 8, 16])
    expect(L.concat([a, a], -1).shape).toEqual([2, 1, 6])
    expect(L.split(b, 0, [1, 3]).map((t) => t.shape)).toEqual([
      [1, 3],
      [3, 3]
    ])
    expect(L.reshape(b, [-1]).shape).toEqual([12])
    expect(L.transpose(a, [2, 0, 1]).shape).toEqual([3, 2, 1])
    expect(L.unsqueeze(b, [0, -1]).shape).toEqual([1, 4, 3, 1])
    expect(Nn.repeatKv(g.input("k", "float32", [2, 2, 5, 4]), 3).shape).toEqual([2, 6, 5, 4])
    expect(O.equal(a, 1).dtype).toBe("bool")
  })

  it("returns the input itself for no-op reshapes, transposes, slices and expands", () => {
    const g = G.make("noop")
    const x = g.input("x", "float32", [2, 3])
    expect(L.reshape(x, [2, 3])).toBe(x)
    expect(L.transpose(x, [0, 1])).toBe(x)
    expect(L.slice(x, 1, 0, 3)).toBe(x)
    expect(L.expand(x, [2, 3])).toBe(x)
    expect(g.nodes.length).toBe(0)
  })
})

describe("build-time errors", () => {
  it("MatMul with mismatched inner dimensions names the op and both shapes", () => {
    const g = G.make("e")
    const e = caught(() => O.matmul(g.input("a", "float32", [2, 3]), g.input("b", "float32", [4, 5])))
    expect(e).toBeInstanceOf(G.ShapeMismatch)
    expect((e as G.ShapeMismatch).op).toBe("MatMul")
    expect((e as Error).message).toBe("MatMul: inner dimensions differ (shapes [2,3], [4,5])")
  })

  it("broadcasting, reshape, concat, squeeze, gemm and attention errors", () => {
    const g = G.make("e")
    const a = g.input("a", "float32", [2, 3])
    expect(() => O.add(a, g.input("b", "float32", [4]))).toThrow(/Add: cannot broadcast dimension 1 \(3 vs 4\)/)
    expect(() => L.reshape(a, [4, 2])).toThrow(/Reshape: element count differs/)
    expect(() => L.concat([a, g.input("c", "float32", [3, 3])], 1)).toThrow(
      /Concat: inputs must agree except on axis 1/
    )
    expect(() => L.squeeze(a, [0])).toThrow(/Squeeze/)
    expect(() => O.gemm(a, a)).toThrow(/Gemm: inner dimensions differ/)
    expect(() => O.softmax(a, 2)).toThrow(/Softmax: axis 2 out of range for rank 2/)
    const q = g.input("q", "float32", [1, 3, 4, 8])
    expect(() => Nn.attention(q, g.input("k", "float32", [1, 2, 4, 8]), g.input("v", "float32", [1, 2, 4, 8]))).toThrow(
      /h % hkv == 0/
    )
  })

  it("dtype errors suggest a cast; indices must be integers", () => {
    const g = G.make("e")
    const a = g.input("a", "float32", [2])
    const i = g.input("i", "int32", [2])
    expect(() => O.add(a, i)).toThrow(/dtypes differ.*Fix: insert Ops.cast/)
    expect(() => L.gather(a, a)).toThrow(/indices must be int32 or int64/)
    expect(() => O.exp(i)).toThrow(/needs a float tensor/)
  })

  it("names are unique and tensors cannot cross graphs", () => {
    const g = G.make("one")
    const h = G.make("two")
    const x = g.input("x", "float32", [1])
    expect(() => g.param("x", [1])).toThrow(/name "x" is already used/)
    expect(() => O.add(x, h.input("y", "float32", [1]))).toThrow(/belongs to graph "two"/)
    expect(() => g.constant(Float32Array.of(1, 2), [3])).toThrow(/data has 2 elements/)
  })

  it("identical small constants are shared; params record init, trainability and decay", () => {
    const g = G.make("c")
    expect(g.scalar(2)).toBe(g.scalar(2))
    expect(g.scalar(2, "float64")).not.toBe(g.scalar(2))
    g.param("w", [3, 4])
    g.param("b", [4], { trainable: false })
    expect(g.params.map((p) => [p.name, p.trainable, p.decay, p.init.kind])).toEqual([
      ["w", true, true, "zeros"],
      ["b", false, false, "zeros"]
    ])
  })

  it("describe prints composites flattened into standard ops", () => {
    const g = G.make("d")
    g.output("y", Nn.rmsNorm(g.input("x", "float32", [2, 4]), g.param("gamma", [4])))
    const text = Onnx.describe(g)
    expect(text).toMatch(/ReduceMean/)
    expect(text).not.toMatch(/RMSNorm/)
  })
})
