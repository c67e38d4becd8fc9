/**
 * The one protobuf wire-format writer of realm-lm: varints, fixed32/fixed64, length-delimited fields and nested
 * messages over a growable `Uint8Array`, with no dependency and no Node built-ins. Graph's ONNX encoder, lm's
 * symbolic-shape patch and the trainer's TensorBoard events all write through it. Repeated numeric fields are
 * written unpacked (one tag per element), which every proto2/proto3 parser accepts.
 */

/** Wire type of varint fields (int32, int64, uint64, bool, enum). */
export const WIRE_VARINT = 0
/** Wire type of fixed64 fields (double). */
export const WIRE_FIXED64 = 1
/** Wire type of length-delimited fields (bytes, string, embedded messages). */
export const WIRE_LEN = 2
/** Wire type of fixed32 fields (float). */
export const WIRE_FIXED32 = 5

const encoder = new TextEncoder()

/** Bytes a varint of the non-negative safe integer `v` takes. */
const varintSize = (v: number): number => {
  let n = 1
  while (v >= 0x80) {
    v = Math.floor(v / 0x80)
    n++
  }
  return n
}

/**
 * Growable byte buffer with protobuf field writers; every writer returns the writer, so calls chain. Nested messages
 * are written in place (a one-byte length slot, widened once the body's size is known), not into a second buffer.
 */
export class Writer {
  private buf: Uint8Array
  private view: DataView
  private len = 0

  /** `capacity`: initial buffer size in bytes (the buffer doubles as needed; a good guess saves copies). */
  constructor(capacity = 256) {
    this.buf = new Uint8Array(Math.max(16, capacity))
    this.view = new DataView(this.buf.buffer)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + extra) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  /** Unsigned varint of a non-negative safe integer; a negative or bigint value as a two's-complement 64-bit varint. */
  varint(value: number | bigint): this {
    if (typeof value === "number" && value >= 0 && Number.isSafeInteger(value)) {
      this.ensure(8)
      const buf = this.buf
      let at = this.len
      let v = value
      if (v < 0x80000000) {
        while (v >= 0x80) {
          buf[at++] = (v & 0x7f) | 0x80
          v >>>= 7
        }
      } else {
        while (v >= 0x80) {
          buf[at++] = (v % 0x80) | 0x80
          v = Math.floor(v / 0x80)
        }
      }
      buf[at++] = v
      this.len = at
      return this
    }
    let v = BigInt.asUintN(64, BigInt(value))
    this.ensure(10)
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.buf[this.len++] = Number(v)
    return this
  }

  /** The key of field `field` with wire type `wire`. */
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire)
  }

  /** int32/int64/uint64/enum/bool field (varint; negative values as 64-bit two's complement). */
  int(field: number, value: number | bigint): this {
    return this.tag(field, WIRE_VARINT).varint(value)
  }

  /** float field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32)
    this.ensure(4)
    this.view.setFloat32(this.len, value, true)
    this.len += 4
    return this
  }

  /** double field (fixed64, little-endian). */
  double(field: number, value: number): this {
    this.tag(field, WIRE_FIXED64)
    this.ensure(8)
    this.view.setFloat64(this.len, value, true)
    this.len += 8
    return this
  }

  /** bytes field. */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN).varint(data.length)
    return this.raw(data)
  }

  /** string field (UTF-8). */
  string(field: number, value: string): this {
    // Short strings (at most 42 UTF-16 units, so at most 126 UTF-8 bytes) encode straight into the buffer behind a
    // one-byte length.
    if (value.length > 42) return this.bytes(field, encoder.encode(value))
    this.tag(field, WIRE_LEN)
    this.ensure(1 + value.length * 3)
    const { written } = encoder.encodeInto(value, this.buf.subarray(this.len + 1))
    this.buf[this.len] = written
    this.len += 1 + written
    return this
  }

  /** Embedded message field whose body `body` writes (into this writer, in place). */
  message(field: number, body: (w: this) => void): this {
    this.tag(field, WIRE_LEN)
    this.ensure(1)
    const start = ++this.len
    body(this)
    const size = this.len - start
    if (size < 0x80) {
      this.buf[start - 1] = size
      return this
    }
    const extra = varintSize(size) - 1
    this.ensure(extra)
    this.buf.copyWithin(start + extra, start, this.len)
    const end = this.len + extra
    this.len = start - 1
    this.varint(size)
    this.len = end
    return this
  }

  /** Bytes copied verbatim (e.g. an already-encoded field). */
  raw(data: Uint8Array): this {
    this.ensure(data.length)
    this.buf.set(data, this.len)
    this.len += data.length
    return this
  }

  /** The encoded bytes: a view of the buffer (write nothing further to this writer while it is in use). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
}

/** The encoded bytes of one message whose fields `body` writes. */
export const encode = (body: (w: Writer) => void, capacity?: number): Uint8Array => {
  const w = new Writer(capacity)
  body(w)
  return w.finish()
}
