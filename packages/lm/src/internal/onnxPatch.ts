/**
 * Give graph inputs and outputs of an encoded ONNX ModelProto symbolic dimensions (`batch_size`,
 * `sequence_length`, ...). @realm-lm/graph writes static shapes; exported models must accept any batch and length,
 * so this rewrites the graph's `input`/`output` ValueInfoProtos and copies every other field byte for byte.
 */
import { Protobuf } from "@realm-lm/core"

/** A dimension: a fixed size or a symbolic name. */
export type Dim = number | string

const decoder = new TextDecoder()

const { fields } = Protobuf

/** Write a ValueInfoProto with a tensor type of `elemType` and `dims`. */
const valueInfo = (v: Protobuf.Writer, name: string, elemType: number, dims: ReadonlyArray<Dim>): void => {
  v.string(1, name)
  v.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, elemType)
      tensor.message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)))
      })
    })
  )
}

/** The element type recorded in a ValueInfoProto (TypeProto.tensor_type.elem_type). */
const elemTypeOf = (info: Uint8Array): number => {
  const type = fields(info).find((f) => f.field === 2)?.payload
  const tensor = type === undefined ? undefined : fields(type).find((f) => f.field === 1)?.payload
  const elem = tensor === undefined ? undefined : fields(tensor).find((f) => f.field === 1)
  if (elem === undefined) throw new Error("onnxPatch: value info without a tensor type")
  return Number(elem.varint)
}

/** Rewrite the shapes of the named graph inputs/outputs of `model` (a serialized ModelProto). */
export const symbolicShapes = (model: Uint8Array, dims: Readonly<Record<string, ReadonlyArray<Dim>>>): Uint8Array =>
  Protobuf.encode((out) => {
    for (const f of fields(model)) {
      if (f.field !== 7 || f.wire !== Protobuf.WIRE_LEN) {
        out.raw(f.raw)
        continue
      }
      out.message(7, (graph) => {
        for (const gf of fields(f.payload)) {
          if ((gf.field === 11 || gf.field === 12) && gf.wire === Protobuf.WIRE_LEN) {
            const nameField = fields(gf.payload).find((x) => x.field === 1)
            const name = nameField === undefined ? "" : decoder.decode(nameField.payload)
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
