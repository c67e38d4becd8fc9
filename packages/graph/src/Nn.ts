/**
 * Neural-network building blocks for Llama-family decoders, written over `Ops`/`Layout`: linear
 * layers, RMS/layer norm, SiLU/SwiGLU/GELU, log-softmax, RoPE from constant cos/sin tables, causal
 * masks and grouped-query attention. All lower to WebGPU-safe standard ops.
 */
import type { Tensor } from "./Graph.ts"
import { fmt, ShapeMismatch } from "./Graph.ts"
import * as L from "./Layout.ts"
import * as O from "./Ops.ts"
import { unbroadcast } from "./internal/rules.ts"

/** `x @ w (+ b)`: `[..., in] x [in, out] → [..., out]`. */
export const linear = (x: Tensor, w: Tensor, b?: Tensor): Tensor => {
  const y = O.matmul(x.rank === 1 ? L.unsqueeze(x, [0]) : x, w)
  const out = x.rank === 1 ? L.squeeze(y, [0]) : y
  return b === undefined ? out : O.add(out, b)
}

/** Embedding lookup: `table [V, D]`, int32 `ids [...]` → `[..., D]`. */
export const embedding = (table: Tensor, ids: Tensor): Tensor => L.gather(table, ids, 0)

/**
 * Logits against a (tied) embedding table: `h [..., D]`, `table [V, D]` → `[..., V]`, as one Gemm with
 * transB over the flattened rows (no Transpose node; its backward is two Gemms).
 */
export const tiedLogits = (h: Tensor, table: Tensor): Tensor => {
  const d = h.shape[h.rank - 1]!
  const v = table.shape[0]!
  return L.reshape(O.gemm(L.reshape(h, [-1, d]), table, undefined, { transB: true }), [...h.shape.slice(0, -1), v])
}

/**
 * LoRA adapter term `(x·A)·B·scale`, `A: [in, r]`, `B: [r, out]`; add it to a frozen `linear(x, W)`.
 * Initialize B with zeros so training starts from the base model.
 */
export const lora = (x: Tensor, a: Tensor, b: Tensor, scale: number): Tensor => O.mul(linear(linear(x, a), b), scale)

/** x·σ(x) (SiLU / swish). */
export const silu = (x: Tensor): Tensor => O.mul(x, O.sigmoid(x))

/** GELU, exact erf form: 0.5·x·(1 + erf(x/√2)). */
export const gelu = (x: Tensor): Tensor => O.mul(O.mul(x, 0.5), O.add(O.erf(O.mul(x, Math.SQRT1_2)), 1))

/** Llama MLP: `(silu(x·Wg) ⊙ (x·Wu))·Wd`, `[..., d] → [..., d]` with `Wg, Wu: [d, f]`, `Wd: [f, d]`. */
export const swiglu = (x: Tensor, wGate: Tensor, wUp: Tensor, wDown: Tensor): Tensor =>
  linear(O.mul(silu(linear(x, wGate)), linear(x, wUp)), wDown)

/**
 * RMSNorm over the last axis: `x / √(mean(x²) + eps) · γ`, `x: [..., d]`, `γ: [d]`. A composite with the
 * closed-form backward (dX = r·(g − x·r²·mean(g·x)), g = dY·γ) instead of differentiating its expansion.
 */
export const rmsNorm = (x: Tensor, gamma: Tensor, eps = 1e-6): Tensor =>
  x.graph.composite("RMSNorm", [x, gamma], () => {
    const r = O.reciprocal(O.sqrt(O.add(O.reduceMean(O.mul(x, x), [-1], true), eps))) // [..., 1]
    const xr = O.mul(x, r)
    const y = O.mul(xr, gamma)
    return {
      outputs: [y],
      grad: ([dy], needs) => {
        if (dy === undefined) return [undefined, undefined]
        const g = O.mul(dy, gamma)
        const dx =
          needs[0] === false
            ? undefined
            : O.mul(r, O.sub(g, O.mul(O.mul(xr, r), O.reduceMean(O.mul(g, x), [-1], true))))
        // A frozen γ (LoRA without trainable norms) gets no gradient nodes at all.
        return [dx, needs[1] === false ? undefined : unbroadcast(O.mul(dy, xr), gamma.shape)]
      }
    }
  })[0]!

