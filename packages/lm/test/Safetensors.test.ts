import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import { decodeBf16, decodeF16, toBf16Bits, toF16Bits } from "../src/internal/halfFloat.ts"
import * as Safetensors from "../src/Safetensors.ts"
import * as Weights from "../src/Weights.ts"
import { tempDir, tinyConfig } from "./support.ts"

/** Build a safetensors file by hand (independently of `Safetensors.write`): header JSON + raw data bytes. */
const handMade = (header: Record<string, unknown>, data: Uint8Array, declaredLength?: bigint): Uint8Array => {
  const json = new TextEncoder().encode(JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + data.length)
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}

const le = (kind: "f32" | "f64" | "u16", values: ReadonlyArray<number>): Uint8Array => {
  const size = kind === "f64" ? 8 : kind === "f32" ? 4 : 2
  const view = new DataView(new ArrayBuffer(values.length * size))
  values.forEach((v, i) =>
    kind === "f64"
      ? view.setFloat64(8 * i, v, true)
      : kind === "f32"
        ? view.setFloat32(4 * i, v, true)
        : view.setUint16(2 * i, v, true)
  )
  return new Uint8Array(view.buffer)
}

/** The parts end to end, as a plain Uint8Array (not a Buffer, so deep equality with file bytes holds). */
const concat = (...parts: ReadonlyArray<Uint8Array>) => new Uint8Array(Buffer.concat(parts))

// F16: 1.5 = 0x3e00, -2 = 0xc000, 65504 = 0x7bff, 2^-24 = 0x0001; BF16: 1 = 0x3f80, -0.5 = 0xbf00, 3.140625 = 0x4049.
const mixedFile = () =>
  handMade(
    {
      __metadata__: { format: "pt" },
      a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] },
      b: { dtype: "F16", shape: [4], data_offsets: [16, 24] },
      c: { dtype: "BF16", shape: [3], data_offsets: [24, 30] },
      d: { dtype: "F64", shape: [1], data_offsets: [30, 38] }
    },
    concat(
      le("f32", [1, -2.5, 3e-8, 1e30]),
      le("u16", [0x3e00, 0xc000, 0x7bff, 0x0001]),
      le("u16", [0x3f80, 0xbf00, 0x4049]),
      le("f64", [0.1])
    )
  )

const write = (bytes: Uint8Array) => {
  const path = join(tempDir(), "m.safetensors")
  writeFileSync(path, bytes)
  return path
}

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.provide(effect, NodeServices.layer)

