/**
 * Give graph inputs and outputs of an encoded ONNX ModelProto symbolic dimensions (`batch_size`,
 * `sequence_length`, ...). @realm-lm/graph writes static shapes; exported models must accept any batch and length,
 * so this rewrites the graph's `input`/`output` ValueInfoProtos and copies every other field byte for byte.
 */

/** A dimension: a fixed size or a symbolic name. */
export type Dim = number | string

const encoder = new TextEncoder()
const decoder = new TextDecoder()

class Writer {
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

const message = (build: (w: Writer) => void): Uint8Array => {
  const w = new Writer()
  build(w)
  return w.finish()
}

interface Field {
  readonly field: number
  readonly wire: number
  /** The whole field (tag included), for verbatim copies. */
  readonly raw: Uint8Array
  /** Payload of a length-delimited field. */
  readonly payload: Uint8Array | undefined
}

/** Split a message into its top-level fields. */
const fields = (bytes: Uint8Array): Array<Field> => {
  const out: Array<Field> = []
  let at = 0
  const varint = (): number => {
    let v = 0
    let scale = 1
    for (;;) {
      const b = bytes[at++] as number
      v += (b & 0x7f) * scale
      if (b < 0x80) return v
      scale *= 128
    }
  }
  while (at < bytes.length) {
    const start = at
    const tag = varint()
    const wire = tag % 8
    let payload: Uint8Array | undefined
    if (wire === 0) varint()
    else if (wire === 1) at += 8
    else if (wire === 5) at += 4
    else if (wire === 2) {
      const len = varint()
      payload = bytes.subarray(at, at + len)
      at += len
    } else throw new Error(`onnxPatch: unsupported wire type ${wire}`)
    out.push({ field: Math.floor(tag / 8), wire, raw: bytes.subarray(start, at), payload })
  }
  return out
}

/** A ValueInfoProto with a tensor type of `elemType` and `dims`. */
const valueInfo = (name: string, elemType: number, dims: ReadonlyArray<Dim>): Uint8Array =>
  message((v) => {
    v.tagged(1, encoder.encode(name))
    v.tagged(2, message((type) =>
      type.tagged(1, message((tensor) => {
        tensor.int(1, elemType)
        tensor.tagged(2, message((shape) => {
          for (const d of dims) shape.tagged(1, message((dim) => (typeof d === "number" ? dim.int(1, d) : dim.tagged(2, encoder.encode(d)))))
        }))
      }))))
  })

/** The element type recorded in a ValueInfoProto (TypeProto.tensor_type.elem_type). */
const elemTypeOf = (info: Uint8Array): number => {
  const type = fields(info).find((f) => f.field === 2)?.payload
  const tensor = type === undefined ? undefined : fields(type).find((f) => f.field === 1)?.payload
  const elem = tensor === undefined ? undefined : fields(tensor).find((f) => f.field === 1)
  if (elem === undefined) throw new Error("onnxPatch: value info without a tensor type")
  let v = 0
  let scale = 1
  const raw = elem.raw.subarray(1)
  for (const b of raw) {
    v += (b & 0x7f) * scale
    if (b < 0x80) break
    scale *= 128
  }
  return v
}

/** Rewrite the shapes of the named graph inputs/outputs of `model` (a serialized ModelProto). */
export const symbolicShapes = (model: Uint8Array, dims: Readonly<Record<string, ReadonlyArray<Dim>>>): Uint8Array =>
  message((out) => {
    for (const f of fields(model)) {
      if (f.field !== 7 || f.payload === undefined) {
        out.push(f.raw)
        continue
      }
      out.tagged(7, message((graph) => {
        for (const gf of fields(f.payload as Uint8Array)) {
          if ((gf.field === 11 || gf.field === 12) && gf.payload !== undefined) {
            const nameField = fields(gf.payload).find((x) => x.field === 1)
            const name = nameField?.payload === undefined ? "" : decoder.decode(nameField.payload)
            const want = dims[name]
            if (want !== undefined) {
              graph.tagged(gf.field, valueInfo(name, elemTypeOf(gf.payload), want))
              continue
            }
          }
          graph.push(gf.raw)
        }
      }))
    }
  })
