/**
 * The graph builder: symbolic tensors with a dtype and a static shape, inputs, named parameters,
 * constants and nodes. Ops (`Ops`, `Layout`, `Nn`, `Loss`) append nodes here and check shapes at build
 * time, so a wrong shape fails with the op and shapes involved instead of inside ONNX Runtime.
 */
import { Schema } from "effect"
import type { Init } from "./Init.ts"

/** Element types the builder supports. Feed token ids and targets as `int32` (see the package README). */
export type DType = "float32" | "float64" | "int32" | "int64" | "bool"

/** Floating element types (differentiable). */
export type FloatType = "float32" | "float64"

/** A static shape: every dimension is a known non-negative integer; `[]` is a scalar. */
export type Shape = ReadonlyArray<number>

/** Any typed array the builder and executor accept. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array

/** An ONNX node attribute. */
export type Attr =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly s: string }
  | { readonly ints: ReadonlyArray<number> }
  | { readonly floats: ReadonlyArray<number> }

/** A shape was wrong for an op; raised while building, never by ORT at run time. */
export class ShapeMismatch extends Schema.TaggedError<ShapeMismatch>()("ShapeMismatch", {
  op: Schema.String,
  detail: Schema.String,
  shapes: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.op}: ${this.detail} (shapes ${this.shapes.join(", ")})`
  }
}

/** The graph was used inconsistently (duplicate names, foreign tensors, wrong dtypes, missing outputs). */
export class InvalidGraph extends Schema.TaggedError<InvalidGraph>()("InvalidGraph", {
  detail: Schema.String,
  fix: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return this.fix === undefined ? this.detail : `${this.detail}. Fix: ${this.fix}`
  }
}

/**
 * Gradient rule of a composite op: output gradients in, input gradients out (undefined = no gradient). `needs[i]` is
 * false when input i's gradient is not wanted (a frozen parameter, a constant): a rule may then skip computing it.
 */
export type CompositeGrad = (
  dys: ReadonlyArray<Tensor | undefined>,
  needs: ReadonlyArray<boolean>,
  options: CompositeGradOptions
) => ReadonlyArray<Tensor | undefined>

/** What `Autodiff.grad` was asked for, passed on to composite rules that differentiate a sub-graph themselves (`Recompute`). */
export interface CompositeGradOptions {
  /** Embedding (Gather) gradient formulation of the enclosing `grad` call. */
  readonly embedding: "scatter" | "matmul"
}

/** One node. A composite holds its expansion in `body` and its own gradient rule. */
export interface Node {
  readonly op: string
  readonly domain: string
  readonly inputs: ReadonlyArray<Tensor | undefined>
  readonly outputs: ReadonlyArray<Tensor>
  readonly attrs: Readonly<Record<string, Attr>>
  readonly body?: ReadonlyArray<Node>
  readonly grad?: CompositeGrad
  /** Stop-gradient marker (`Ops.detach`). */
  readonly stopGradient?: boolean
}

/** How a tensor came to be. */
export type TensorKind = "input" | "param" | "constant" | "node"

/** A symbolic tensor in a graph. */
export class Tensor {
  readonly graph: Graph
  readonly name: string
  readonly dtype: DType
  readonly shape: Shape
  readonly kind: TensorKind
  /** The top-level node (or composite) that computes this tensor; undefined for inputs, params, constants. */
  unit: Node | undefined
  constructor(graph: Graph, name: string, dtype: DType, shape: Shape, kind: TensorKind) {
    this.graph = graph
    this.name = name
    this.dtype = dtype
    this.shape = shape
    this.kind = kind
    this.unit = undefined
  }
  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape)
  }
  /** Rank. */
  get rank(): number {
    return this.shape.length
  }
  /** `name: dtype[d0,d1]` for messages. */
  toString(): string {
    return `${this.name}: ${this.dtype}${fmt(this.shape)}`
  }
}

/** A named trainable (or frozen) parameter: a float graph input whose value lives in executor state. */
export interface ParamSpec {
  readonly name: string
  readonly shape: Shape
  readonly dtype: FloatType
  readonly init: Init
  /** Default true; `Training` may also freeze it by name. */
  readonly trainable: boolean
  /** Whether AdamW/SGD weight decay applies; default: rank >= 2 (matrices and embeddings, not norms/biases). */
  readonly decay: boolean
}

/** A constant (ONNX initializer). */
export interface ConstantSpec {
  readonly tensor: Tensor
  readonly data: TensorData
}

/** Options for `param`. */
export interface ParamOptions {
  readonly init?: Init
  readonly trainable?: boolean
  readonly decay?: boolean
}

/** Number of elements of a shape. */
export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1)

/** `[2,3]` formatting for messages. */
export const fmt = (shape: Shape): string => `[${shape.join(",")}]`

const zeroInit: Init = { kind: "zeros" }

/** A graph under construction. Build it with `make`, then append ops with `Ops`, `Layout`, `Nn`, `Loss`. */
export class Graph {
  /** Float type for params and number literals: float32 for training, float64 for gradient checks. */
  readonly float: FloatType
  readonly name: string
  readonly inputs: Array<Tensor> = []
  readonly params: Array<ParamSpec> = []
  readonly constants: Array<ConstantSpec> = []
  readonly nodes: Array<Node> = []
  readonly outputs: Array<{ readonly name: string; readonly tensor: Tensor }> = []
  private readonly names = new Set<string>()
  private readonly scopes: Array<Array<Node>> = []
  private readonly constCache = new Map<string, Tensor>()
  private readonly constData = new Map<Tensor, TensorData>()
  private counter = 0

  constructor(name: string, float: FloatType) {
    this.name = name
    this.float = float
  }

  private claim(name: string): string {
    if (this.names.has(name)) {
      throw new InvalidGraph({
        detail: `name "${name}" is already used in graph "${this.name}"`,
        fix: "give every input, param and output a unique name"
      })
    }
    this.names.add(name)
    return name
  }

  /** A fresh internal value name. */
  fresh(prefix: string): string {
    let name: string
    do name = `${prefix}_${this.counter++}`
    while (this.names.has(name))
    this.names.add(name)
    return name
  }

  /** A data input (tokens, targets, masks, lr): `[batch, seq]` int32 etc. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    checkShape("input", shape)
    const t = new Tensor(this, this.claim(name), dtype, [...shape], "input")
    this.inputs.push(t)
    return t
  }

  /** A named parameter of the graph's float type, fed from executor state at run time. */
  param(name: string, shape: Shape, options: ParamOptions = {}): Tensor {
    checkShape("param", shape)
    const t = new Tensor(this, this.claim(name), this.float, [...shape], "param")
    this.inputs.push(t)
    this.params.push({
      name,
      shape: [...shape],
      dtype: this.float,
      init: options.init ?? zeroInit,
      trainable: options.trainable ?? true,
      decay: options.decay ?? shape.length >= 2
    })
    return t
  }

  /** A constant tensor stored in the model (ONNX initializer). Identical constants are shared. */
  constant(data: TensorData, shape: Shape, dtype: DType = dtypeOf(data)): Tensor {
    checkShape("constant", shape)
    if (data.length !== sizeOf(shape)) {
      throw new ShapeMismatch({ op: "constant", detail: `data has ${data.length} elements`, shapes: [fmt(shape)] })
    }
    if (dtypeOf(data) !== dtype && !(dtype === "bool" && data instanceof Uint8Array)) {
      throw new InvalidGraph({ detail: `constant data is ${dtypeOf(data)} but dtype ${dtype} was requested` })
    }
    const key =
      data.length <= 16 ? `${dtype}${fmt(shape)}${Array.from(data as ArrayLike<number | bigint>).join(",")}` : undefined
    const cached = key === undefined ? undefined : this.constCache.get(key)
    if (cached !== undefined) return cached
    const t = new Tensor(this, this.fresh("const"), dtype, [...shape], "constant")
    this.constants.push({ tensor: t, data })
    this.constData.set(t, data)
    if (key !== undefined) this.constCache.set(key, t)
    return t
  }

  /** A scalar constant (default: the graph's float type). */
  scalar(value: number, dtype: DType = this.float): Tensor {
    return this.constant(arrayOf(dtype, [value]), [], dtype)
  }

  /** An int64 vector constant (axes, shapes, pads, split sizes). */
  int64s(values: ReadonlyArray<number>): Tensor {
    return this.constant(
      BigInt64Array.from(values, (v) => BigInt(v)),
      [values.length],
      "int64"
    )
  }

  /** Append a node; returns its outputs. Ops call this after checking shapes. */
  addNode(
    op: string,
    inputs: ReadonlyArray<Tensor | undefined>,
    outs: ReadonlyArray<{ readonly dtype: DType; readonly shape: Shape }>,
    attrs: Readonly<Record<string, Attr>> = {},
    extra: { readonly domain?: string; readonly stopGradient?: boolean } = {}
  ): Array<Tensor> {
    for (const t of inputs) if (t !== undefined) this.own(op, t)
    const outputs = outs.map((o) => new Tensor(this, this.fresh(op), o.dtype, [...o.shape], "node"))
    const node: Node = {
      op,
      domain: extra.domain ?? "",
      inputs,
      outputs,
      attrs,
      ...(extra.stopGradient === true ? { stopGradient: true } : {})
    }
    this.current().push(node)
    for (const o of outputs) o.unit = node
    return outputs
  }

  /**
   * A composite op: `build` appends the forward expansion and returns its outputs and a gradient rule.
   * Autodiff uses the rule instead of differentiating the expansion (e.g. RMSNorm, log-softmax).
   */
  composite(
    op: string,
    inputs: ReadonlyArray<Tensor>,
    build: () => { readonly outputs: ReadonlyArray<Tensor>; readonly grad: CompositeGrad }
  ): ReadonlyArray<Tensor> {
    for (const t of inputs) this.own(op, t)
    const body: Array<Node> = []
    this.scopes.push(body)
    let result: { readonly outputs: ReadonlyArray<Tensor>; readonly grad: CompositeGrad }
    try {
      result = build()
    } finally {
      this.scopes.pop()
    }
    const node: Node = { op, domain: "", inputs, outputs: result.outputs, attrs: {}, body, grad: result.grad }
    this.current().push(node)
    for (const o of result.outputs) o.unit = node
    return result.outputs
  }

  /**
   * Run `build` and return the nodes it appended (top-level units: a composite counts as one node), which stay in
   * the graph where they would have gone anyway. Used to differentiate a sub-graph built inside a gradient rule.
   */
  capture<A>(build: () => A): { readonly value: A; readonly nodes: ReadonlyArray<Node> } {
    const nodes: Array<Node> = []
    this.scopes.push(nodes)
    let value: A
    try {
      value = build()
    } finally {
      this.scopes.pop()
    }
    this.current().push(...nodes)
    return { value, nodes }
  }

  /** Mark a tensor as a named graph output. */
  output(name: string, tensor: Tensor): void {
    this.own("output", tensor)
    this.claim(name)
    this.outputs.push({ name, tensor })
  }

  /** The data of a constant tensor (undefined for non-constants). */
  constantValue(t: Tensor): TensorData | undefined {
    return this.constData.get(t)
  }

  /** The tensor of a named input or param. */
  inputNamed(name: string): Tensor | undefined {
    return this.inputs.find((t) => t.name === name)
  }

  /** The spec of a named param. */
  paramNamed(name: string): ParamSpec | undefined {
    return this.params.find((p) => p.name === name)
  }

  private current(): Array<Node> {
    return this.scopes[this.scopes.length - 1] ?? this.nodes
  }

  private own(op: string, t: Tensor): void {
    if (t.graph !== this) {
      throw new InvalidGraph({
        detail: `${op}: tensor ${t.name} belongs to graph "${t.graph.name}", not "${this.name}"`
      })
    }
  }
}

/** A new empty graph. `float` is the type of params and number literals (default float32). */
export const make = (name = "graph", options: { readonly float?: FloatType } = {}): Graph =>
  new Graph(name, options.float ?? "float32")

/** True for float32/float64. */
export const isFloat = (dtype: DType): dtype is FloatType => dtype === "float32" || dtype === "float64"

/** The dtype a typed array carries (Uint8Array means bool). */
export const dtypeOf = (data: TensorData): DType =>
  data instanceof Float32Array
    ? "float32"
    : data instanceof Float64Array
      ? "float64"
      : data instanceof Int32Array
        ? "int32"
        : data instanceof BigInt64Array
          ? "int64"
          : "bool"

/** A typed array of a dtype from plain numbers. */
export const arrayOf = (dtype: DType, values: ArrayLike<number>): TensorData => {
  switch (dtype) {
    case "float32":
      return Float32Array.from(values)
    case "float64":
      return Float64Array.from(values)
    case "int32":
      return Int32Array.from(values)
    case "int64":
      return BigInt64Array.from(Array.from(values), (v) => BigInt(v))
    case "bool":
      return Uint8Array.from(values, (v) => (v ? 1 : 0))
  }
}

const checkShape = (op: string, shape: Shape): void => {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ShapeMismatch({ op, detail: "dimensions must be non-negative integers", shapes: [fmt(shape)] })
  }
}
