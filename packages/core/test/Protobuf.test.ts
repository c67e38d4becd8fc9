/**
 * The protobuf writer against wire-format facts from the protobuf encoding guide: varint bytes (150 -> 96 01,
 * -1 -> ten bytes), keys, little-endian fixed32/fixed64, length prefixes that widen at 128 and 16,384 bytes for nested
 * messages written in place, UTF-8 strings either side of the short-string path, and growth past the initial buffer.
 */
import { assert, describe, it } from "vitest"
import * as Protobuf from "../src/Protobuf.ts"

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")
const bytesOf = (body: (w: Protobuf.Writer) => void, capacity?: number) => hex(Protobuf.encode(body, capacity))

describe("Protobuf.Writer", () => {
  it("writes varints as the encoding guide gives them", () => {
    assert.strictEqual(
      bytesOf((w) => w.int(1, 150)),
      "089601"
    )
    assert.strictEqual(
      bytesOf((w) => w.varint(0).varint(127).varint(128).varint(300)),
      "007f8001ac02"
    )
    assert.strictEqual(
      bytesOf((w) =>
        w
          .varint(2 ** 31 - 1)
          .varint(2 ** 31)
          .varint(2 ** 53 - 1)
      ),
      "ffffffff07_8080808008_ffffffffffffff0f".replaceAll("_", "")
    )
    assert.strictEqual(
      bytesOf((w) => w.varint(-1)),
      "ffffffffffffffffff01"
    )
    assert.strictEqual(
      bytesOf((w) => w.varint(-2n).varint(2n ** 63n)),
      "feffffffffffffffff01_80808080808080808001".replaceAll("_", "")
    )
    assert.strictEqual(
      bytesOf((w) => w.varint(2 ** 60)),
      "808080808080808010"
    ) // beyond safe integers: exact via bigint
  })

  it("writes keys and fixed-width fields little-endian", () => {
    assert.strictEqual(
      bytesOf((w) => w.float(2, 1)),
      "150000803f"
    )
    assert.strictEqual(
      bytesOf((w) => w.double(1, 1)),
      "09000000000000f03f"
    )
    assert.strictEqual(
      bytesOf((w) => w.int(16, 1)),
      "800101"
    ) // field 16 needs a two-byte key
  })

  it("prefixes bytes and strings with their length (short and long UTF-8 strings alike)", () => {
    assert.strictEqual(
      bytesOf((w) => w.string(2, "testing")),
      "120774657374696e67"
    )
    assert.strictEqual(
      bytesOf((w) => w.string(1, "λ∑")),
      "0a05cebbe28891"
    )
    const long = "ü".repeat(43) // past the in-place path: 86 bytes
    assert.strictEqual(
      bytesOf((w) => w.string(1, long)),
      `0a56${"c3bc".repeat(43)}`
    )
    const longest = "∑".repeat(42) // the in-place path at its bound: 126 bytes
    assert.strictEqual(
      bytesOf((w) => w.string(1, longest)),
      `0a7e${"e28891".repeat(42)}`
    )
    assert.strictEqual(
      bytesOf((w) => w.bytes(3, Uint8Array.of(1, 2, 3)).raw(Uint8Array.of(9))),
      "1a0301020309"
    )
  })

  it("writes nested messages in place with length prefixes that widen at 128 and 16,384 bytes", () => {
    for (const size of [0, 1, 127, 128, 300, 16383, 16384, 70000]) {
      const payload = Uint8Array.from({ length: size }, (_, i) => i % 251)
      const nested = Protobuf.encode(
        (w) =>
          w
            .int(1, 7)
            .message(2, (m) => m.message(3, (inner) => inner.raw(payload)))
            .int(4, 9),
        16
      )
      const viaBytes = Protobuf.encode((w) =>
        w
          .int(1, 7)
          .bytes(
            2,
            Protobuf.encode((m) => m.bytes(3, payload))
          )
          .int(4, 9)
      )
      assert.strictEqual(hex(nested), hex(viaBytes))
    }
    assert.strictEqual(
      bytesOf((w) => w.message(1, (m) => m.int(1, 150))),
      "0a03089601"
    )
  })

  it("encodes varints, negative int64 as 10 bytes, floats and nested messages in one stream", () => {
    const w = new Protobuf.Writer()
    w.int(1, 300)
    w.int(2, -1)
    w.float(3, 1.5)
    w.message(4, (m) => m.string(1, "hé"))
    assert.deepStrictEqual(
      Array.from(w.finish()),
      [
        0x08, 0xac, 0x02, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x1d, 0x00, 0x00, 0xc0,
        0x3f, 0x22, 0x05, 0x0a, 0x03, 0x68, 0xc3, 0xa9
      ]
    )
  })
})

describe("Protobuf.fields", () => {
  it("splits a message into its top-level fields with keys, values and verbatim bytes", () => {
    const bytes = Protobuf.encode((w) =>
      w
        .int(1, 150)
        .int(2, -1)
        .double(3, 0.5)
        .float(4, 1.5)
        .string(5, "hé")
        .message(6, (m) => m.int(1, 7))
    )
    const fs = Protobuf.fields(bytes)
    assert.deepStrictEqual(
      fs.map((f) => [f.field, f.wire]),
      [
        [1, 0],
        [2, 0],
        [3, 1],
        [4, 5],
        [5, 2],
        [6, 2]
      ]
    )
    assert.strictEqual(fs[0]?.varint, 150n)
    assert.strictEqual(fs[1]?.varint, 2n ** 64n - 1n) // -1 as an unsigned 64-bit varint
    assert.strictEqual(hex(fs[2]?.payload ?? new Uint8Array()), "000000000000e03f")
    assert.strictEqual(hex(fs[3]?.payload ?? new Uint8Array()), "0000c03f")
    assert.strictEqual(new TextDecoder().decode(fs[4]?.payload), "hé")
    assert.deepStrictEqual(
      Protobuf.fields(fs[5]?.payload ?? new Uint8Array()).map((f) => f.varint),
      [7n]
    )
    assert.strictEqual(hex(Protobuf.encode((w) => fs.forEach((f) => w.raw(f.raw)))), hex(bytes)) // raw copies rebuild the message
  })

  it("refuses truncated input and group wire types", () => {
    assert.throws(() => Protobuf.fields(Uint8Array.of(0x08, 0x96)), /truncated varint/)
    assert.throws(() => Protobuf.fields(Uint8Array.of(0x12, 0x05, 0x01)), /truncated field/)
    assert.throws(() => Protobuf.fields(Uint8Array.of(0x0b)), /wire type 3/)
  })
})
