/**
 * Primitive math ops (standard ONNX, opset 17): broadcasting arithmetic, unary functions, comparisons,
 * matrix products, reductions and softmax. Every op checks dtypes and shapes at build time. Binary ops
 * accept a JS number for either operand; it becomes a scalar constant of the other operand's dtype.
 */
import type { DType, Tensor } from "./Graph.ts"
import { fmt, InvalidGraph, isFloat, ShapeMismatch } from "./Graph.ts"
import { broadcast, normAxes, normAxis, reducedShape, shapesOf } from "./internal/shapes.ts"

/** A tensor or a number literal. */
export type Operand = Tensor | number

const lift = (op: string, a: Operand, b: Operand): [Tensor, Tensor] => {
  if (typeof a === "number" && typeof b === "number")
    throw new InvalidGraph({ detail: `${op}: at least one operand must be a tensor` })
  const ta = typeof a === "number" ? (b as Tensor).graph.scalar(a, (b as Tensor).dtype) : a
  const tb = typeof b === "number" ? ta.graph.scalar(b, ta.dtype) : b
  if (ta.dtype !== tb.dtype) {
    throw new InvalidGraph({
      detail: `${op}: dtypes differ (${ta.toString()} vs ${tb.toString()})`,
      fix: "insert Ops.cast"
    })
  }
  return [ta, tb]
}

const requireFloat = (op: string, x: Tensor): void => {
  if (!isFloat(x.dtype)) throw new InvalidGraph({ detail: `${op}: needs a float tensor, got ${x.toString()}` })
}

const binary = (op: string, a: Operand, b: Operand, outType?: DType): Tensor => {
  const [ta, tb] = lift(op, a, b)
  const shape = broadcast(op, ta.shape, tb.shape)
  return ta.graph.addNode(op, [ta, tb], [{ dtype: outType ?? ta.dtype, shape }])[0]!
}

const unary = (op: string, x: Tensor, float = true): Tensor => {
  if (float) requireFloat(op, x)
  return x.graph.addNode(op, [x], [{ dtype: x.dtype, shape: x.shape }])[0]!
}

/** a + b (broadcasting). */
export const add = (a: Operand, b: Operand): Tensor => binary("Add", a, b)
/** a - b (broadcasting). */
export const sub = (a: Operand, b: Operand): Tensor => binary("Sub", a, b)
/** a * b (broadcasting). */
export const mul = (a: Operand, b: Operand): Tensor => binary("Mul", a, b)
/** a / b (broadcasting). */
export const div = (a: Operand, b: Operand): Tensor => binary("Div", a, b)
/** a ^ b (broadcasting, float). */
export const pow = (a: Operand, b: Operand): Tensor => binary("Pow", a, b)
/** Elementwise maximum of two tensors (broadcasting). */
export const max = (a: Operand, b: Operand): Tensor => binary("Max", a, b)
/** Elementwise minimum of two tensors (broadcasting). */
export const min = (a: Operand, b: Operand): Tensor => binary("Min", a, b)

/** -x. */
export const neg = (x: Tensor): Tensor => unary("Neg", x, false)
/** √x. */
export const sqrt = (x: Tensor): Tensor => unary("Sqrt", x)
/** eˣ. */
export const exp = (x: Tensor): Tensor => unary("Exp", x)
/** ln x. */
export const log = (x: Tensor): Tensor => unary("Log", x)
/** 1/x. */
export const reciprocal = (x: Tensor): Tensor => unary("Reciprocal", x)
/** σ(x) = 1/(1+e⁻ˣ). */
export const sigmoid = (x: Tensor): Tensor => unary("Sigmoid", x)
/** tanh x. */
export const tanh = (x: Tensor): Tensor => unary("Tanh", x)
/**
 * erf x. ORT's CPU Erf kernel is float32-only, so a float64 erf evaluates in float32 (about 1e-7 relative
 * error) inside a composite whose backward, 2/√π·exp(−x²), stays in float64.
 */
