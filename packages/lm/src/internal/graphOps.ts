/**
 * Graph helpers the decoder needs beyond @realm-lm/graph's public ops: reshapes whose target is written with
 * ONNX's `0` (copy this dimension) and `-1` (infer) so one graph runs at any batch/sequence size, a runtime
 * `Shape`, and the attention variants (whole sequence with an optional past, and one decode step over a cache).
 */
import { Graph, Layout, Ops } from "@realm-lm/graph"

type T = Graph.Tensor

/**
 * Reshape with an ONNX target `spec` (entries may be 0 = copy the input's dimension, -1 = inferred). The builder
 * sees the shape resolved from the nominal input shape; ONNX Runtime resolves it again from the real one.
 */
export const reshape = (x: T, spec: ReadonlyArray<number>): T => {
  const resolved = spec.map((d, i) => (d === 0 ? x.shape[i]! : d))
  const known = resolved.filter((d) => d !== -1).reduce((a, b) => a * b, 1)
  const inferred = resolved.map((d) => (d === -1 ? x.size / Math.max(1, known) : d))
  if (!spec.includes(0) && !spec.includes(-1)) return Layout.reshape(x, inferred)
  if (inferred.some((d) => !Number.isInteger(d) || d < 0) || inferred.reduce((a, b) => a * b, 1) !== x.size) {
    throw new Graph.ShapeMismatch({
      op: "Reshape",
      detail: `spec [${spec.join(",")}] does not fit`,
      shapes: [Graph.fmt(x.shape)]
    })
  }
  return x.graph.addNode("Reshape", [x, x.graph.int64s(spec)], [{ dtype: x.dtype, shape: inferred }])[0]!
}

/** Reshape to a runtime shape tensor (int64 `[rank]`); `nominal` is the shape the builder checks against. */
export const reshapeTo = (x: T, shape: T, nominal: ReadonlyArray<number>): T => {
  if (nominal.reduce((a, b) => a * b, 1) !== x.size) {
    throw new Graph.ShapeMismatch({
      op: "Reshape",
      detail: "element count differs",
      shapes: [Graph.fmt(x.shape), Graph.fmt(nominal)]
    })
  }
  return x.graph.addNode("Reshape", [x, shape], [{ dtype: x.dtype, shape: nominal }])[0]!
}

/** The runtime shape of `x` as int64 `[rank]`. */
export const shapeOf = (x: T): T => x.graph.addNode("Shape", [x], [{ dtype: "int64", shape: [x.rank] }])[0]!

/**
 * The batch and sequence extents of a `[batch, seq]` token input: nominal numbers for the builder and a function
 * giving the runtime shape `[batch, seq, ...trailing]` (a constant in static graphs, `Shape(ids)` in dynamic ones).
 */
export interface Dims {
  readonly batch: number
  readonly seq: number
  readonly shape: (trailing: ReadonlyArray<number>) => T
}

/** Dims known at build time. */
export const staticDims = (g: Graph.Graph, batch: number, seq: number): Dims => ({
  batch,
  seq,
  shape: (trailing) => g.int64s([batch, seq, ...trailing])
})

/** Dims read from the runtime shape of `ids` `[batch, seq]` (for graphs exported with symbolic dimensions). */
export const dynamicDims = (ids: T): Dims => {
  const bt = shapeOf(ids)
  return {
    batch: ids.shape[0]!,
    seq: ids.shape[1]!,
    shape: (trailing) => Layout.concat([bt, ids.graph.int64s(trailing)], 0)
  }
}

/** Keys and values of one layer, `[batch, kvHeads, positions, headDim]` each. */
export interface KeyValue {
  readonly key: T
  readonly value: T
}

/**
 * Causal attention of a whole sequence with grouped-query heads, optionally after `past` keys/values.
 * `q [N, heads, d]`, `k, v [N, kvHeads, d]` with N = batch·seq rows (q already scaled by 1/√d); `mask` is additive
 * and broadcasts to `[batch, 1, 1, seq, past + seq]`. Query heads of one KV group share its keys by broadcasting a
 * size-1 axis in MatMul, so K/V are never repeated. Returns `[N, heads·d]` and this layer's full keys/values.
 */
export const sequenceAttention = (
  dims: Dims,
  q: T,
  k: T,
  v: T,
  mask: T | undefined,
  past: KeyValue | undefined
): { readonly out: T; readonly present: KeyValue } => {
  const [, heads, d] = q.shape as [number, number, number]
  const kvHeads = k.shape[1]!
  const rep = heads / kvHeads
  const { batch: b, seq: t } = dims
  const q5 = Layout.transpose(reshapeTo(q, dims.shape([kvHeads, rep, d]), [b, t, kvHeads, rep, d]), [0, 2, 3, 1, 4]) // [b, kv, rep, t, d]
  const kNew = Layout.transpose(reshapeTo(k, dims.shape([kvHeads, d]), [b, t, kvHeads, d]), [0, 2, 1, 3]) // [b, kv, t, d]
  const vNew = Layout.transpose(reshapeTo(v, dims.shape([kvHeads, d]), [b, t, kvHeads, d]), [0, 2, 1, 3])
  const key = past === undefined ? kNew : Layout.concat([past.key, kNew], 2) // [b, kv, s, d]
  const value = past === undefined ? vNew : Layout.concat([past.value, vNew], 2)
  const kT = Layout.unsqueeze(Layout.transpose(key, [0, 1, 3, 2]), [2]) // [b, kv, 1, d, s]
  const scores = Ops.matmul(q5, kT) // [b, kv, rep, t, s]
  const probs = Ops.softmax(mask === undefined ? scores : Ops.add(scores, mask), -1)
  const out = Ops.matmul(probs, Layout.unsqueeze(value, [2])) // [b, kv, rep, t, d]
  return { out: reshape(Layout.transpose(out, [0, 3, 1, 2, 4]), [-1, heads * d]), present: { key, value } }
}

/**
 * One decode step over a fixed-capacity cache. `q [B, heads, d]` (scaled), `k, v [B, kvHeads, d]` of the new
 * token; `pastKeyT [B, kvHeads, d, C]` (keys stored transposed), `pastValue [B, kvHeads, C, d]`, `mask` additive
 * `[B, 1, 1, C]` over cache slots. The new token attends to itself through a separate score, so the cache is read
 * in place and never concatenated; each (row, kv head) is one `[rep, d] × [d, C]` product. Returns `[B, heads·d]`.
 */
export const decodeAttention = (q: T, k: T, v: T, pastKeyT: T, pastValue: T, mask: T): T => {
  const [b, heads, d] = q.shape as [number, number, number]
  const kvHeads = k.shape[1]!
  const rep = heads / kvHeads
  const capacity = pastValue.shape[2]!
  const q4 = Layout.reshape(q, [b, kvHeads, rep, d])
  const past = Ops.add(Ops.matmul(q4, pastKeyT), mask) // [B, kv, rep, C]
  const self = Ops.reduceSum(Ops.mul(q4, Layout.reshape(k, [b, kvHeads, 1, d])), [-1], true) // [B, kv, rep, 1]
  const probs = Ops.softmax(Layout.concat([past, self], -1), -1)
  const [pPast, pSelf] = Layout.split(probs, -1, [capacity, 1]) as [T, T]
  const out = Ops.add(Ops.matmul(pPast, pastValue), Ops.mul(pSelf, Layout.reshape(v, [b, kvHeads, 1, d])))
  return Layout.reshape(out, [b, heads * d])
}
