/**
 * The one protobuf wire-format writer of realm-lm: varints, fixed32/fixed64, length-delimited fields and nested
 * messages over a growable `Uint8Array`, with no dependency and no Node built-ins, and `fields`, a reader that splits
 * a message into its top-level fields. Graph's ONNX encoder, lm's symbolic-shape patch and the trainer's TensorBoard
 * events all write through it. Repeated numeric fields are written unpacked (one tag per element), which every
 * proto2/proto3 parser accepts.
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

  /** Room for `extra` more bytes: the buffer at least doubles when it grows, so appends stay amortized O(1). */
  private ensure(extra: number): this {
    const need = this.len + extra
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.buf.length * 2))
      next.set(this.buf.subarray(0, this.len))
      this.buf = next
      this.view = new DataView(next.buffer)
    }
    return this
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
    this.tag(field, WIRE_FIXED32).ensure(4)
    this.view.setFloat32((this.len += 4) - 4, value, true)
    return this
  }

  /** double field (fixed64, little-endian). */
  double(field: number, value: number): this {
    this.tag(field, WIRE_FIXED64).ensure(8)
    this.view.setFloat64((this.len += 8) - 8, value, true)
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

/** One top-level field of an encoded message. */
export interface Field {
  readonly field: number
  readonly wire: number
  /** The whole field, key included (for verbatim copies). */
  readonly raw: Uint8Array
  /** The value's bytes: a length-delimited field's body, a fixed field's little-endian bytes, a varint's bytes. */
  readonly payload: Uint8Array
  /** A varint field's value as an unsigned 64-bit integer (`0n` for other wire types). */
  readonly varint: bigint
}

/** Split an encoded message into its top-level fields, in order. Throws on group wire types (3, 4) and truncation. */
export const fields = (bytes: Uint8Array): Array<Field> => {
  const out: Array<Field> = []
  let at = 0
  const readVarint = (): bigint => {
    let v = 0n
    let shift = 0n
    for (;;) {
      if (at >= bytes.length) throw new Error("Protobuf.fields: truncated varint")
      const b = bytes[at++]!
      v |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return v
      shift += 7n
    }
  }
  while (at < bytes.length) {
    const start = at
    const key = Number(readVarint())
    const wire = key % 8
    let begin = at
    let varint = 0n
    if (wire === WIRE_VARINT) varint = readVarint()
    else if (wire === WIRE_FIXED64) at += 8
    else if (wire === WIRE_FIXED32) at += 4
    else if (wire === WIRE_LEN) {
      const len = Number(readVarint())
      begin = at
      at += len
    } else throw new Error(`Protobuf.fields: unsupported wire type ${wire}`)
    if (at > bytes.length) throw new Error("Protobuf.fields: truncated field")
    out.push({
      field: Math.floor(key / 8),
      wire,
      raw: bytes.subarray(start, at),
      payload: bytes.subarray(begin, at),
      varint
    })
  }
  return out
}
