/**
 * Losses and RL objectives: token log-probs (teacher-forced scoring), cross entropy with an ignore mask,
 * the KL k3 estimator and the clipped-ratio policy-gradient objective (PPO/GRPO family) with per-token
 * advantages. Masked means divide by the number of valid tokens (at least 1).
 */
import type { Tensor } from "./Graph.ts"
import { fmt, InvalidGraph, ShapeMismatch } from "./Graph.ts"
import * as L from "./Layout.ts"
import { logSoftmax } from "./Nn.ts"
import * as O from "./Ops.ts"
import { checkTargets } from "./internal/shapes.ts"

const sameShape = (op: string, ...ts: ReadonlyArray<Tensor>): void => {
  const first = ts[0]!
  if (ts.some((t) => t.rank !== first.rank || t.shape.some((d, i) => d !== first.shape[i]))) {
    throw new ShapeMismatch({ op, detail: "inputs must share a shape", shapes: ts.map((t) => fmt(t.shape)) })
  }
}

/** A float mask from a bool or float mask tensor (or all ones). */
const floatMask = (like: Tensor, mask: Tensor | undefined): Tensor =>
  mask === undefined
    ? L.expand(like.graph.scalar(1, like.dtype), like.shape)
    : mask.dtype === "bool"
      ? O.cast(mask, like.dtype)
      : mask

/** Σ(x·mask) / max(Σ mask, 1), the mean over valid positions. */
export const maskedMean = (x: Tensor, mask?: Tensor): Tensor => {
  const m = floatMask(x, mask)
  sameShape("maskedMean", x, m)
  return O.div(O.reduceSum(O.mul(x, m)), O.max(O.reduceSum(O.detach(m)), 1))
}

/**
 * Log-probability of each target token: `logits [..., V]`, `targets [...]` int32 → `[...]`. Targets outside
 * `[0, V)` (e.g. an ignore index of −100) are read as 0; mask them out downstream.
 */
export const tokenLogProbs = (logits: Tensor, targets: Tensor): Tensor => {
  const v = logits.shape[logits.rank - 1]!
  checkTargets("tokenLogProbs", logits, targets, "targets must be logits' shape without the vocab axis")
  const safe = O.where(O.and(O.greaterOrEqual(targets, 0), O.less(targets, v)), targets, 0)
  return L.squeeze(L.gatherElements(logSoftmax(logits, -1), L.unsqueeze(safe, [-1]), -1), [-1])
}

/** Options for `crossEntropy`. */
export interface CrossEntropyOptions {
  /** Targets equal to this are ignored (Hugging Face uses −100). */
  readonly ignoreIndex?: number
  /** Extra validity mask (bool or float 0/1) with the targets' shape. */
  readonly mask?: Tensor
}

/** Mean cross entropy over valid targets: `logits [..., V]`, `targets [...]` → `[]`. */
export const crossEntropy = (logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor => {
  const lp = tokenLogProbs(logits, targets)
  let mask: Tensor | undefined = options.mask === undefined ? undefined : floatMask(lp, options.mask)
  if (options.ignoreIndex !== undefined) {
    const valid = O.cast(O.not(O.equal(targets, targets.graph.scalar(options.ignoreIndex, targets.dtype))), lp.dtype)
    mask = mask === undefined ? valid : O.mul(mask, valid)
  }
  return O.neg(maskedMean(lp, mask))
}

/** Per-token KL(π‖π_ref) k3 estimator: `exp(ref − logp) − (ref − logp) − 1` (non-negative, unbiased). */
export const klK3 = (logp: Tensor, refLogp: Tensor): Tensor => {
  sameShape("klK3", logp, refLogp)
  const d = O.sub(refLogp, logp)
  return O.sub(O.sub(O.exp(d), d), 1)
}

/** Inputs of the clipped policy-gradient objective; all per-token tensors share a shape (`[batch, seq]`). */
export interface PolicyLossInputs {
  /** log π_θ(token) from the graph being trained. */
  readonly logp: Tensor
  /** log π_old(token) recorded at sampling time (an input). */
  readonly oldLogp: Tensor
  /** Per-token advantages (an input; broadcast sequence advantages before feeding). */
  readonly advantages: Tensor
  /** Valid completion tokens (bool or float 0/1). */
  readonly mask: Tensor
  /** log π_ref(token) for the KL penalty (required when klCoef > 0). */
  readonly refLogp?: Tensor
}

/** Hyper-parameters of the clipped policy-gradient objective. */
export interface PolicyLossOptions {
  /** Lower clip ε: ratio ≥ 1 − ε (default 0.2). */
  readonly clipLow?: number
  /** Upper clip ε: ratio ≤ 1 + ε (default = clipLow; DAPO uses a larger one). */
  readonly clipHigh?: number
  /** Weight β of the KL k3 term (default 0). */
  readonly klCoef?: number
  /** `token`: mean over all valid tokens (DAPO); `sequence`: mean per sequence, then over sequences (GRPO). */
  readonly aggregate?: "token" | "sequence"
}

/** The objective and diagnostics, all scalars `[]`. */
export interface PolicyLoss {
  readonly loss: Tensor
  readonly clipFraction: Tensor
  readonly kl: Tensor
  readonly ratioMean: Tensor
}

/**
 * Clipped-ratio policy-gradient loss: per token `−min(r·A, clip(r, 1−εl, 1+εh)·A) + β·k3`, with
 * `r = exp(logp − oldLogp)`, aggregated over masked tokens.
 */
export const policyLoss = (inputs: PolicyLossInputs, options: PolicyLossOptions = {}): PolicyLoss => {
  const { logp, oldLogp, advantages } = inputs
  sameShape("policyLoss", logp, oldLogp, advantages)
  const lo = options.clipLow ?? 0.2
  const hi = options.clipHigh ?? lo
  const beta = options.klCoef ?? 0
  const mask = floatMask(logp, inputs.mask)
  const ratio = O.exp(O.sub(logp, oldLogp))
  const unclipped = O.mul(ratio, advantages)
  const clipped = O.mul(O.clip(ratio, 1 - lo, 1 + hi), advantages)
  let perToken = O.neg(O.min(unclipped, clipped))
  let kl: Tensor = logp.graph.scalar(0, logp.dtype)
  if (beta > 0) {
    if (inputs.refLogp === undefined) throw new InvalidGraph({ detail: "policyLoss: klCoef > 0 needs refLogp" })
    const k3 = klK3(logp, inputs.refLogp)
    perToken = O.add(perToken, O.mul(k3, beta))
    kl = O.detach(maskedMean(k3, mask))
  }
  let loss: Tensor
  if ((options.aggregate ?? "token") === "token" || logp.rank < 2) {
    loss = maskedMean(perToken, mask)
  } else {
    const axis = logp.rank - 1
    const perSeq = O.div(O.reduceSum(O.mul(perToken, mask), [axis]), O.max(O.reduceSum(O.detach(mask), [axis]), 1))
    loss = O.reduceMean(perSeq)
  }
  const wasClipped = O.cast(O.not(O.equal(unclipped, O.min(unclipped, clipped))), logp.dtype)
  return {
    loss,
    clipFraction: O.detach(maskedMean(wasClipped, mask)),
    kl,
    ratioMean: O.detach(maskedMean(ratio, mask))
  }
}
