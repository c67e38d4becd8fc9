/**
 * Per-op reverse-mode rules in standard ONNX ops only (onnxruntime-node has no *Grad kernels). Each rule
 * maps output gradients to input gradients; broadcasting is undone with ReduceSum + Reshape.
 */
import type { Node, Tensor } from "../Graph.ts"
import { InvalidGraph, isFloat } from "../Graph.ts"
import * as L from "../Layout.ts"
import * as O from "../Ops.ts"
import { unbroadcastAxes } from "./shapes.ts"

/** How the embedding (Gather) gradient is formed. */
export type EmbeddingGrad = "scatter" | "matmul"

/** Rule input. */
export interface RuleContext {
  readonly node: Node
  readonly dys: ReadonlyArray<Tensor | undefined>
  readonly needs: ReadonlyArray<boolean>
  readonly embedding: EmbeddingGrad
}

type Rule = (c: RuleContext) => ReadonlyArray<Tensor | undefined>

const inp = (c: RuleContext, i: number): Tensor => c.node.inputs[i]!
const out = (c: RuleContext, i = 0): Tensor => c.node.outputs[i]!
const dy = (c: RuleContext, i = 0): Tensor => c.dys[i] ?? L.zeros(out(c, i))
const intAttr = (n: Node, name: string, dflt: number): number => {
  const a = n.attrs[name]
  return a !== undefined && "i" in a ? a.i : dflt
}
const intsAttr = (n: Node, name: string): ReadonlyArray<number> => {
  const a = n.attrs[name]
  return a !== undefined && "ints" in a ? a.ints : []
}
const constInts = (t: Tensor): Array<number> => {
  const data = t.graph.constantValue(t)
  if (data === undefined)
    throw new InvalidGraph({ detail: `${t.name} must be a constant to differentiate through its consumer` })
  return Array.from(data as ArrayLike<number | bigint>, (v) => Number(v))
}

/** Sum `d` (shape of a broadcast result) back down to `shape`. */
export const unbroadcast = (d: Tensor, shape: ReadonlyArray<number>): Tensor => {
  const axes = unbroadcastAxes(d.shape, shape)
  return L.reshape(axes.length > 0 ? O.reduceSum(d, axes, true) : d, shape)
}

const both = (c: RuleContext, da: () => Tensor, db: () => Tensor): Array<Tensor | undefined> => [
  c.needs[0] === true ? unbroadcast(da(), inp(c, 0).shape) : undefined,
  c.needs[1] === true ? unbroadcast(db(), inp(c, 1).shape) : undefined
]

const matmulGrad: Rule = (c) => {
  const a = inp(c, 0)
  const b = inp(c, 1)
  const d = dy(c)
  const k = a.shape[a.rank - 1]!
  const n = b.shape[b.rank - 1]!
  if (b.rank === 2) {
    // [.., m, k] x [k, n]: flatten the batch into rows and use Gemm with transposed operands.
    const d2 = L.reshape(d, [-1, n])
    return [
      c.needs[0] === true ? L.reshape(O.gemm(d2, b, undefined, { transB: true }), a.shape) : undefined,
      c.needs[1] === true ? O.gemm(L.reshape(a, [-1, k]), d2, undefined, { transA: true }) : undefined
    ]
  }
  return both(
    c,
    () => O.matmul(d, L.transposeLast2(b)),
    () => O.matmul(L.transposeLast2(a), d)
  )
}

const gemmGrad: Rule = (c) => {
  const [a, b] = [inp(c, 0), inp(c, 1)]
  const d = dy(c)
  const ta = intAttr(c.node, "transA", 0) === 1
  const tb = intAttr(c.node, "transB", 0) === 1
  const fa = c.node.attrs["alpha"]
  const fb = c.node.attrs["beta"]
  const alpha = fa !== undefined && "f" in fa ? fa.f : 1
  const beta = fb !== undefined && "f" in fb ? fb.f : 1
  const g = (x: Tensor, y: Tensor, transA: boolean, transB: boolean) =>
    O.gemm(x, y, undefined, { transA, transB, alpha })
  const da = !ta ? g(d, b, false, !tb) : tb ? g(b, d, true, true) : g(b, d, false, true)
  const db = !tb ? (ta ? g(a, d, false, false) : g(a, d, true, false)) : ta ? g(d, a, true, true) : g(d, a, true, false)
  const cIn = c.node.inputs[2]
  return [
    c.needs[0] === true ? da : undefined,
    c.needs[1] === true ? db : undefined,
    c.needs[2] === true && cIn !== undefined ? unbroadcast(beta === 1 ? d : O.mul(d, beta), cIn.shape) : undefined
  ]
}

