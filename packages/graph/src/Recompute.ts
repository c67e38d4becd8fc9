/**
 * Activation recomputation (gradient checkpointing): a block of the forward whose intermediates are not kept for the
 * backward. Its gradient rule builds the block's forward a second time from the block's saved inputs and
 * differentiates that copy, so between the forward and the block's backward only the inputs stay alive.
 */
import { backward } from "./Autodiff.ts"
import type { Node, Tensor } from "./Graph.ts"
import { InvalidGraph, isFloat } from "./Graph.ts"
import * as L from "./Layout.ts"
import * as O from "./Ops.ts"

/**
 * A zero of dtype `dtype` computed from one element of `dep` (`0 · dep[0, …, 0]`). ONNX has no control edges; a value
 * that depends on `dep` cannot run before it, and ONNX Runtime's common-subexpression elimination cannot merge what
 * consumes it with the original forward (the inputs differ). A NaN or ±Inf in `dep` spreads, but `dep` is the output
 * gradient of the same step, so the step is non-finite either way.
 */
const zeroAfter = (dep: Tensor, dtype: Tensor["dtype"]): Tensor => {
  let one = dep
  for (let a = 0; a < dep.rank; a++) one = L.slice(one, a, 0, 1)
  const zero = O.mul(L.reshape(one, []), 0)
  return zero.dtype === dtype ? zero : O.cast(zero, dtype)
}

/** Throw when the block's nodes read a float tensor from outside that is neither a constant nor one of `inputs`. */
const checkCaptures = (op: string, inputs: ReadonlyArray<Tensor>, nodes: ReadonlyArray<Node>): void => {
  const inside = new Set<Tensor>(inputs)
  const visit = (ns: ReadonlyArray<Node>): void => {
    for (const n of ns) {
      if (n.body !== undefined) visit(n.body)
      for (const t of n.inputs) {
        if (t === undefined || inside.has(t) || t.kind === "constant" || !isFloat(t.dtype)) continue
        throw new InvalidGraph({
          detail: `Recompute.checkpoint(${op}): the block reads ${t.toString()} from outside`,
          fix: "pass every param and activation the block uses in its inputs (only constants and int/bool tensors may be captured)"
        })
      }
      for (const o of n.outputs) inside.add(o)
    }
  }
  visit(nodes)
}

/**
 * `fn(inputs)` as a composite `op` whose backward recomputes it. Forward: `fn` as written. Backward: every float input
 * that is an activation (a node output or a data input, not a param or constant) gets a zero added that is computed
 * from the block's output gradient, `fn` runs again on those copies (params and constants as they are), and reverse
 * mode over the nodes of that second run turns the output gradients into the input gradients. The added zero does two
 * things: ONNX Runtime cannot run the recomputation before the block's output gradient exists (so it does not keep
 * it alive from the forward on), and its common-subexpression elimination cannot fold the copy back into the
 * original forward (which would keep every intermediate alive again and silently undo the saving).
 *
 * Costs one more forward of the block per step. `fn` must be pure graph building (no outputs, no param
 * declarations), must use its argument tensors rather than captured activations, and must build the same graph each
 * time it is called. Every float tensor it uses from outside (params, data inputs, activations) must be one of
 * `inputs`, or its gradient through the block would be lost: a captured one is an `InvalidGraph` error. Constants and
 * int/bool tensors (ids, masks, shapes) may be captured.
 */
export const checkpoint = (
  op: string,
  inputs: ReadonlyArray<Tensor>,
  fn: (xs: ReadonlyArray<Tensor>) => ReadonlyArray<Tensor>
): ReadonlyArray<Tensor> => {
  const g = inputs[0]?.graph
  if (g === undefined)
    throw new InvalidGraph({
      detail: `Recompute.checkpoint(${op}): no inputs`,
      fix: "pass the block's activations and params as inputs"
    })
  return g.composite(op, inputs, () => {
    const captured = g.capture(() => fn(inputs))
    const outputs = captured.value
    checkCaptures(op, inputs, captured.nodes)
    return {
      outputs,
      grad: (dys, needs, options) => {
        const dep = dys.find((d) => d !== undefined)
        if (dep === undefined || !needs.some((b) => b)) return inputs.map(() => undefined)
        const zeros = new Map<string, Tensor>()
        const zeroOf = (dtype: Tensor["dtype"]) => {
          const hit = zeros.get(dtype)
          if (hit !== undefined) return hit
          const z = zeroAfter(dep, dtype)
          zeros.set(dtype, z)
          return z
        }
        const copies = inputs.map((x) =>
          isFloat(x.dtype) && (x.kind === "node" || x.kind === "input") ? O.add(x, zeroOf(x.dtype)) : x
        )
        const again = g.capture(() => fn(copies))
        if (again.value.length !== outputs.length) {
          throw new InvalidGraph({
            detail: `Recompute.checkpoint(${op}): the recomputation returned ${again.value.length} outputs, the forward ${outputs.length}`,
            fix: "fn must build the same graph every time"
          })
        }
        const seeds = again.value.flatMap((y, j) => {
          const d = dys[j]
          return d === undefined ? [] : [[y, d] as const]
        })
        const roots = copies.filter((_, i) => needs[i] === true)
        const grads = backward(again.nodes, roots, seeds, options.embedding)
        return copies.map((x, i) => (needs[i] === true ? grads.get(x) : undefined))
      }
    }
  })
}
