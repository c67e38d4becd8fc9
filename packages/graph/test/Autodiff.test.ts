/**
 * Every primitive op's gradient against central finite differences in float64 (ORT CPU), on random
 * non-zero inputs, including broadcasting. Tolerances: see test/support/check.ts (looser ones are stated
 * where an op evaluates in float32).
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"

import { grad } from "../src/Autodiff.ts"
import * as G from "../src/Graph.ts"
import * as L from "../src/Layout.ts"
import * as O from "../src/Ops.ts"
import { expectGradient, ints, uniformIn } from "./support/check.ts"

const positive = uniformIn(0.5, 2)

describe("elementwise ops with broadcasting", () => {
  it.effect("Add [2,3] + [3]", () => expectGradient((g) => O.add(g.param("a", [2, 3]), g.param("b", [3]))))
  it.effect("Sub [2,1,3] - [4,1]", () => expectGradient((g) => O.sub(g.param("a", [2, 1, 3]), g.param("b", [4, 1]))))
  it.effect("Mul [2,3] * [2,1]", () => expectGradient((g) => O.mul(g.param("a", [2, 3]), g.param("b", [2, 1]))))
  it.effect("Div [3,4] / [4] (denominator in [0.5, 2])", () =>
    expectGradient((g) => O.div(g.param("a", [3, 4]), O.exp(g.param("b", [4]))), {
      sample: (n, r) => (n === "b" ? Math.log(positive(n, r)) : r.normal() + 0.2)
    })
  )
  it.effect("Pow with constant exponent 3", () => expectGradient((g) => O.pow(g.param("a", [2, 3]), 3)))
  it.effect("Pow with tensor base and exponent, broadcasting", () =>
    expectGradient((g) => O.pow(g.param("a", [2, 3]), g.param("b", [3])), { sample: positive })
  )
  it.effect("Max and Min of broadcast tensors", () =>
    expectGradient((g) => {
      const a = g.param("a", [3, 4])
      const b = g.param("b", [4])
      return O.add(O.max(a, b), O.mul(O.min(a, b), 2))
    })
  )
  it.effect("Neg, Exp, Sigmoid, Tanh", () =>
    expectGradient((g) => {
      const x = g.param("x", [2, 5])
      return O.add(O.add(O.neg(O.exp(x)), O.sigmoid(x)), O.tanh(O.mul(x, 0.7)))
    })
  )
  it.effect("Sqrt, Log, Reciprocal on positive inputs", () =>
    expectGradient(
      (g) => {
        const x = g.param("x", [2, 5])
        return O.add(O.add(O.sqrt(x), O.log(x)), O.reciprocal(x))
      },
      { sample: positive }
    )
  )
  it.effect("Erf (forward evaluated in float32: h = 1e-2, atol 1e-4, rtol 1e-3)", () =>
    expectGradient((g) => O.erf(g.param("x", [2, 4])), { h: 1e-2, atol: 1e-4, rtol: 1e-3 })
  )
  it.effect("Relu and Abs away from 0", () =>
    expectGradient((g) => O.add(O.relu(g.param("x", [3, 4])), O.abs(g.param("y", [4]))))
  )
  it.effect("Clip inside and outside the bounds", () =>
    expectGradient((g) => O.clip(g.param("x", [4, 4]), -0.8, 0.8), { sample: uniformIn(-1.5, 1.5) })
  )
  it.effect("Where with a broadcast condition", () =>
    expectGradient(
      (g) => {
        const c = g.input("c", "bool", [1, 3])
        return O.where(c, g.param("a", [2, 3]), g.param("b", [2, 1]))
      },
      { feeds: { c: Uint8Array.from([1, 0, 1]) } }
    )
  )
  it.effect("Cast float64 → float32 → float64 (float32 rounding: h = 1e-3, atol 1e-4, rtol 1e-3)", () =>
    expectGradient((g) => O.mul(O.cast(O.cast(g.param("x", [2, 3]), "float32"), "float64"), 1.5), {
      h: 1e-3,
      atol: 1e-4,
      rtol: 1e-3
    })
  )
})

describe("matrix products", () => {
  it.effect("MatMul 2-D", () => expectGradient((g) => O.matmul(g.param("a", [3, 4]), g.param("b", [4, 2]))))
  it.effect("MatMul batched x weight [2,3,4] x [4,5] (Gemm backward)", () =>
    expectGradient((g) => O.matmul(g.param("a", [2, 3, 4]), g.param("b", [4, 5])))
  )
  it.effect("MatMul with broadcast batch dims [2,1,3,4] x [3,4,2]", () =>
    expectGradient((g) => O.matmul(g.param("a", [2, 1, 3, 4]), g.param("b", [3, 4, 2])))
  )
  for (const [transA, transB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true]
  ] as const) {
    it.effect(`Gemm transA=${transA} transB=${transB} alpha 0.7 beta 1.3, C [n]`, () =>
      expectGradient((g) => {
        const a = g.param("a", transA ? [4, 3] : [3, 4])
        const b = g.param("b", transB ? [2, 4] : [4, 2])
        return O.gemm(a, b, g.param("c", [2]), { transA, transB, alpha: 0.7, beta: 1.3 })
      })
    )
  }
})

describe("reductions and softmax", () => {
  it.effect("ReduceSum keepdims and not", () =>
    expectGradient((g) => {
      const x = g.param("x", [2, 3, 4])
      return O.add(O.reduceSum(x, [1]), O.reduceSum(O.mul(x, x), [0, 1], true))
    })
  )
  it.effect("ReduceMean over the last axis and over everything", () =>
    expectGradient((g) => {
      const x = g.param("x", [3, 4])
      return O.add(O.reduceMean(x, [-1]), O.reduceMean(O.exp(x)))
    })
  )
  it.effect("ReduceMax", () => expectGradient((g) => O.reduceMax(g.param("x", [3, 5]), [1], true)))
  it.effect("Softmax over axis 1 of a 3-D tensor", () => expectGradient((g) => O.softmax(g.param("x", [2, 4, 3]), 1)))
})

describe("shape and indexing ops", () => {
  it.effect("Reshape, Transpose, Unsqueeze, Squeeze", () =>
    expectGradient((g) => {
      const x = g.param("x", [2, 3, 4])
      const y = L.transpose(L.reshape(x, [6, 4]), [1, 0])
      return O.mul(L.squeeze(L.unsqueeze(y, [0]), [0]), O.sigmoid(y))
    })
  )
  it.effect("Expand [3,1] → [2,3,4]", () =>
    expectGradient((g) => O.mul(L.expand(g.param("x", [3, 1]), [2, 3, 4]), g.param("w", [2, 3, 4])))
  )
  it.effect("Concat along axis 1 and Split back", () =>
    expectGradient((g) => {
      const c = L.concat([g.param("a", [2, 1]), g.param("b", [2, 3])], 1)
      const [p, q] = L.split(O.tanh(c), 1, [3, 1]) as [G.Tensor, G.Tensor]
      return O.mul(p, q)
    })
  )
  it.effect("Slice and Pad", () =>
    expectGradient((g) => {
      const x = g.param("x", [3, 5])
      return L.pad(O.exp(L.slice(L.slice(x, 1, 1, 4), 0, -2, 3)), [1, 0], [0, 2])
    })
  )
  it.effect("Gather (embedding, scatter-add backward) with repeated ids", () =>
    expectGradient((g) => L.gather(g.param("e", [5, 3]), g.input("ids", "int32", [2, 3])), {
      feeds: { ids: ints(1, 4, 1, 0, 1, 3) }
    })
  )
  it.effect("Gather (embedding, one-hot matmul backward) with repeated ids", () =>
    expectGradient((g) => L.gather(g.param("e", [5, 3]), g.input("ids", "int32", [2, 3])), {
      feeds: { ids: ints(1, 4, 1, 0, 1, 3) },
      embedding: "matmul"
    })
  )
  it.effect("GatherElements with repeated indices", () =>
    expectGradient((g) => L.gatherElements(g.param("x", [3, 4]), g.input("i", "int32", [3, 2]), 1), {
      feeds: { i: ints(0, 0, 3, 1, 2, 2) }
    })
  )
})

describe("autodiff mechanics", () => {
  it.effect("gradients of a value used several times are summed", () =>
    expectGradient((g) => {
      const a = g.param("a", [3])
      const b = O.mul(a, a)
      return O.add(O.add(b, O.mul(b, a)), O.exp(a))
    })
  )

  it("detach stops gradients", () => {
    const g = G.make("t")
    const x = g.param("x", [3])
    const [dx] = grad(O.reduceSum(O.mul(x, O.detach(x))), [x])
    // d/dx Σ x·stop(x) = stop(x): the Identity of x, not 2x.
    assert.deepStrictEqual(dx?.shape, [3])
    const nodes = g.nodes.slice(-4).map((n) => n.op)
    assert.notInclude(nodes, "Add")
  })

  it("an unused parameter gets a zero gradient of its shape", () => {
    const g = G.make("t")
    const x = g.param("x", [2])
    const unused = g.param("u", [4, 2])
    const [, du] = grad(O.reduceSum(O.exp(x)), [x, unused])
    assert.deepStrictEqual(du?.shape, [4, 2])
    assert.strictEqual(du?.unit?.op, "Expand")
  })

  it("rejects non-float loss, foreign tensors and ops without a rule", () => {
    const g = G.make("t")
    const h = G.make("u")
    const x = g.param("x", [2, 3])
    assert.throws(() => grad(g.input("i", "int32", []), [x]), /loss must be float/)
    assert.throws(() => grad(O.reduceSum(x), [h.param("y", [1])]), /another graph/)
    const ids = g.input("ids", "int32", [2])
    assert.throws(() => grad(O.reduceSum(L.gather(x, ids, 1)), [x]), /axis 0 only/)
  })

  it.effect("a non-scalar seed weights the output (used for micro-batch weighting)", () =>
    Effect.sync(() => {
      const g = G.make("t")
      const x = g.param("x", [3])
      const w = g.input("w", "float32", [])
      assert.throws(() => grad(O.reduceSum(x), [x], { seed: g.input("bad", "float32", [3]) }), /seed/)
      const [dx] = grad(O.reduceSum(O.exp(x)), [x], { seed: w })
      assert.deepStrictEqual(dx?.shape, [3])
    })
  )
})
