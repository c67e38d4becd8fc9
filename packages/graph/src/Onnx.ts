/**
 * Serialization of a built graph to an ONNX ModelProto (IR version 8, default-domain opset 17 for the
 * whole package) with core's protobuf writer. Composite ops are flattened into their
 * expansions; constants become initializers, optionally stored as external data.
 */
import { Protobuf } from "@realm-lm/core"
import type { Attr, DType, Graph, Node, Shape, Tensor, TensorData } from "./Graph.ts"
import { dtypeOf, fmt, InvalidGraph, sizeOf } from "./Graph.ts"

/** The one ONNX default-domain opset version used by every graph this package writes. */
export const OPSET = 17
/** ONNX IR version matching opset 17. */
export const IR_VERSION = 8

const ELEM_TYPE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 }

/** Options for `encode`. */
export interface EncodeOptions {
  /** Param values baked in as initializers (e.g. to export a standalone model); baked params stop being inputs. */
  readonly bake?: Readonly<Record<string, TensorData>>
  /** Initializers of at least this many bytes go to a separate external-data blob (default: never). */
  readonly externalDataThreshold?: number
  /** File name the model refers to for external data (default `model.onnx.data`). */
  readonly externalDataPath?: string
}

/** An encoded model and, when requested, its external-data blob. */
export interface Encoded {
  readonly model: Uint8Array
  readonly externalData?: { readonly path: string; readonly data: Uint8Array }
  /** Names of the graph inputs in order (params not baked, and data inputs). */
  readonly inputs: ReadonlyArray<string>
  /** Names of the graph outputs in order. */
  readonly outputs: ReadonlyArray<string>
}

const bytesOf = (data: TensorData): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength)

const writeAttr = (w: Protobuf.Writer, name: string, a: Attr): void => {
  w.string(1, name)
  if ("i" in a) {
    w.int(3, a.i)
    w.int(20, 2)
  } else if ("f" in a) {
    w.float(2, a.f)
    w.int(20, 1)
  } else if ("s" in a) {
    w.string(4, a.s)
    w.int(20, 3)
  } else if ("ints" in a) {
    for (const v of a.ints) w.int(8, v)
    w.int(20, 7)
  } else {
    for (const v of a.floats) w.float(7, v)
    w.int(20, 6)
  }
}

const writeNode = (w: Protobuf.Writer, node: Node, index: number, nameOf: (t: Tensor) => string): void => {
  w.message(1, (n) => {
    for (const t of node.inputs) n.string(1, t === undefined ? "" : nameOf(t))
    for (const t of node.outputs) n.string(2, nameOf(t))
    n.string(3, `${node.op}_${index}`)
    n.string(4, node.op)
    for (const [name, a] of Object.entries(node.attrs)) n.message(5, (aw) => writeAttr(aw, name, a))
    if (node.domain !== "") n.string(7, node.domain)
  })
}

const writeValueInfo = (w: Protobuf.Writer, field: number, name: string, dtype: DType, shape: Shape): void => {
  w.message(field, (v) => {
    v.string(1, name)
    v.message(2, (type) =>
      type.message(1, (tt) => {
        tt.int(1, ELEM_TYPE[dtype])
        tt.message(2, (s) => {
          for (const d of shape) s.message(1, (dim) => dim.int(1, d))
        })
      })
    )
  })
}

/** Flattened node list (composites expanded in place), in topological order. */
export const flatten = (nodes: ReadonlyArray<Node>): Array<Node> => {
  const out: Array<Node> = []
  const walk = (list: ReadonlyArray<Node>): void => {
    for (const n of list) {
      if (n.body !== undefined) walk(n.body)
      else out.push(n)
    }
  }
  walk(nodes)
  return out
}

