/**
 * Static shape arithmetic shared by the ops: numpy broadcasting, axis normalization and the reduction
 * axes that undo a broadcast (for gradients).
 */
import type { Shape, Tensor } from "../Graph.ts"
import { fmt, InvalidGraph, ShapeMismatch } from "../Graph.ts"

/** Numpy-style broadcast of several shapes, or a ShapeMismatch naming the op. */
export const broadcast = (op: string, ...shapes: ReadonlyArray<Shape>): Array<number> => {
  const rank = Math.max(...shapes.map((s) => s.length))
  const out: Array<number> = []
  for (let i = 0; i < rank; i++) {
    let d = 1
    for (const s of shapes) {
      const k = s.length - rank + i
      const v = k < 0 ? 1 : s[k]!
      if (v === 1) continue
      if (d !== 1 && d !== v) {
        throw new ShapeMismatch({
          op,
          detail: `cannot broadcast dimension ${i} (${d} vs ${v})`,
          shapes: shapes.map(fmt)
        })
      }
      d = v
    }
    out.push(d)
  }
  return out
}

/** A possibly negative axis as an index in [0, rank). */
export const normAxis = (op: string, axis: number, rank: number, shape: Shape): number => {
  const a = axis < 0 ? axis + rank : axis
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new ShapeMismatch({ op, detail: `axis ${axis} out of range for rank ${rank}`, shapes: [fmt(shape)] })
  }
  return a
}

/** Sorted, de-duplicated, normalized axes. */
export const normAxes = (op: string, axes: ReadonlyArray<number>, rank: number, shape: Shape): Array<number> =>
  [...new Set(axes.map((a) => normAxis(op, a, rank, shape)))].toSorted((a, b) => a - b)

/** Axes of `from` (a broadcast result) to sum over to get back to `to`, as absolute axes of `from`. */
export const unbroadcastAxes = (from: Shape, to: Shape): Array<number> => {
  const lead = from.length - to.length
  const axes: Array<number> = []
  for (let i = 0; i < from.length; i++) {
    if (i < lead) axes.push(i)
    else if (to[i - lead] === 1 && from[i] !== 1) axes.push(i)
  }
  return axes
}

/** Shape after reducing `axes` (keepdims keeps them as 1). */
export const reducedShape = (shape: Shape, axes: ReadonlyArray<number>, keepdims: boolean): Array<number> =>
  keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i))

/** The tensors' shapes formatted for a message. */
export const shapesOf = (...ts: ReadonlyArray<Tensor>): Array<string> => ts.map((t) => fmt(t.shape))

/**
 * Throws unless `targets` holds a token id per position of `of` (`of [..., X]`, `targets [...]`, int32 or int64):
 * a ShapeMismatch with `detail` for the shape, an InvalidGraph for the dtype, both naming the op.
 */
export const checkTargets = (op: string, of: Tensor, targets: Tensor, detail: string): void => {
  if (targets.rank !== of.rank - 1 || targets.shape.some((d, i) => d !== of.shape[i])) {
    throw new ShapeMismatch({ op, detail, shapes: [fmt(of.shape), fmt(targets.shape)] })
  }
  if (targets.dtype !== "int32" && targets.dtype !== "int64")
    throw new InvalidGraph({ detail: `${op}: targets must be int32, got ${targets.toString()}` })
}
