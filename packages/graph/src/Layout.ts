/**
 * Shape and indexing ops (standard ONNX, opset 17): reshape, transpose, concat, slice, split,
 * (un)squeeze, expand, gather, gather/scatter-elements, pad and one-hot. Shapes are static, so shape
 * arguments are plain number arrays baked in as int64 initializers.
 */
import type { DType, Tensor } from "./Graph.ts"
import { fmt, InvalidGraph, ShapeMismatch, sizeOf } from "./Graph.ts"
import { broadcast, normAxes, normAxis, shapesOf } from "./internal/shapes.ts"
import { cast, equal } from "./Ops.ts"

const one = (ts: Array<Tensor>): Tensor => ts[0]!

/** Reshape to `shape`; one entry may be -1 (inferred). */
export const reshape = (x: Tensor, shape: ReadonlyArray<number>): Tensor => {
  const known = shape.filter((d) => d !== -1)
  const unknown = shape.length - known.length
  const resolved = [...shape]
  if (unknown > 1)
    throw new ShapeMismatch({ op: "Reshape", detail: "at most one -1", shapes: [fmt(x.shape), fmt(shape)] })
  if (unknown === 1) resolved[shape.indexOf(-1)] = x.size / Math.max(1, sizeOf(known))
  if (resolved.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(resolved) !== x.size) {
    throw new ShapeMismatch({ op: "Reshape", detail: "element count differs", shapes: [fmt(x.shape), fmt(shape)] })
  }
  if (resolved.length === x.rank && resolved.every((d, i) => d === x.shape[i])) return x
  return one(x.graph.addNode("Reshape", [x, x.graph.int64s(resolved)], [{ dtype: x.dtype, shape: resolved }]))
}

/** Permute axes (default: reverse). */
export const transpose = (x: Tensor, perm?: ReadonlyArray<number>): Tensor => {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i)
  if (p.length !== x.rank || p.toSorted((a, b) => a - b).some((v, i) => v !== i)) {
    throw new ShapeMismatch({
      op: "Transpose",
      detail: `perm [${p.join(",")}] is not a permutation of the axes`,
      shapes: [fmt(x.shape)]
    })
  }
  if (p.every((v, i) => v === i)) return x
  return one(
    x.graph.addNode("Transpose", [x], [{ dtype: x.dtype, shape: p.map((i) => x.shape[i]!) }], {
      perm: { ints: p }
    })
  )
}

/** Swap the last two axes (`[..., m, n] → [..., n, m]`). */
export const transposeLast2 = (x: Tensor): Tensor => {
  const perm = x.shape.map((_, i) => i)
  perm[x.rank - 2] = x.rank - 1
  perm[x.rank - 1] = x.rank - 2
  return transpose(x, perm)
}

/** Concatenate along `axis`; all other dims must agree. */
export const concat = (xs: ReadonlyArray<Tensor>, axis: number): Tensor => {
  const first = xs[0]
  if (first === undefined) throw new InvalidGraph({ detail: "Concat: no inputs" })
  const a = normAxis("Concat", axis, first.rank, first.shape)
  for (const x of xs) {
    if (x.rank !== first.rank || x.dtype !== first.dtype || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeMismatch({
        op: "Concat",
        detail: `inputs must agree except on axis ${a}`,
        shapes: shapesOf(...xs)
      })
    }
  }
  if (xs.length === 1) return first
  const shape = first.shape.map((d, i) => (i === a ? xs.reduce((s, x) => s + x.shape[a]!, 0) : d))
  return one(first.graph.addNode("Concat", xs, [{ dtype: first.dtype, shape }], { axis: { i: a } }))
}

/** `x[start:end]` along `axis` (step 1; negative indices count from the end). */
export const slice = (x: Tensor, axis: number, start: number, end: number): Tensor => {
  const a = normAxis("Slice", axis, x.rank, x.shape)
  const n = x.shape[a]!
  const s = Math.min(n, Math.max(0, start < 0 ? start + n : start))
  const e = Math.min(n, Math.max(0, end < 0 ? end + n : end))
  if (e <= s)
    throw new ShapeMismatch({ op: "Slice", detail: `empty slice ${start}:${end} on axis ${a}`, shapes: [fmt(x.shape)] })
  if (s === 0 && e === n) return x
  const g = x.graph
  const shape = x.shape.map((d, i) => (i === a ? e - s : d))
  return one(g.addNode("Slice", [x, g.int64s([s]), g.int64s([e]), g.int64s([a])], [{ dtype: x.dtype, shape }]))
}

/** Split along `axis` into pieces of the given sizes (summing to the axis length). */
export const split = (x: Tensor, axis: number, sizes: ReadonlyArray<number>): Array<Tensor> => {
  const a = normAxis("Split", axis, x.rank, x.shape)
  if (sizes.reduce((s, v) => s + v, 0) !== x.shape[a] || sizes.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new ShapeMismatch({
      op: "Split",
      detail: `sizes [${sizes.join(",")}] must be positive and sum to axis ${a}`,
      shapes: [fmt(x.shape)]
    })
  }
  if (sizes.length === 1) return [x]
  const g = x.graph
  return g.addNode(
    "Split",
    [x, g.int64s(sizes)],
    sizes.map((v) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? v : d)) })),
    { axis: { i: a } }
  )
}

/** Insert size-1 axes at `axes` (positions in the output). */
export const unsqueeze = (x: Tensor, axes: ReadonlyArray<number>): Tensor => {
  const rank = x.rank + axes.length
  const ax = normAxes("Unsqueeze", axes, rank, x.shape)
  const shape: Array<number> = []
  let k = 0
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[k++]!)
  return one(x.graph.addNode("Unsqueeze", [x, x.graph.int64s(ax)], [{ dtype: x.dtype, shape }]))
}

