/**
 * Give graph inputs and outputs of an encoded ONNX ModelProto symbolic dimensions (`batch_size`,
 * `sequence_length`, ...). @realm-lm/graph writes static shapes; exported models must accept any batch and length,
 * so this rewrites the graph's `input`/`output` ValueInfoProtos and copies every other field byte for byte.
 */
import { Protobuf } from "@realm-lm/core"

/** A dimension: a fixed size or a symbolic name. */
export type Dim = number | string

const decoder = new TextDecoder()

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

/** Write a ValueInfoProto with a tensor type of `elemType` and `dims`. */
const valueInfo = (v: Protobuf.Writer, name: string, elemType: number, dims: ReadonlyArray<Dim>): void => {
  v.string(1, name)
  v.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, elemType)
      tensor.message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)))
      })
    }))
}

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
  Protobuf.encode((out) => {
    for (const f of fields(model)) {
      if (f.field !== 7 || f.payload === undefined) {
        out.raw(f.raw)
        continue
      }
      out.message(7, (graph) => {
        for (const gf of fields(f.payload as Uint8Array)) {
          if ((gf.field === 11 || gf.field === 12) && gf.payload !== undefined) {
            const nameField = fields(gf.payload).find((x) => x.field === 1)
            const name = nameField?.payload === undefined ? "" : decoder.decode(nameField.payload)
            const want = dims[name]
            if (want !== undefined) {
              const info = gf.payload
              graph.message(gf.field, (v) => valueInfo(v, name, elemTypeOf(info), want))
              continue
            }
          }
          graph.raw(gf.raw)
        }
      })
    }
  }, model.length + 65536) // the copy is about the input's size: no regrowth for large models