export const erf = (x: Tensor): Tensor => {
  if (x.dtype !== "float64") return unary("Erf", x)
  return x.graph.composite("Erf64", [x], () => ({
    outputs: [cast(unary("Erf", cast(x, "float32")), "float64")],
    grad: ([d]) => [d === undefined ? undefined : mul(d, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]
  }))[0]!
}
/** max(x, 0). */
export const relu = (x: Tensor): Tensor => unary("Relu", x)
/** |x|. */
export const abs = (x: Tensor): Tensor => unary("Abs", x, false)
/** x (a copy in the graph). */
export const identity = (x: Tensor): Tensor => unary("Identity", x, false)

/** x with gradients stopped: autodiff treats the result as a constant. */
export const detach = (x: Tensor): Tensor =>
  x.graph.addNode("Identity", [x], [{ dtype: x.dtype, shape: x.shape }], {}, { stopGradient: true })[0]!

/** min(max(x, lo), hi) with number bounds (either may be omitted). */
export const clip = (x: Tensor, lo: number | undefined, hi: number | undefined): Tensor => {
  requireFloat("Clip", x)
  const g = x.graph
  return g.addNode(
    "Clip",
    [x, lo === undefined ? undefined : g.scalar(lo, x.dtype), hi === undefined ? undefined : g.scalar(hi, x.dtype)],
    [
      {
        dtype: x.dtype,
        shape: x.shape
      }
    ]
  )[0]!
}

/** Convert element type. */
export const cast = (x: Tensor, to: DType): Tensor => {
  if (x.dtype === to) return x
  const code = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 }[to]
  return x.graph.addNode("Cast", [x], [{ dtype: to, shape: x.shape }], { to: { i: code } })[0]!
}

/** a == b → bool (broadcasting). */
export const equal = (a: Operand, b: Operand): Tensor => binary("Equal", a, b, "bool")
/** a < b → bool. */
export const less = (a: Operand, b: Operand): Tensor => binary("Less", a, b, "bool")
/** a > b → bool. */
export const greater = (a: Operand, b: Operand): Tensor => binary("Greater", a, b, "bool")
/** a <= b → bool. */
export const lessOrEqual = (a: Operand, b: Operand): Tensor => binary("LessOrEqual", a, b, "bool")
/** a >= b → bool. */
export const greaterOrEqual = (a: Operand, b: Operand): Tensor => binary("GreaterOrEqual", a, b, "bool")
/** Logical and of bool tensors. */
export const and = (a: Tensor, b: Tensor): Tensor => binary("And", a, b)
/** Logical not. */
export const not = (x: Tensor): Tensor => unary("Not", x, false)

/** cond ? a : b elementwise (all three broadcast). */
export const where = (cond: Tensor, a: Operand, b: Operand): Tensor => {
  if (cond.dtype !== "bool") throw new InvalidGraph({ detail: `Where: condition must be bool, got ${cond.toString()}` })
  const [ta, tb] = lift("Where", a, b)
  const shape = broadcast("Where", cond.shape, ta.shape, tb.shape)
  return cond.graph.addNode("Where", [cond, ta, tb], [{ dtype: ta.dtype, shape }])[0]!
}

/** Batched matrix product: `[..., m, k] x [..., k, n] → [..., m, n]` with broadcast batch dims (rank ≥ 2). */
export const matmul = (a: Tensor, b: Tensor): Tensor => {
  const [ta, tb] = lift("MatMul", a, b)
  if (ta.rank < 2 || tb.rank < 2) {
    throw new ShapeMismatch({
      op: "MatMul",
      detail: "operands must have rank >= 2 (unsqueeze vectors first)",
      shapes: shapesOf(ta, tb)
    })
  }
  const k = ta.shape[ta.rank - 1]!
  if (tb.shape[tb.rank - 2] !== k)
    throw new ShapeMismatch({ op: "MatMul", detail: "inner dimensions differ", shapes: shapesOf(ta, tb) })
  const batch = broadcast("MatMul", ta.shape.slice(0, -2), tb.shape.slice(0, -2))
  const shape = [...batch, ta.shape[ta.rank - 2]!, tb.shape[tb.rank - 1]!]
  return ta.graph.addNode("MatMul", [ta, tb], [{ dtype: ta.dtype, shape }])[0]!
}

/** Options of `gemm`. */
export interface GemmOptions {
  readonly transA?: boolean
  readonly transB?: boolean
  readonly alpha?: number
  readonly beta?: number
}