/** Remove size-1 axes at `axes`. */
export const squeeze = (x: Tensor, axes: ReadonlyArray<number>): Tensor => {
  const ax = normAxes("Squeeze", axes, x.rank, x.shape)
  if (ax.some((a) => x.shape[a] !== 1))
    throw new ShapeMismatch({
      op: "Squeeze",
      detail: `axes [${axes.join(",")}] are not all size 1`,
      shapes: [fmt(x.shape)]
    })
  return one(
    x.graph.addNode(
      "Squeeze",
      [x, x.graph.int64s(ax)],
      [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !ax.includes(i)) }]
    )
  )
}

/** Broadcast `x` to `shape` (numpy rules; the result has exactly `shape`). */
export const expand = (x: Tensor, shape: ReadonlyArray<number>): Tensor => {
  const out = broadcast("Expand", x.shape, shape)
  if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
    throw new ShapeMismatch({ op: "Expand", detail: `cannot expand to ${fmt(shape)}`, shapes: [fmt(x.shape)] })
  }
  if (out.length === x.rank && out.every((d, i) => d === x.shape[i])) return x
  return one(x.graph.addNode("Expand", [x, x.graph.int64s(shape)], [{ dtype: x.dtype, shape: out }]))
}

const requireIndex = (op: string, idx: Tensor): void => {
  if (idx.dtype !== "int32" && idx.dtype !== "int64")
    throw new InvalidGraph({
      detail: `${op}: indices must be int32 or int64, got ${idx.toString()}`,
      fix: "feed token ids as int32"
    })
}

/** Rows of `data` along `axis` (default 0) picked by `indices`: embedding lookup `[V, D] ⨯ [B, T] → [B, T, D]`. */
export const gather = (data: Tensor, indices: Tensor, axis = 0): Tensor => {
  requireIndex("Gather", indices)
  const a = normAxis("Gather", axis, data.rank, data.shape)
  const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)]
  return one(data.graph.addNode("Gather", [data, indices], [{ dtype: data.dtype, shape }], { axis: { i: a } }))
}

/** `out[i][j] = data[i][indices[i][j]]` along `axis` (target log-probs); indices and output share a shape. */
export const gatherElements = (data: Tensor, indices: Tensor, axis = -1): Tensor => {
  requireIndex("GatherElements", indices)
  const a = normAxis("GatherElements", axis, data.rank, data.shape)
  if (indices.rank !== data.rank || indices.shape.some((d, i) => i !== a && d > data.shape[i]!)) {
    throw new ShapeMismatch({
      op: "GatherElements",
      detail: "indices must have the data's rank and fit inside it",
      shapes: shapesOf(data, indices)
    })
  }
  return one(
    data.graph.addNode("GatherElements", [data, indices], [{ dtype: data.dtype, shape: indices.shape }], {
      axis: { i: a }
    })
  )
}

/** Scatter `updates` into a copy of `data` at `indices` along `axis`, adding where indices repeat when `add`. */
export const scatterElements = (data: Tensor, indices: Tensor, updates: Tensor, axis: number, add: boolean): Tensor => {
  requireIndex("ScatterElements", indices)
  const a = normAxis("ScatterElements", axis, data.rank, data.shape)
  if (
    indices.rank !== data.rank ||
    indices.shape.some((d, i) => d !== updates.shape[i]) ||
    indices.rank !== updates.rank
  ) {
    throw new ShapeMismatch({
      op: "ScatterElements",
      detail: "indices and updates must share a shape of the data's rank",
      shapes: shapesOf(data, indices, updates)
    })
  }
  return one(
    data.graph.addNode("ScatterElements", [data, indices, updates], [{ dtype: data.dtype, shape: data.shape }], {
      axis: { i: a },
      ...(add ? { reduction: { s: "add" } } : {})
    })
  )
}

/** Zero-pad: `before[i]` and `after[i]` elements on each axis. */
export const pad = (x: Tensor, before: ReadonlyArray<number>, after: ReadonlyArray<number>): Tensor => {
  if (before.length !== x.rank || after.length !== x.rank)
    throw new ShapeMismatch({ op: "Pad", detail: "one pad per axis", shapes: [fmt(x.shape)] })
  if ([...before, ...after].every((v) => v === 0)) return x
  const shape = x.shape.map((d, i) => d + before[i]! + after[i]!)
  const g = x.graph
  return one(
    g.addNode("Pad", [x, g.int64s([...before, ...after]), g.scalar(0, x.dtype)], [{ dtype: x.dtype, shape }], {
      mode: { s: "constant" }
    })
  )
}

/** A zero tensor of `shape` computed in-graph (Expand of a scalar; no large initializer). */
export const zeros = (like: Tensor, shape: ReadonlyArray<number> = like.shape): Tensor =>
  expand(like.graph.scalar(0, like.dtype), shape)

/** One-hot `[..., depth]` in `dtype` of integer `indices` via Equal against a constant range (WebGPU-safe). */
export const oneHot = (indices: Tensor, depth: number, dtype: DType = indices.graph.float): Tensor => {
  requireIndex("oneHot", indices)
  const g = indices.graph
  const range = g.constant(
    indices.dtype === "int32"
      ? Int32Array.from({ length: depth }, (_, i) => i)
      : BigInt64Array.from({ length: depth }, (_, i) => BigInt(i)),
    [depth]
  )
  return cast(equal(unsqueeze(indices, [-1]), range), dtype)
}