const reduceGrad =
  (kind: "sum" | "mean" | "max"): Rule =>
  (c) => {
    const x = inp(c, 0)
    const keep = intAttr(c.node, "keepdims", 1) === 1
    const axes =
      kind === "sum"
        ? constInts(inp(c, 1)).map((a) => (a < 0 ? a + x.rank : a))
        : intsAttr(c.node, "axes").map((a) => (a < 0 ? a + x.rank : a))
    const kdShape = x.shape.map((v, i) => (axes.includes(i) ? 1 : v))
    const d = keep ? dy(c) : L.reshape(dy(c), kdShape)
    if (kind === "sum") return [L.expand(d, x.shape)]
    if (kind === "mean") {
      const count = axes.reduce((s, a) => s * x.shape[a]!, 1)
      return [L.expand(O.mul(d, 1 / count), x.shape)]
    }
    const y = keep ? out(c) : L.reshape(out(c), kdShape)
    const mask = O.cast(O.equal(x, y), x.dtype)
    const ties = O.reduceSum(mask, axes, true)
    return [O.mul(mask, O.div(d, ties))]
  }

const unaryRules: Record<string, (x: Tensor, y: Tensor, d: Tensor) => Tensor> = {
  Neg: (_x, _y, d) => O.neg(d),
  Identity: (_x, _y, d) => d,
  Sqrt: (_x, y, d) => O.div(O.mul(d, 0.5), y),
  Exp: (_x, y, d) => O.mul(d, y),
  Log: (x, _y, d) => O.div(d, x),
  Reciprocal: (_x, y, d) => O.neg(O.mul(d, O.mul(y, y))),
  Sigmoid: (_x, y, d) => O.mul(d, O.mul(y, O.sub(1, y))),
  Tanh: (_x, y, d) => O.mul(d, O.sub(1, O.mul(y, y))),
  Erf: (x, _y, d) => O.mul(d, O.mul(O.exp(O.neg(O.mul(x, x))), 2 / Math.sqrt(Math.PI))),
  Relu: (x, _y, d) => O.where(O.greater(x, 0), d, 0),
  Abs: (x, _y, d) => O.where(O.less(x, 0), O.neg(d), d)
}

const powGrad: Rule = (c) => {
  const [a, b] = [inp(c, 0), inp(c, 1)]
  const d = dy(c)
  const bv = b.graph.constantValue(b)
  const bMinus1 = bv !== undefined && bv.length === 1 ? b.graph.scalar(Number(bv[0]) - 1, b.dtype) : O.sub(b, 1)
  return both(
    c,
    () => O.mul(O.mul(d, b), O.pow(a, bMinus1)),
    () => O.mul(O.mul(d, out(c)), O.log(a))
  )
}

const pickGrad =
  (takeA: (a: Tensor, b: Tensor) => Tensor): Rule =>
  (c) => {
    const cond = takeA(inp(c, 0), inp(c, 1))
    return both(
      c,
      () => O.where(cond, dy(c), 0),
      () => O.where(cond, 0, dy(c))
    )
  }

const gatherGrad: Rule = (c) => {
  if (c.needs[0] !== true) return []
  const [data, idx] = [inp(c, 0), inp(c, 1)]
  if (intAttr(c.node, "axis", 0) !== 0)
    throw new InvalidGraph({
      detail: "Gather: gradients are implemented for axis 0 only",
      fix: "transpose so the gathered axis is first"
    })
  const rows = idx.size
  const width = data.size / data.shape[0]!
  const d2 = L.reshape(dy(c), [rows, width])
  const flatIdx = L.reshape(idx, [rows, 1])
  const grad =
    c.embedding === "matmul"
      ? O.gemm(L.oneHot(L.reshape(idx, [rows]), data.shape[0]!, data.dtype), d2, undefined, { transA: true })
      : L.scatterElements(L.zeros(data, [data.shape[0]!, width]), L.expand(flatIdx, [rows, width]), d2, 0, true)
  return [L.reshape(grad, data.shape)]
}

