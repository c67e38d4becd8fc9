/**
 * The language-model head's token log-probs computed over vocabulary chunks: `log softmax(h·Wᵀ)[target]` without
 * ever holding the `[tokens, vocab]` logits, their softmax or their gradient. Peak memory of the head falls from a
 * few `[tokens, vocab]` tensors to a few `[tokens, chunk]` ones; the backward recomputes each chunk's logits.
 */
import type { Tensor } from "./Graph.ts"
import { fmt, InvalidGraph, ShapeMismatch } from "./Graph.ts"
import * as L from "./Layout.ts"
import * as Loss from "./Loss.ts"
import * as O from "./Ops.ts"
import { checkTargets } from "./internal/shapes.ts"

/** Options of `tokenLogProbs`. */
export interface HeadOptions {
  /**
   * Vocabulary rows per chunk (a positive integer). Undefined, or at least the vocabulary size, computes the
   * full `[tokens, vocab]` logits and `Loss.tokenLogProbs` (the reference path).
   */
  readonly vocabChunk?: number | undefined
}

/** `[start, end)` row ranges of `vocab` split into chunks of `chunk` rows (the last one may be shorter). */
export const chunkRanges = (vocab: number, chunk: number): Array<readonly [number, number]> => {
  if (!Number.isInteger(chunk) || chunk <= 0)
    throw new InvalidGraph({
      detail: `vocabChunk must be a positive integer, got ${chunk}`,
      fix: "use e.g. 8192, or leave it unset for the full logits"
    })
  const out: Array<readonly [number, number]> = []
  for (let s = 0; s < vocab; s += chunk) out.push([s, Math.min(vocab, s + chunk)])
  return out
}

/**
 * `x` made to depend on `after` without changing its value: ONNX has no control edges, so a zero taken from one
 * element of `after` is added to `x`. ONNX Runtime then cannot run `x` (and what consumes it) before `after`, which
 * is what keeps one chunk's `[N, C]` tensors alive at a time. A NaN or ±Inf in `after` spreads, but `after` is
 * part of the same gradient, so the step is non-finite either way.
 */
const after = (x: Tensor, dep: Tensor): Tensor => {
  let one = dep
  for (let a = 0; a < dep.rank; a++) one = L.slice(one, a, 0, 1)
  const zero = O.mul(L.reshape(one, [1]), 0)
  return O.add(x, x.dtype === zero.dtype ? zero : O.cast(zero, x.dtype))
}

/** Rows `[start, end)` of `w [V, D]` gathered by an int32 index range that waits for `dep` (see `after`). */
const rowsAfter = (w: Tensor, start: number, end: number, dep: Tensor): Tensor =>
  L.gather(
    w,
    after(
      w.graph.constant(
        Int32Array.from({ length: end - start }, (_, i) => start + i),
        [end - start],
        "int32"
      ),
      dep
    ),
    0
  )

/**
 * `log softmax(h Wᵀ)[t]` per row for `h [N, D]`, `w [V, D]`, in-range int32 `t [N]` → `[N]`, as a composite over
 * vocabulary chunks. Forward: per chunk `l = h·W_cᵀ [N, C]` and its log-sum-exp `[N, 1]`, folded into a running
 * log-sum-exp; the target logit is `Σ_d h·W[t]`. Backward, per chunk: `g = onehot(t) − exp(h·W_cᵀ − lse)` `[N, C]`
 * (the logits recomputed in one Gemm), `dW_c = gᵀ·(dY ⊙ h)`, `u += g·W_c`; then `dh = dY ⊙ u` and
 * `dW = concat(dW_c)`. Every chunk waits for the previous one (`after`), so ONNX Runtime's execution order cannot
 * interleave them. A tied embedding's other gradients add to `dW` as usual.
 */
