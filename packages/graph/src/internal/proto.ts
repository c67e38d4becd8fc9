/**
 * A minimal protobuf wire-format writer: varints, fixed32, length-delimited fields and nested messages.
 * Enough to encode ONNX's ModelProto without a protobuf dependency. Repeated numeric fields are written
 * unpacked (one tag per element), which every proto2/proto3 parser accepts.
 */

const WIRE_VARINT = 0
const WIRE_LEN = 2
const WIRE_FIXED32 = 5

const encoder = new TextEncoder()

/** Growable byte buffer with protobuf field writers. */
export class ProtoWriter {
  private buf = new Uint8Array(256)
  private len = 0

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + extra) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  private byte(b: number): void {
    this.ensure(1)
    this.buf[this.len++] = b
  }

  /** Unsigned varint of a non-negative safe integer, or a two's-complement 64-bit varint of a negative one. */
  varint(value: number | bigint): void {
    if (typeof value === "number" && value >= 0 && Number.isSafeInteger(value)) {
      let v = value
      while (v >= 0x80) {
        this.byte((v % 0x80) | 0x80)
        v = Math.floor(v / 0x80)
      }
      this.byte(v)
      return
    }
    let v = BigInt.asUintN(64, BigInt(value))
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    this.byte(Number(v))
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire)
  }

  /** int32/int64/enum/bool field. */
  int(field: number, value: number | bigint): void {
    this.tag(field, WIRE_VARINT)
    this.varint(value)
  }

  /** float field (fixed32, little-endian). */
  float(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32)
    this.ensure(4)
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true)
    this.len += 4
  }

  /** bytes field. */
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_LEN)
    this.varint(data.length)
    this.ensure(data.length)
    this.buf.set(data, this.len)
    this.len += data.length
  }

  /** string field (UTF-8). */
  string(field: number, value: string): void {
    this.bytes(field, encoder.encode(value))
  }

  /** Embedded message field written by `body` into a fresh writer. */
  message(field: number, body: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter()
    body(inner)
    this.bytes(field, inner.finish())
  }

  /** The encoded bytes (a view; do not write further). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
}