describe("Safetensors.read", () => {
  it.effect("decodes a hand-built file with F32, F16, BF16 and F64 tensors into float32", () =>
    run(
      Effect.gen(function* () {
        const w = yield* Safetensors.read(write(mixedFile()))
        assert.deepStrictEqual([...w.keys()], ["a", "b", "c", "d"])
        assert.deepStrictEqual(w.get("a")?.shape, [2, 2])
        assert.deepStrictEqual(Array.from(w.get("a")?.data ?? []), [1, -2.5, Math.fround(3e-8), Math.fround(1e30)])
        assert.deepStrictEqual(Array.from(w.get("b")?.data ?? []), [1.5, -2, 65504, 2 ** -24])
        assert.deepStrictEqual(Array.from(w.get("c")?.data ?? []), [1, -0.5, 3.140625])
        assert.deepStrictEqual(Array.from(w.get("d")?.data ?? []), [Math.fround(0.1)])
        const header = yield* Safetensors.readHeader(write(mixedFile()))
        assert.deepStrictEqual(header.metadata, { format: "pt" })
      })
    )
  )

  it.effect("reads only the tensors `include` selects", () =>
    run(
      Effect.gen(function* () {
        const w = yield* Safetensors.read(write(mixedFile()), { include: (n) => n === "c" })
        assert.deepStrictEqual([...w.keys()], ["c"])
      })
    )
  )

  it.effect(
    "onBytes sees the whole file once, in order, whatever `include` skips (so hashing it needs no second read)",
    () =>
      run(
        Effect.gen(function* () {
          const file = mixedFile()
          const path = write(file)
          for (const include of [undefined, (n: string) => n === "c", () => false]) {
            const chunks: Array<Uint8Array> = []
            yield* Safetensors.read(path, {
              ...(include === undefined ? {} : { include }),
              onBytes: (b) => chunks.push(b.slice())
            })
            assert.deepStrictEqual(concat(...chunks), file)
          }
        })
      )
  )

  it.effect("rejects every truncation of a valid file with MalformedSafetensors", () =>
    run(
      Effect.gen(function* () {
        const bytes = mixedFile()
        for (let n = 0; n < bytes.length; n++) {
          const error = yield* Effect.flip(Safetensors.read(write(bytes.subarray(0, n))))
          assert.strictEqual(error._tag, "MalformedSafetensors", `truncated to ${n} bytes`)
        }
      })
    )
  )

  const f32 = (offsets: [number, number], shape = [2]) => ({ dtype: "F32", shape, data_offsets: offsets })
  const corrupt: ReadonlyArray<readonly [string, Uint8Array, string]> = [
    ["header length past the end", handMade({ a: f32([0, 8]) }, new Uint8Array(8), 10_000n), "exceeds"],
    ["header length of 2^64-1", handMade({ a: f32([0, 8]) }, new Uint8Array(8), 2n ** 64n - 1n), "exceeds"],
    ["not JSON", concat(le("u16", [5, 0, 0, 0]), new TextEncoder().encode("{oops"), new Uint8Array(8)), "not JSON"],
    ["not an object", concat(le("u16", [2, 0, 0, 0]), new TextEncoder().encode("[]")), "start with"],
    [
      "unknown dtype",
      handMade({ a: { dtype: "F12", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)),
      "unknown dtype"
    ],
    [
      "negative shape",
      handMade({ a: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, new Uint8Array(8)),
      "invalid shape"
    ],
    ["size mismatch", handMade({ a: f32([0, 12]) }, new Uint8Array(12)), "needs 8 bytes"],
    ["gap", handMade({ a: f32([0, 8]), b: f32([12, 20]) }, new Uint8Array(20)), "gap"],
    ["overlap", handMade({ a: f32([0, 8]), b: f32([4, 12]) }, new Uint8Array(12)), "overlaps"],
    ["offsets beyond the file", handMade({ a: f32([0, 8]), b: f32([8, 16]) }, new Uint8Array(12)), "truncated"],
    ["trailing bytes", handMade({ a: f32([0, 8]) }, new Uint8Array(16)), "not described"],
    ["begin > end", handMade({ a: f32([8, 0]) }, new Uint8Array(8)), "data_offsets"],
    ["non-string metadata", handMade({ __metadata__: { n: 1 }, a: f32([0, 8]) }, new Uint8Array(8)), "__metadata__"]
  ]
  for (const [name, bytes, fragment] of corrupt) {
    it.effect(`rejects a header with ${name}`, () =>
      run(
        Effect.gen(function* () {
          const error = yield* Effect.flip(Safetensors.read(write(bytes)))
          assert.strictEqual(error._tag, "MalformedSafetensors")
          assert.include(error.message, fragment)
        })
      )
    )
  }

  it.effect("validates but refuses to convert an integer tensor, naming it", () =>
    run(
      Effect.gen(function* () {
        const path = write(handMade({ ids: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)))
        const header = yield* Safetensors.readHeader(path)
        assert.strictEqual(header.tensors[0]?.dtype, "I64")
        const error = yield* Effect.flip(Safetensors.read(path))
        assert.strictEqual(error._tag, "UnsupportedDtype")
        assert.include(error.message, "ids")
      })
    )
  )

  it.effect("random byte corruption either still parses or fails as MalformedSafetensors, never anything else", () =>
    run(
      Effect.gen(function* () {
        const bytes = mixedFile()
        const dir = tempDir()
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
                minLength: 1,
                maxLength: 4
              }),
              async (edits) => {
                const copy = Uint8Array.from(bytes)
                for (const [i, v] of edits) copy[i] = v
                const path = join(dir, "fuzz.safetensors")
                writeFileSync(path, copy)
                const exit = await Effect.runPromiseExit(Effect.provide(Safetensors.read(path), NodeServices.layer))
                if (exit._tag === "Success") return true
                const failure = exit.cause.reasons[0]
                return (
                  failure?._tag === "Fail" &&
                  (failure.error._tag === "MalformedSafetensors" || failure.error._tag === "UnsupportedDtype")
                )
              }
            ),
            { numRuns: 300, seed: 7 }
          )
        )
      })
    )
  )
})