const chunkedRows = (h: Tensor, w: Tensor, t: Tensor, chunk: number): Tensor =>
  h.graph.composite("ChunkedHeadLogProbs", [h, w], () => {
    const n = h.shape[0]!
    const ranges = chunkRanges(w.shape[0]!, chunk)
    const t2 = L.reshape(t, [n, 1])
    let lse: Tensor | undefined // running log-sum-exp [N, 1]
    for (const [s, e] of ranges) {
      const l = O.gemm(h, lse === undefined ? L.slice(w, 0, s, e) : rowsAfter(w, s, e, lse), undefined, {
        transB: true
      }) // [N, C]
      const m = O.reduceMax(l, [1], true) // [N, 1]
      const part = O.add(m, O.log(O.reduceSum(O.exp(O.sub(l, m)), [1], true)))
      if (lse === undefined) lse = part
      else {
        const hi = O.max(lse, part)
        lse = O.add(hi, O.log(O.add(O.exp(O.sub(lse, hi)), O.exp(O.sub(part, hi)))))
      }
    }
    const total = lse as Tensor
    const y = O.sub(O.reduceSum(O.mul(h, L.gather(w, t, 0)), [1]), L.reshape(total, [n]))
    return {
      outputs: [y],
      grad: ([dy], needs) => {
        if (dy === undefined) return [undefined, undefined]
        const wantW = needs[1] !== false // a frozen head/embedding (LoRA) skips dW_c: one [C, D] Gemm less per chunk
        const dcol = L.reshape(dy, [n, 1])
        const gh = O.mul(h, dcol) // [N, D]: dY-weighted rows
        const negLse = O.neg(total)
        const parts: Array<Tensor> = []
        let u: Tensor | undefined // Σ_c g_c·W_c, [N, D]
        for (const [s, e] of ranges) {
          const wc = rowsAfter(w, s, e, u ?? negLse) // [C, D]
          const p = O.exp(O.gemm(h, wc, negLse, { transB: true })) // softmax over the whole vocabulary, chunk columns [N, C]
          const ids = h.graph.constant(
            Int32Array.from({ length: e - s }, (_, i) => s + i),
            [1, e - s],
            "int32"
          )
          const g = O.sub(O.cast(O.equal(t2, ids), h.dtype), p) // onehot − softmax [N, C]
          const prev = u ?? L.zeros(h, [1, 1])
          if (wantW) {
            const dwc = O.gemm(g, gh, undefined, { transA: true }) // [C, D]
            parts.push(dwc)
            // u's Gemm waits for dW_c, so g is freed before the next chunk's rows are gathered.
            u = O.gemm(g, wc, after(prev, dwc), { beta: 1 })
          } else u = O.gemm(g, wc, prev, { beta: 1 })
        }
        const dh = O.mul(dcol, u as Tensor)
        return [dh, !wantW ? undefined : parts.length === 1 ? parts[0]! : L.concat(parts, 0)]
      }
    }
  })[0]!

/**
 * Log-probability of each target token under the LM head: `hidden [..., D]` (after the final norm), `weight [V, D]`
 * (`lm_head.weight`, or the tied embedding), `targets [...]` int32 → `[...]`. With `vocabChunk` below V the logits
 * are computed `vocabChunk` rows at a time (forward and backward), else in one Gemm as `Loss.tokenLogProbs` does.
 * Targets outside `[0, V)` (an ignore index) are read as 0; mask them out downstream.
 */
export const tokenLogProbs = (hidden: Tensor, weight: Tensor, targets: Tensor, options: HeadOptions = {}): Tensor => {
  const d = hidden.shape[hidden.rank - 1]!
  if (weight.rank !== 2 || weight.shape[1] !== d) {
    throw new ShapeMismatch({
      op: "LmHead.tokenLogProbs",
      detail: "weight must be [vocab, hidden] with hidden's last axis",
      shapes: [fmt(hidden.shape), fmt(weight.shape)]
    })
  }
  checkTargets("LmHead.tokenLogProbs", hidden, targets, "targets must be hidden's shape without the last axis")
  const v = weight.shape[0]!
  const h2 = L.reshape(hidden, [-1, d])
  const chunk = options.vocabChunk
  if (chunk === undefined || (Number.isInteger(chunk) && chunk >= v)) {
    return Loss.tokenLogProbs(
      L.reshape(O.gemm(h2, weight, undefined, { transB: true }), [...hidden.shape.slice(0, -1), v]),
      targets
    )
  }
  const flat = L.reshape(targets, [-1])
  const safe = O.where(O.and(O.greaterOrEqual(flat, 0), O.less(flat, v)), flat, 0)
  return L.reshape(chunkedRows(h2, weight, safe, chunk), targets.shape)
}
