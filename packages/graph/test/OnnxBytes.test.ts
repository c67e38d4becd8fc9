/**
 * Byte-for-byte stability of `Onnx.encode`: a graph touching every attribute kind (negative ints, floats, strings,
 * int and float lists), every initializer dtype, baked params, multi-byte lengths, non-ASCII names and external data
 * encodes to the same bytes as the hand-written writer this package used before the shared protobuf writer
 * (SHA-256 recorded from that writer). A change in field order, varint or float encoding shows up here.
 */
import { createHash } from "node:crypto"
import { assert, describe, it } from "vitest"
import * as G from "../src/Graph.ts"
import * as L from "../src/Layout.ts"
import * as Onnx from "../src/Onnx.ts"
import * as O from "../src/Ops.ts"

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** A graph with one of everything the encoder writes. */
const representative = (): G.Graph => {
  const g = G.make("bytes-ünïcode")
  const x = g.input("x", "float32", [4, 8])
  const w = g.param("w", [8, 8])
  const big = g.constant(
    Float32Array.from({ length: 600 }, (_, i) => Math.sin(i) * 1e3),
    [600]
  )
  const f64 = O.cast(g.constant(Float64Array.of(0.5, -1.5e300, 2.5), [3]), "float32")
  const i32 = O.cast(g.constant(Int32Array.of(-1, 0, 2 ** 31 - 1), [3]), "float32")
  const i64 = O.cast(g.constant(BigInt64Array.of(-3n, 4n, 2n ** 40n), [3]), "float32")
  const mask = g.constant(Uint8Array.of(1, 0, 1), [3], "bool")
  const small = O.where(mask, O.add(f64, i32), i64)
  const h = O.gemm(x, w, undefined, { alpha: 0.125, beta: 1 })
  const sm = O.softmax(L.transpose(h, [1, 0]), -1)
  const padded = L.pad(sm, [0, 1], [0, 2])
  const [custom] = g.addNode(
    "Custom",
    [padded],
    [{ dtype: "float32", shape: [8, 7] }],
    {
      neg: { i: -7 },
      huge: { i: 2 ** 40 },
      f: { f: Math.PI },
      s: { s: "straße ∑" },
      ints: { ints: [-1, 0, 300, 2 ** 35] },
      floats: { floats: [0.1, -0, 1e-40, 3.4e38] }
    },
    { domain: "com.realm" }
  )
  g.output("y", O.reduceSum(custom as G.Tensor, [-1], true))
  g.output("z", O.add(L.slice(big, 0, 0, 3), small))
  g.output("x_copy", x)
  return g
}

describe("Onnx.encode bytes", () => {
  it("a representative graph encodes to the recorded bytes", () => {
    const enc = Onnx.encode(representative())
    assert.deepStrictEqual(
      [enc.model.length, sha256(enc.model)],
      [3769, "0f5e70097e20bd71687a5f05da1b0dbbb4904726be27596a29ead26539b329d4"]
    )
  })

  it("with baked params and external data, model and blob encode to the recorded bytes", () => {
    const w = Float32Array.from({ length: 64 }, (_, i) => (i - 32) / 7)
    const enc = Onnx.encode(representative(), {
      bake: { w },
      externalDataThreshold: 256,
      externalDataPath: "weights.bin"
    })
    assert.deepStrictEqual(
      [enc.model.length, sha256(enc.model)],
      [1468, "1813b2c8aae5e90678d1b2546d595256c3830f0342fe9c1e2990f63c1315cfe3"]
    )
    assert.deepStrictEqual(
      [enc.externalData?.data.length, sha256(enc.externalData?.data ?? new Uint8Array())],
      [2656, "5d7498b228ff28f0e2b17f8fcabf6499eb34db6ab6be119df1fc9b3ee4e177fe"]
    )
  })
})
