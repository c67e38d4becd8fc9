/**
 * Serialization: the ModelProto header (IR 8, opset 17), initializers for
 * float32/float64/int32/int64/bool, baked params, external data, and ORT loading what we write.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Protobuf } from "@realm-lm/core"
import { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node"
import { Effect } from "effect"

import * as G from "../src/Graph.ts"
import * as L from "../src/Layout.ts"
import * as Onnx from "../src/Onnx.ts"
import * as O from "../src/Ops.ts"

/** Top-level fields of a protobuf message: field number → list of (varint value | bytes). */
const readFields = (buf: Uint8Array): Map<number, Array<bigint | Uint8Array>> => {
  const out = new Map<number, Array<bigint | Uint8Array>>()
  for (const f of Protobuf.fields(buf))
    out.set(f.field, [...(out.get(f.field) ?? []), f.wire === Protobuf.WIRE_VARINT ? f.varint : f.payload])
  return out
}

describe("ModelProto", () => {
  it("declares IR version 8 and default-domain opset 17", () => {
    const g = G.make("hdr")
    g.output("y", O.exp(g.input("x", "float32", [2])))
    const fields = readFields(Onnx.encode(g).model)
    assert.deepStrictEqual(fields.get(1), [8n])
    const opsets = (fields.get(8) ?? []).map((b) => readFields(b as Uint8Array))
    const onnxDomain = opsets.find((o) => ((o.get(1) ?? [])[0] as Uint8Array).length === 0)
    assert.deepStrictEqual(onnxDomain?.get(2), [BigInt(Onnx.OPSET)])
    assert.strictEqual(Onnx.OPSET, 17)
  })

  it.effect("ORT runs constants of every supported dtype", () =>
    Effect.gen(function* () {
      const g = G.make("dtypes")
      const x = g.input("x", "float32", [3])
      const f64 = O.cast(g.constant(Float64Array.of(0.5, 1.5, 2.5), [3]), "float32")
      const i32 = O.cast(g.constant(Int32Array.of(-1, 0, 7), [3]), "float32")
      const i64 = O.cast(g.constant(BigInt64Array.of(-3n, 4n, 2n ** 40n), [3]), "float32")
      const b = g.constant(Uint8Array.of(1, 0, 1), [3], "bool")
      g.output("y", O.where(b, O.add(O.add(x, f64), i32), i64))
      const s = yield* Effect.promise(() => InferenceSession.create(Onnx.encode(g).model))
      const out = yield* Effect.promise(() => s.run({ x: new OrtTensor("float32", Float32Array.of(1, 1, 1), [3]) }))
      assert.deepStrictEqual(Array.from(out["y"]?.data as Float32Array), [0.5, 4, 10.5])
    })
  )

  it.effect("baked params become initializers and large constants can go to external data", () =>
    Effect.gen(function* () {
      const g = G.make("ext")
      const x = g.input("x", "float32", [4])
      const w = g.param("w", [4])
      const big = g.constant(
        Float32Array.from({ length: 4096 }, (_, i) => i),
        [4096]
      )
      g.output("y", O.add(O.mul(x, w), L.slice(big, 0, 10, 14)))
      const enc = Onnx.encode(g, {
        bake: { w: Float32Array.of(1, 2, 3, 4) },
        externalDataThreshold: 1024,
        externalDataPath: "weights.bin"
      })
      assert.deepStrictEqual(enc.inputs, ["x"])
      assert.strictEqual(enc.externalData?.path, "weights.bin")
      assert.strictEqual(enc.externalData?.data.byteLength, 4096 * 4)
      assert.isBelow(enc.model.byteLength, 2000)
      const s = yield* Effect.promise(() =>
        InferenceSession.create(enc.model, {
          externalData: [{ path: "weights.bin", data: enc.externalData?.data as Uint8Array }]
        })
      )
      const out = yield* Effect.promise(() => s.run({ x: new OrtTensor("float32", Float32Array.of(1, 1, 1, 1), [4]) }))
      assert.deepStrictEqual(Array.from(out["y"]?.data as Float32Array), [11, 13, 15, 17])
    })
  )

  it("refuses graphs without outputs and baked values of the wrong size", () => {
    const g = G.make("bad")
    const w = g.param("w", [2])
    assert.throws(() => Onnx.encode(g), /has no outputs/)
    g.output("y", O.exp(w))
    assert.throws(() => Onnx.encode(g, { bake: { w: Float32Array.of(1) } }), /baked value/)
  })
})