/** Encode a graph as an ONNX ModelProto. Every graph output must have been declared with `graph.output`. */
export const encode = (graph: Graph, options: EncodeOptions = {}): Encoded => {
  if (graph.outputs.length === 0)
    throw new InvalidGraph({ detail: `graph "${graph.name}" has no outputs`, fix: "call graph.output(name, tensor)" })
  const bake = options.bake ?? {}
  const threshold = options.externalDataThreshold ?? Number.POSITIVE_INFINITY
  const extPath = options.externalDataPath ?? "model.onnx.data"
  const extChunks: Array<Uint8Array> = []
  let extOffset = 0
  const inputs: Array<Tensor> = []
  const initializers: Array<{
    readonly name: string
    readonly dtype: DType
    readonly shape: Shape
    readonly data: TensorData
  }> = []
  for (const t of graph.inputs) {
    const baked = bake[t.name]
    if (baked === undefined) {
      inputs.push(t)
      continue
    }
    if (baked.length !== t.size || dtypeOf(baked) !== t.dtype) {
      throw new InvalidGraph({
        detail: `baked value for ${t.toString()} has ${baked.length} ${dtypeOf(baked)} elements`
      })
    }
    initializers.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: baked })
  }
  for (const c of graph.constants)
    initializers.push({ name: c.tensor.name, dtype: c.tensor.dtype, shape: c.tensor.shape, data: c.data })

  // Sized for the inline initializers up front, so large models are not copied while the buffer grows.
  const inlineBytes = initializers.reduce((n, i) => (i.data.byteLength < threshold ? n + i.data.byteLength : n), 0)
  const w = new Protobuf.Writer(inlineBytes + 65536)
  w.int(1, IR_VERSION)
  w.string(2, "@realm-lm/graph")
  w.string(3, "0.1.0")
  w.message(7, (gw) => {
    const flat = flatten(graph.nodes)
    // A node output that is a graph output takes the output's name (no Identity copy of large state);
    // inputs, constants and tensors output twice go through Identity.
    const renamed = new Map<Tensor, string>()
    for (const o of graph.outputs) if (o.tensor.kind === "node" && !renamed.has(o.tensor)) renamed.set(o.tensor, o.name)
    const nameOf = (t: Tensor) => renamed.get(t) ?? t.name
    flat.forEach((n, i) => writeNode(gw, n, i, nameOf))
    graph.outputs
      .filter((o) => renamed.get(o.tensor) !== o.name)
      .forEach((o, i) => {
        gw.message(1, (n) => {
          n.string(1, nameOf(o.tensor))
          n.string(2, o.name)
          n.string(3, `Output_${flat.length + i}`)
          n.string(4, "Identity")
        })
      })
    gw.string(2, graph.name)
    for (const init of initializers) {
      gw.message(5, (tw) => {
        for (const d of init.shape) tw.int(1, d)
        tw.int(2, ELEM_TYPE[init.dtype])
        tw.string(8, init.name)
        const raw = bytesOf(init.data)
        if (raw.length >= threshold) {
          const pad = (8 - (extOffset % 8)) % 8 // keep every tensor 8-byte aligned in the blob
          if (pad > 0) extChunks.push(new Uint8Array(pad))
          extOffset += pad
          for (const [k, v] of [
            ["location", extPath],
            ["offset", String(extOffset)],
            ["length", String(raw.length)]
          ] as const) {
            tw.message(13, (e) => {
              e.string(1, k)
              e.string(2, v)
            })
          }
          tw.int(14, 1)
          extChunks.push(raw)
          extOffset += raw.length
        } else {
          tw.bytes(9, raw)
        }
      })
    }
    for (const t of inputs) writeValueInfo(gw, 11, t.name, t.dtype, t.shape)
    for (const o of graph.outputs) writeValueInfo(gw, 12, o.name, o.tensor.dtype, o.tensor.shape)
  })
  w.message(8, (op) => {
    op.string(1, "")
    op.int(2, OPSET)
  })
  let externalData: Encoded["externalData"]
  if (extChunks.length > 0) {
    const data = new Uint8Array(extOffset)
    let at = 0
    for (const c of extChunks) {
      data.set(c, at)
      at += c.length
    }
    externalData = { path: extPath, data }
  }
  return {
    model: w.finish(),
    ...(externalData === undefined ? {} : { externalData }),
    inputs: inputs.map((t) => t.name),
    outputs: graph.outputs.map((o) => o.name)
  }
}

/** Human-readable summary (one line per node) for debugging and error messages. */
export const describe = (graph: Graph): string =>
  flatten(graph.nodes)
    .map(
      (n) =>
        `${n.outputs.map((o) => `${o.name}${fmt(o.shape)}`).join(", ")} = ${n.op}(${n.inputs.map((i) => (i === undefined ? "_" : i.name)).join(", ")})`
    )
    .join("\n")

/** Total number of elements of all params (for reporting). */
export const paramCount = (graph: Graph): number => graph.params.reduce((s, p) => s + sizeOf(p.shape), 0)
