import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Protobuf } from "@realm-lm/core"
import { Effect } from "effect"
import { mkdtempSync, readFileSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { crc32c, maskedCrc32c } from "../src/internal/crc32c.ts"
import * as TensorBoard from "../src/TensorBoard.ts"

/** TFRecord frames, read independently of the writer; fields are split by core's `Protobuf.fields`. */
const readRecords = (bytes: Uint8Array): Array<Uint8Array> => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Array<Uint8Array> = []
  let at = 0
  while (at < bytes.length) {
    const len = Number(view.getBigUint64(at, true))
    if (view.getUint32(at + 8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) throw new Error("length crc")
    const payload = bytes.subarray(at + 12, at + 12 + len)
    if (view.getUint32(at + 12 + len, true) !== maskedCrc32c(payload)) throw new Error("payload crc")
    out.push(payload)
    at += 16 + len
  }
  return out
}

type Field = { field: number; wire: number; value: number | bigint | Uint8Array }
/** An Event's fields with their values: varints as bigint, doubles and floats as numbers, the rest as bytes. */
const fields = (b: Uint8Array): Array<Field> =>
  Protobuf.fields(b).map((f) => {
    const view = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength)
    const value =
      f.wire === Protobuf.WIRE_VARINT
        ? f.varint
        : f.wire === Protobuf.WIRE_FIXED64
          ? view.getFloat64(0, true)
          : f.wire === Protobuf.WIRE_FIXED32
            ? view.getFloat32(0, true)
            : f.payload
    return { field: f.field, wire: f.wire, value }
  })

describe("TensorBoard event files", () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

  it("framed events are byte-identical to those of the writer used before the shared protobuf writer", () => {
    // Recorded from the previous hand-written encoder: length, masked CRCs, double/varint/float/string fields.
    assert.strictEqual(
      hex(TensorBoard.frameRecord(TensorBoard.encodeFileVersionEvent(1_700_000_000.5))),
      "1800000000000000a37f4b220900002040fc54d9411a0d627261696e2e4576656e743a322b353110"
    )
    assert.strictEqual(
      hex(
        TensorBoard.frameRecord(
          TensorBoard.encodeScalarsEvent(1_700_000_123.25, 1234567, {
            "rl/reward_mean": 0.25,
            "sft/λ": -1e-30,
            x: 3.4e38
          })
        )
      ),
      "3f0000000000000051657661090000d05efc54d9411087ad4b2a300a150a0e726c2f7265776172645f6d65616e150000803e0a0d0a067366742fcebb156042a28d0a080a0178159ec97f7fd1dcf379"
    )
    assert.strictEqual(
      hex(TensorBoard.frameRecord(TensorBoard.encodeScalarsEvent(0, 0, {}))),
      "0d000000000000003c37b83409000000000000000010002a006d31e5b4"
    )
    assert.strictEqual(
      hex(TensorBoard.frameRecord(TensorBoard.encodeScalarsEvent(1, 2 ** 40, { ["t".repeat(200)]: 1 }))),
      `e60000000000000071234f8709000000000000f03f108080808080202ad3010ad0010ac801${"74".repeat(200)}150000803f0fae66d1`
    )
  })

  it("CRC-32C matches the standard check value (RFC 3720: '123456789' -> 0xE3069283)", () => {
    assert.strictEqual(crc32c(new TextEncoder().encode("123456789")), 0xe3069283)
  })

  it.effect("writes a version record then scalar events that decode to the same tags, steps and values", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "realm-tb-"))
      const writer = yield* TensorBoard.open(dir, 1_700_000_000.5)
      yield* writer.scalars(0, { "rl/reward_mean": 0.25, "rl/kl": 0.001 })
      yield* writer.scalars(1234567, { "rl/reward_mean": 0.5, "rl/bad": Number.NaN })
      const files = readdirSync(dir)
      assert.strictEqual(files.length, 1)
      assert.match(files[0]!, /^events\.out\.tfevents\.1700000000\./)
      const records = readRecords(new Uint8Array(readFileSync(join(dir, files[0]!))))
      assert.strictEqual(records.length, 3)
      const version = fields(records[0]!)
      assert.strictEqual(version[0]?.value, 1_700_000_000.5)
      assert.strictEqual(new TextDecoder().decode(version[1]?.value as Uint8Array), "brain.Event:2")
      const decodeScalars = (rec: Uint8Array) => {
        const f = fields(rec)
        const step = Number(f.find((x) => x.field === 2)?.value)
        const summary = fields(f.find((x) => x.field === 5)?.value as Uint8Array)
        const values = summary.map((v) => {
          const inner = fields(v.value as Uint8Array)
          return [new TextDecoder().decode(inner[0]?.value as Uint8Array), inner[1]?.value] as const
        })
        return { step, values }
      }
      const first = decodeScalars(records[1]!)
      assert.strictEqual(first.step, 0)
      assert.deepStrictEqual(
        first.values.map(([t]) => t),
        ["rl/reward_mean", "rl/kl"]
      )
      assert.closeTo(first.values[1]?.[1] as number, 0.001, 1e-9)
      const second = decodeScalars(records[2]!)
      assert.strictEqual(second.step, 1234567)
      assert.deepStrictEqual(second.values, [["rl/reward_mean", 0.5]]) // NaN skipped
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})