/** alpha·op(A)·op(B) + beta·C for 2-D A, B; C broadcasts to `[m, n]`. */
export const gemm = (a: Tensor, b: Tensor, c?: Tensor, options: GemmOptions = {}): Tensor => {
  const [ta, tb] = lift("Gemm", a, b)
  if (ta.rank !== 2 || tb.rank !== 2)
    throw new ShapeMismatch({ op: "Gemm", detail: "A and B must be 2-D", shapes: shapesOf(ta, tb) })
  const [m, ka] = options.transA === true ? [ta.shape[1], ta.shape[0]] : [ta.shape[0], ta.shape[1]]
  const [kb, n] = options.transB === true ? [tb.shape[1], tb.shape[0]] : [tb.shape[0], tb.shape[1]]
  if (ka !== kb)
    throw new ShapeMismatch({
      op: "Gemm",
      detail: `inner dimensions differ (transA=${options.transA === true}, transB=${options.transB === true})`,
      shapes: shapesOf(ta, tb)
    })
  const shape = [m as number, n as number]
  if (c !== undefined) {
    const out = broadcast("Gemm", c.shape, shape)
    if (out.length !== 2 || out[0] !== m || out[1] !== n)
      throw new ShapeMismatch({ op: "Gemm", detail: "C must broadcast to [m, n]", shapes: shapesOf(ta, tb, c) })
  }
  return ta.graph.addNode("Gemm", c === undefined ? [ta, tb] : [ta, tb, c], [{ dtype: ta.dtype, shape }], {
    alpha: { f: options.alpha ?? 1 },
    beta: { f: options.beta ?? 1 },
    transA: { i: options.transA === true ? 1 : 0 },
    transB: { i: options.transB === true ? 1 : 0 }
  })[0]!
}

const reduce = (
  op: "ReduceSum" | "ReduceMean" | "ReduceMax",
  x: Tensor,
  axes: ReadonlyArray<number> | undefined,
  keepdims: boolean
): Tensor => {
  if (x.rank === 0) return x
  const ax = axes === undefined ? x.shape.map((_, i) => i) : normAxes(op, axes, x.rank, x.shape)
  if (ax.length === 0) return x
  const shape = reducedShape(x.shape, ax, keepdims)
  const g = x.graph
  // Opset 17: ReduceSum takes axes as an int64 input; ReduceMean/ReduceMax as an attribute.
  if (op === "ReduceSum")
    return g.addNode(op, [x, g.int64s(ax)], [{ dtype: x.dtype, shape }], {
      keepdims: { i: keepdims ? 1 : 0 }
    })[0]!
  return g.addNode(op, [x], [{ dtype: x.dtype, shape }], {
    axes: { ints: ax },
    keepdims: { i: keepdims ? 1 : 0 }
  })[0]!
}

/** Sum over `axes` (default all). */
export const reduceSum = (x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor =>
  reduce("ReduceSum", x, axes, keepdims)
/** Mean over `axes` (default all). */
export const reduceMean = (x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor =>
  reduce("ReduceMean", x, axes, keepdims)
/** Max over `axes` (default all); the gradient is split evenly between ties. */
export const reduceMax = (x: Tensor, axes?: ReadonlyArray<number>, keepdims = false): Tensor =>
  reduce("ReduceMax", x, axes, keepdims)

/** Softmax along one axis (default last). */
export const softmax = (x: Tensor, axis = -1): Tensor => {
  requireFloat("Softmax", x)
  const a = normAxis("Softmax", axis, x.rank, x.shape)
  return x.graph.addNode("Softmax", [x], [{ dtype: x.dtype, shape: x.shape }], { axis: { i: a } })[0]!
}

/** x², as x·x (cheaper and exact in the backward pass). */
export const square = (x: Tensor): Tensor => mul(x, x)

/** Shape check helper for user code: throws a ShapeMismatch unless `x` has exactly `shape`. */
export const expectShape = (op: string, x: Tensor, shape: ReadonlyArray<number>): Tensor => {
  if (x.rank !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeMismatch({ op, detail: `expected ${fmt(shape)}`, shapes: [fmt(x.shape)] })
  }
  return x
}