const rules: Record<string, Rule> = {
  Add: (c) =>
    both(
      c,
      () => dy(c),
      () => dy(c)
    ),
  Sub: (c) =>
    both(
      c,
      () => dy(c),
      () => O.neg(dy(c))
    ),
  Mul: (c) =>
    both(
      c,
      () => O.mul(dy(c), inp(c, 1)),
      () => O.mul(dy(c), inp(c, 0))
    ),
  Div: (c) =>
    both(
      c,
      () => O.div(dy(c), inp(c, 1)),
      () => O.neg(O.div(O.mul(dy(c), out(c)), inp(c, 1)))
    ),
  Pow: powGrad,
  Max: pickGrad((a, b) => O.greaterOrEqual(a, b)),
  Min: pickGrad((a, b) => O.lessOrEqual(a, b)),
  MatMul: matmulGrad,
  Gemm: gemmGrad,
  ReduceSum: reduceGrad("sum"),
  ReduceMean: reduceGrad("mean"),
  ReduceMax: reduceGrad("max"),
  Softmax: (c) => {
    const y = out(c)
    const axis = intAttr(c.node, "axis", -1)
    const d = dy(c)
    return [O.mul(y, O.sub(d, O.reduceSum(O.mul(d, y), [axis], true)))]
  },
  Clip: (c) => {
    const x = inp(c, 0)
    const [lo, hi] = [c.node.inputs[1], c.node.inputs[2]]
    let keep: Tensor | undefined
    if (lo !== undefined) keep = O.greaterOrEqual(x, lo)
    if (hi !== undefined) keep = keep === undefined ? O.lessOrEqual(x, hi) : O.and(keep, O.lessOrEqual(x, hi))
    return [keep === undefined ? dy(c) : O.where(keep, dy(c), 0)]
  },
  Where: (c) => {
    const cond = inp(c, 0)
    return [
      undefined,
      ...both(
        { ...c, needs: c.needs.slice(1), node: { ...c.node, inputs: c.node.inputs.slice(1) } },
        () => O.where(cond, dy(c), 0),
        () => O.where(cond, 0, dy(c))
      )
    ]
  },
  Cast: (c) => [isFloat(inp(c, 0).dtype) ? O.cast(dy(c), inp(c, 0).dtype) : undefined],
  Reshape: (c) => [L.reshape(dy(c), inp(c, 0).shape)],
  Squeeze: (c) => [L.reshape(dy(c), inp(c, 0).shape)],
  Unsqueeze: (c) => [L.reshape(dy(c), inp(c, 0).shape)],
  Expand: (c) => [unbroadcast(dy(c), inp(c, 0).shape)],
  Transpose: (c) => {
    const perm = intsAttr(c.node, "perm")
    const inv = perm.map((_, i) => perm.indexOf(i))
    return [L.transpose(dy(c), inv)]
  },
  Concat: (c) => {
    const axis = intAttr(c.node, "axis", 0)
    const sizes = c.node.inputs.map((t) => (t as Tensor).shape[axis]!)
    const parts = L.split(dy(c), axis, sizes)
    return parts.map((p, i) => (c.needs[i] === true ? p : undefined))
  },
  Split: (c) => {
    const axis = intAttr(c.node, "axis", 0)
    return [
      L.concat(
        c.node.outputs.map((_, i) => dy(c, i)),
        axis
      )
    ]
  },
  Slice: (c) => {
    const x = inp(c, 0)
    const [starts, ends, axes] = [constInts(inp(c, 1)), constInts(inp(c, 2)), constInts(inp(c, 3))]
    const steps = c.node.inputs[4]
    if (steps !== undefined && constInts(steps).some((s) => s !== 1))
      throw new InvalidGraph({ detail: "Slice: gradients need step 1" })
    const before = x.shape.map(() => 0)
    const after = x.shape.map(() => 0)
    axes.forEach((a, i) => {
      const n = x.shape[a]!
      before[a] = starts[i]!
      after[a] = n - ends[i]!
    })
    return [L.pad(dy(c), before, after)]
  },
  Pad: (c) => {
    const x = inp(c, 0)
    const pads = constInts(inp(c, 1))
    let d = dy(c)
    x.shape.forEach((n, a) => {
      d = L.slice(d, a, pads[a]!, pads[a]! + n)
    })
    return [d]
  },
  Gather: gatherGrad,
  GatherElements: (c) => {
    const [data, idx] = [inp(c, 0), inp(c, 1)]
    return [L.scatterElements(L.zeros(data), idx, dy(c), intAttr(c.node, "axis", 0), true)]
  }
}

/** Input gradients of one node (primitive or composite). */
export const apply = (c: RuleContext): ReadonlyArray<Tensor | undefined> => {
  const { node } = c
  if (node.grad !== undefined) return node.grad(c.dys, c.needs, { embedding: c.embedding })
  const un = unaryRules[node.op]
  if (un !== undefined) return [un(inp(c, 0), out(c), dy(c))]
  const rule = rules[node.op]
  if (rule === undefined)
    throw new InvalidGraph({
      detail: `no gradient rule for op ${node.op}`,
      fix: "detach its inputs or express it with differentiable ops"
    })
  return rule(c)
}