/** LayerNorm over the last axis: `(x − μ)/√(σ² + eps)·γ + β`. */
export const layerNorm = (x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor => {
  const xc = O.sub(x, O.reduceMean(x, [-1], true))
  const r = O.reciprocal(O.sqrt(O.add(O.reduceMean(O.mul(xc, xc), [-1], true), eps)))
  return O.add(O.mul(O.mul(xc, r), gamma), beta)
}

/**
 * log softmax along `axis`, decomposed as `z − log Σ exp z` with `z = x − max x` (ONNX LogSoftmax has no
 * WebGPU kernel). Composite with backward dX = dY − exp(Y)·ΣdY.
 */
export const logSoftmax = (x: Tensor, axis = -1): Tensor =>
  x.graph.composite("LogSoftmax", [x], () => {
    const z = O.sub(x, O.detach(O.reduceMax(x, [axis], true)))
    const y = O.sub(z, O.log(O.reduceSum(O.exp(z), [axis], true)))
    return {
      outputs: [y],
      grad: ([dy]) => (dy === undefined ? [undefined] : [O.sub(dy, O.mul(O.exp(y), O.reduceSum(dy, [axis], true)))])
    }
  })[0]!

/**
 * RoPE tables for positions `[offset, offset + length)`: `{ cos, sin }`, each `[length, headDim]` with the
 * half-split (Hugging Face `rotate_half`) layout, frequencies `theta^(-2i/headDim)`.
 */
export const ropeTables = (
  length: number,
  headDim: number,
  theta = 10000,
  offset = 0
): { cos: Float32Array; sin: Float32Array } => {
  const half = headDim / 2
  if (!Number.isInteger(half))
    throw new ShapeMismatch({ op: "ropeTables", detail: "headDim must be even", shapes: [`[${headDim}]`] })
  const cos = new Float32Array(length * headDim)
  const sin = new Float32Array(length * headDim)
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (p + offset) * Math.pow(theta, (-2 * i) / headDim)
      for (const j of [i, i + half]) {
        cos[p * headDim + j] = Math.cos(angle)
        sin[p * headDim + j] = Math.sin(angle)
      }
    }
  }
  return { cos, sin }
}

/**
 * Rotary embedding: `x·cos + rotate_half(x)·sin` with `rotate_half([a, b]) = [−b, a]` on the last axis.
 * `x: [batch, heads, seq, headDim]`; `cos`, `sin` broadcast to it (`[seq, headDim]` constants, or
 * `[batch, 1, seq, headDim]` inputs for KV-cache positions).
 */
export const rope = (x: Tensor, cos: Tensor, sin: Tensor): Tensor => {
  const d = x.shape[x.rank - 1]!
  const [a, b] = L.split(x, -1, [d / 2, d / 2]) as [Tensor, Tensor]
  const rotated = L.concat([O.neg(b), a], -1)
  return O.add(O.mul(x, cos), O.mul(rotated, sin))
}

/**
 * Causal mask `[queries, keys]` as a bool constant: query i (at absolute position `offset + i`) sees keys
 * `0..offset+i`. With a KV cache of `offset` earlier tokens, `keys = offset + queries`.
 */
export const causalMask = (g: Tensor["graph"], queries: number, keys = queries, offset = keys - queries): Tensor => {
  const data = new Uint8Array(queries * keys)
  for (let i = 0; i < queries; i++) for (let j = 0; j < keys; j++) data[i * keys + j] = j <= offset + i ? 1 : 0
  return g.constant(data, [queries, keys], "bool")
}

/** Replace scores where `mask` is false by a large negative number (softmax weight ≈ 0). */
export const maskScores = (scores: Tensor, mask: Tensor): Tensor =>
  O.where(mask, scores, scores.dtype === "float64" ? -1e30 : -1e9)

/** Repeat KV heads for grouped-query attention: `[b, hkv, s, d] → [b, hkv·rep, s, d]` via Expand/Reshape. */
export const repeatKv = (x: Tensor, rep: number): Tensor => {
  if (rep === 1) return x
  const [b, h, s, d] = x.shape as [number, number, number, number]
  return L.reshape(L.expand(L.unsqueeze(x, [2]), [b, h, rep, s, d]), [b, h * rep, s, d])
}

/**
 * Scaled dot-product attention with GQA: `q: [b, h, t, d]`, `k, v: [b, hkv, s, d]` (h a multiple of hkv),
 * `mask` bool broadcastable to `[b, h, t, s]` → `[b, h, t, d]`.
 */
export const attention = (q: Tensor, k: Tensor, v: Tensor, mask?: Tensor): Tensor => {
  const [h, d] = [q.shape[1]!, q.shape[3]!]
  const hkv = k.shape[1]!
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4 || h % hkv !== 0 || k.shape[3] !== d) {
    throw new ShapeMismatch({
      op: "attention",
      detail: "expected q [b,h,t,d], k/v [b,hkv,s,d] with h % hkv == 0",
      shapes: [fmt(q.shape), fmt(k.shape), fmt(v.shape)]
    })
  }
  const kk = repeatKv(k, h / hkv)
  const vv = repeatKv(v, h / hkv)
  const scores = O.mul(O.matmul(q, L.transposeLast2(kk)), 1 / Math.sqrt(d))
  return O.matmul(O.softmax(mask === undefined ? scores : maskScores(scores, mask), -1), vv)
}

/** `[b, t, h·d] → [b, h, t, d]`. */
export const splitHeads = (x: Tensor, heads: number): Tensor => {
  const [b, t, hd] = x.shape as [number, number, number]
  return L.transpose(L.reshape(x, [b, t, heads, hd / heads]), [0, 2, 1, 3])
}

/** `[b, h, t, d] → [b, t, h·d]`. */
export const mergeHeads = (x: Tensor): Tensor => {
  const [b, h, t, d] = x.shape as [number, number, number, number]
  return L.reshape(L.transpose(x, [0, 2, 1, 3]), [b, t, h * d])
}
