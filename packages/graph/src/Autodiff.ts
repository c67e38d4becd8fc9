/**
 * Reverse-mode automatic differentiation over the builder: `grad(loss, params)` appends the backward
 * graph in standard ONNX ops and returns one gradient tensor per requested tensor. Gradients of a value
 * used several times are summed with `Add` (variadic `Sum` has no WebGPU kernel).
 */
import type { Node, Tensor } from "./Graph.ts"
import { InvalidGraph, isFloat } from "./Graph.ts"
import * as L from "./Layout.ts"
import * as O from "./Ops.ts"
import type { EmbeddingGrad } from "./internal/rules.ts"
import { apply } from "./internal/rules.ts"

export type { EmbeddingGrad } from "./internal/rules.ts"

/** Options for `grad`. */
export interface GradOptions {
  /** dLoss/dloss seed with the loss's shape (default: ones). Use a scalar input to weight micro-batches. */
  readonly seed?: Tensor
  /** Embedding (Gather) gradient: `scatter` = ScatterElements add (default), `matmul` = one-hot Gemm (deterministic). */
  readonly embedding?: EmbeddingGrad
}

/**
 * Append d(loss)/d(wrt[i]) for each tensor in `wrt` (params or float inputs). A tensor that does not
 * influence the loss gets a zero gradient. `loss` is usually a scalar `[]`.
 */
export const grad = (loss: Tensor, wrt: ReadonlyArray<Tensor>, options: GradOptions = {}): Array<Tensor> => {
  const g = loss.graph
  if (!isFloat(loss.dtype)) throw new InvalidGraph({ detail: `grad: loss must be float, got ${loss.toString()}` })
  for (const t of wrt) {
    if (t.graph !== g) throw new InvalidGraph({ detail: `grad: ${t.name} is from another graph` })
    if (!isFloat(t.dtype))
      throw new InvalidGraph({ detail: `grad: cannot differentiate with respect to ${t.toString()}` })
  }
  if (
    options.seed !== undefined &&
    (options.seed.rank !== loss.rank || options.seed.shape.some((d, i) => d !== loss.shape[i]))
  ) {
    throw new InvalidGraph({
      detail: `grad: seed ${options.seed.toString()} must have the loss shape ${loss.toString()}`
    })
  }
  const grads = backward(
    g.nodes.slice(),
    wrt,
    [[loss, () => options.seed ?? L.expand(g.scalar(1, loss.dtype), loss.shape)]],
    options.embedding ?? "scatter"
  )
  return wrt.map((t) => grads.get(t) ?? L.zeros(t))
}

/**
 * Reverse mode over `units` (top-level nodes in graph order): seeds `[tensor, dTensor]` in, gradients of `roots` out
 * (absent when a root does not reach a seed; a seed may be a thunk, built only when needed). Only tensors that depend on a root get gradient nodes. `grad` runs it
 * over the whole graph; `Recompute` over the nodes of a recomputed sub-graph inside a gradient rule.
 */
export const backward = (
  units: ReadonlyArray<Node>,
  roots: ReadonlyArray<Tensor>,
  seeds: ReadonlyArray<readonly [Tensor, Tensor | (() => Tensor)]>,
  embedding: EmbeddingGrad
): Map<Tensor, Tensor> => {
  // Forward: which tensors depend on any root.
  const requires = new Set<Tensor>(roots)
  for (const n of units) {
    if (n.stopGradient === true) continue
    if (n.inputs.some((t) => t !== undefined && requires.has(t))) {
      for (const o of n.outputs) if (isFloat(o.dtype)) requires.add(o)
    }
  }
  const grads = new Map<Tensor, Tensor>()
  const accumulate = (t: Tensor, d: Tensor): void => {
    const prev = grads.get(t)
    grads.set(t, prev === undefined ? d : O.add(prev, d))
  }
  for (const [t, d] of seeds) if (requires.has(t)) accumulate(t, typeof d === "function" ? d() : d)
  for (let i = units.length - 1; i >= 0; i--) {
    const node = units[i]!
    if (node.stopGradient === true) continue
    const dys = node.outputs.map((o) => grads.get(o))
    if (dys.every((d) => d === undefined)) continue
    const needs = node.inputs.map((t) => t !== undefined && requires.has(t))
    if (!needs.some((b) => b)) continue
    const dxs = apply({ node, dys, needs, embedding })
    node.inputs.forEach((t, k) => {
      const d = dxs[k]
      if (t === undefined || needs[k] !== true || d === undefined) return
      if (d.rank !== t.rank || d.shape.some((v, j) => v !== t.shape[j]) || d.dtype !== t.dtype) {
        throw new InvalidGraph({ detail: `grad rule of ${node.op} returned ${d.toString()} for input ${t.toString()}` })
      }
      accumulate(t, d)
    })
    for (const o of node.outputs) if (!roots.includes(o)) grads.delete(o)
  }
  return grads
}
