/**
 * The three hand-written protobuf writers realm-lm had before `Protobuf.Writer` (graph's `internal/proto.ts`, lm's
 * `internal/onnxPatch.ts` writer and the trainer's TensorBoard writer, as of commit 4fce2c5), kept verbatim as the
 * baselines `bench/protobuf.ts` compares the shared writer with. Not used by any package.
 */

/** graph/src/internal/proto.ts */
const WIRE_VARINT = 0
const WIRE_LEN = 2
const WIRE_FIXED32 = 5

const encoder = new TextEncoder()

/** Growable byte buffer with protobuf field writers. */
export class GraphWriter {
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
  message(field: number, body: (w: GraphWriter) => void): void {
    const inner = new GraphWriter()
    body(inner)
    this.bytes(field, inner.finish())
  }

  /** The encoded bytes (a view; do not write further). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
}

/** lm/src/internal/onnxPatch.ts (writer part) */
export class PatchWriter {
  private chunks: Array<Uint8Array> = []
  private size = 0
  push(bytes: Uint8Array): void {
    this.chunks.push(bytes)
    this.size += bytes.length
  }
  varint(v: number): void {
    const out: Array<number> = []
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    out.push(v)
    this.push(Uint8Array.from(out))
  }
  tagged(field: number, payload: Uint8Array): void {
    this.varint(field * 8 + 2)
    this.varint(payload.length)
    this.push(payload)
  }
  int(field: number, v: number): void {
    this.varint(field * 8)
    this.varint(v)
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size)
    let at = 0
    for (const c of this.chunks) {
      out.set(c, at)
      at += c.length
    }
    return out
  }
}

/** trainer/src/TensorBoard.ts (writer part) */
export class TensorBoardWriter {
  private bytes: Array<number> = []
  varint(value: number | bigint): this {
    let v = BigInt(value)
    while (v > 0x7fn) {
      this.bytes.push(Number((v & 0x7fn) | 0x80n))
      v >>= 7n
    }
    this.bytes.push(Number(v))
    return this
  }
  key(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType)
  }
  double(field: number, value: number): this {
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, value, true)
    this.key(field, 1).bytes.push(...b)
    return this
  }
  float(field: number, value: number): this {
    const b = new Uint8Array(4)
    new DataView(b.buffer).setFloat32(0, value, true)
    this.key(field, 5).bytes.push(...b)
    return this
  }
  int64(field: number, value: number): this {
    return this.key(field, 0).varint(value)
  }
  bytesField(field: number, data: Uint8Array): this {
    this.key(field, 2)
      .varint(data.length)
      .bytes.push(...data)
    return this
  }
  string(field: number, text: string): this {
    return this.bytesField(field, new TextEncoder().encode(text))
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes)
  }
}