describe("Safetensors.write", () => {
  const rng = Rng.Rng.make("safetensors")
  const weights = Weights.init(tinyConfig(), rng, { std: 1 })

  it.effect("round-trips F32 exactly with an 8-byte-aligned header and format=pt metadata", () =>
    run(
      Effect.gen(function* () {
        const path = join(tempDir(), "w.safetensors")
        yield* Safetensors.write(path, weights)
        const bytes = readFileSync(path)
        const headerLength = Number(bytes.readBigUInt64LE(0))
        assert.strictEqual((8 + headerLength) % 8, 0)
        const back = yield* Safetensors.read(path)
        assert.deepStrictEqual([...back.keys()], [...weights.keys()])
        for (const [name, t] of weights) {
          assert.deepStrictEqual(back.get(name)?.shape, t.shape)
          assert.deepStrictEqual(back.get(name)?.data, t.data, name)
        }
        assert.deepStrictEqual((yield* Safetensors.readHeader(path)).metadata, { format: "pt" })
      })
    )
  )

  it.effect("F16 and BF16 storage round-trip within half an ulp of each format", () =>
    run(
      Effect.gen(function* () {
        for (const [dtype, relUlp] of [
          ["F16", 2 ** -11],
          ["BF16", 2 ** -8]
        ] as const) {
          const path = join(tempDir(), `w-${dtype}.safetensors`)
          yield* Safetensors.write(path, weights, { dtype })
          assert.strictEqual((yield* Safetensors.readHeader(path)).tensors[0]?.dtype, dtype)
          const back = yield* Safetensors.read(path)
          for (const [name, t] of weights) {
            const b = back.get(name)?.data ?? new Float32Array()
            t.data.forEach((x, i) => {
              const err = Math.abs(b[i]! - x)
              assert.isTrue(err <= Math.abs(x) * relUlp + 2 ** -24, `${dtype} ${name}[${i}]: ${x} -> ${b[i]}`)
            })
          }
        }
      })
    )
  )
})

/** Every 16-bit pattern, in order, through a half-precision decoder: `out[h]` is the value of bits `h`. */
const decodeEveryPattern = (decode: typeof decodeF16): Float32Array => {
  const src = new Uint8Array(2 * 65536)
  for (let h = 0; h < 65536; h++) {
    src[2 * h] = h & 0xff
    src[2 * h + 1] = h >> 8
  }
  const out = new Float32Array(65536)
  decode(src, out, 0, 65536)
  return out
}

describe("half-precision conversion", () => {
  it("F16: every non-NaN bit pattern decodes and re-encodes to itself", () => {
    const out = decodeEveryPattern(decodeF16)
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(out[h])) assert.isTrue((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0)
      else assert.strictEqual(toF16Bits(out[h]!), h)
    }
  })

  it("BF16: every non-NaN bit pattern decodes and re-encodes to itself", () => {
    const out = decodeEveryPattern(decodeBf16)
    for (let h = 0; h < 65536; h++) {
      if (!Number.isNaN(out[h])) assert.strictEqual(toBf16Bits(out[h]!), h)
    }
  })

  it("rounds to nearest, ties to even, and saturates to infinity", () => {
    assert.strictEqual(toF16Bits(1 + 2 ** -11), 0x3c00) // tie between 1 and 1+2^-10: even is 1
    assert.strictEqual(toF16Bits(1 + 3 * 2 ** -11), 0x3c02) // tie: rounds up to even
    assert.strictEqual(toF16Bits(70000), 0x7c00)
    assert.strictEqual(toF16Bits(2 ** -25), 0) // tie between 0 and the smallest subnormal: even is 0
    assert.strictEqual(toF16Bits(-(2 ** -25) * 1.5), 0x8001)
    assert.strictEqual(toBf16Bits(1 + 2 ** -8), 0x3f80)
    assert.strictEqual(toBf16Bits(1 + 3 * 2 ** -8), 0x3f82)
    assert.isTrue(Number.isNaN(decodeOneBf16(toBf16Bits(NaN))))
  })
})

const decodeOneBf16 = (bits: number): number => {
  const out = new Float32Array(1)
  decodeBf16(new Uint8Array([bits & 0xff, bits >> 8]), out, 0, 1)
  return out[0]!
}
