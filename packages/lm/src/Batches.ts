/**
 * Right-padded training batches from (prompt, completion) pairs: `inputs`/`targets` `[batch, length]` with a loss
 * mask on completion targets only, and for policy-gradient steps the per-token advantages and old/reference
 * log-probs aligned with those targets. Positions start at 0 in every row, as in generation.
 */
import type { PolicyBatch, TokenBatch } from "./Policy.ts"

/** A tokenized example. */
export interface Example {
  readonly prompt: ReadonlyArray<number>
  readonly completion: ReadonlyArray<number>
  /**
   * Loss weight of each completion token (same length as `completion`); absent = 1 for every token. The SFT loss is
   * the weighted mean, so weights > 1 emphasise tokens (e.g. a verifier's verdicts) without changing the others.
   */
  readonly weights?: ReadonlyArray<number>
}

/** A sampled completion with its reward signal. */
export interface Rollout extends Example {
  /** Advantage of the whole completion (broadcast over its tokens), or one per completion token. */
  readonly advantage: number | ArrayLike<number>
  /** log π_old of each completion token (e.g. `Completion.logProbs`). */
  readonly oldLogProbs: ArrayLike<number>
  /** log π_ref of each completion token (e.g. a reference policy's `score`). */
  readonly refLogProbs?: ArrayLike<number>
}

/** Row length that fits every example: max(prompt + completion) − 1. */
export const lengthOf = (examples: ReadonlyArray<Example>): number =>
  Math.max(1, ...examples.map((e) => e.prompt.length + e.completion.length - 1))

/**
 * A causal-LM batch: row r holds prompt ++ completion shifted by one (`targets[t] = sequence[t + 1]`), padded with
 * `pad` to `length` (default `lengthOf`); the mask is 1 exactly on targets that are completion tokens (or their
 * `weights`), 0 elsewhere.
 */
export const tokenBatch = (examples: ReadonlyArray<Example>, length = lengthOf(examples), pad = 0): TokenBatch => {
  const batch = examples.length
  const inputs = new Int32Array(batch * length).fill(pad)
  const targets = new Int32Array(batch * length).fill(pad)
  const lossMask = new Float32Array(batch * length)
  examples.forEach((e, r) => {
    if (e.prompt.length === 0) throw new RangeError(`tokenBatch: example ${r} has an empty prompt`)
    const seq = [...e.prompt, ...e.completion]
    if (seq.length - 1 > length)
      throw new RangeError(`tokenBatch: example ${r} needs ${seq.length - 1} positions, the batch has ${length}`)
    inputs.set(seq.slice(0, -1), r * length)
    targets.set(seq.slice(1), r * length)
    if (e.weights === undefined) lossMask.fill(1, r * length + e.prompt.length - 1, r * length + seq.length - 1)
    else {
      if (e.weights.length !== e.completion.length)
        throw new RangeError(
          `tokenBatch: example ${r} has ${e.weights.length} weights for ${e.completion.length} completion tokens`
        )
      lossMask.set(e.weights, r * length + e.prompt.length - 1)
    }
  })
  return { batch, length, inputs, targets, lossMask }
}

/** A policy-gradient batch: `tokenBatch` plus advantages and log-probs at each completion target (0 elsewhere). */
export const policyBatch = (rollouts: ReadonlyArray<Rollout>, length = lengthOf(rollouts), pad = 0): PolicyBatch => {
  const base = tokenBatch(rollouts, length, pad)
  const advantages = new Float32Array(base.batch * length)
  const oldLogProbs = new Float32Array(base.batch * length)
  const withRef = rollouts.some((r) => r.refLogProbs !== undefined)
  const refLogProbs = new Float32Array(withRef ? base.batch * length : 0)
  rollouts.forEach((r, row) => {
    const at = row * length + r.prompt.length - 1
    const n = r.completion.length
    if (r.oldLogProbs.length !== n)
      throw new RangeError(`policyBatch: rollout ${row} has ${r.oldLogProbs.length} old log-probs for ${n} tokens`)
    for (let k = 0; k < n; k++) {
      advantages[at + k] = typeof r.advantage === "number" ? r.advantage : r.advantage[k]!
      oldLogProbs[at + k] = r.oldLogProbs[k]!
    }
    if (withRef) {
      if (r.refLogProbs === undefined || r.refLogProbs.length !== n)
        throw new RangeError(`policyBatch: rollout ${row} needs ${n} reference log-probs`)
      for (let k = 0; k < n; k++) refLogProbs[at + k] = r.refLogProbs[k]!
    }
  })
  return { ...base, advantages, oldLogProbs, ...(withRef ? { refLogProbs } : {}) }
}

/** Positions `[first, last]` of row `r` with a nonzero loss mask, or undefined when the row has none. */
const lossSpan = (b: TokenBatch, r: number): readonly [number, number] | undefined => {
  let first = -1
  let last = -1
  for (let t = 0; t < b.length; t++) {
    if (b.lossMask[r * b.length + t] !== 0) {
      if (first < 0) first = t
      last = t
    }
  }
  return first < 0 ? undefined : [first, last]
}

/** The fewest positions per row that hold every row's loss: the longest span from a row's first to its last masked target (at least 1). */
export const lossWindow = (b: TokenBatch): number => {
  let w = 1
  for (let r = 0; r < b.batch; r++) {
    const span = lossSpan(b, r)
    if (span !== undefined) w = Math.max(w, span[1] - span[0] + 1)
  }
  return w
}

/** The per-token arrays of a batch, `[batch, length]` (or `[batch, window]` once scored). */
const perTokenKeys = ["targets", "lossMask", "advantages", "oldLogProbs", "refLogProbs"] as const

/**
 * `b` with its loss taken at `window` positions per row only: `scoredPositions` (int32 `[batch, window]`, flat
 * indices into the `batch · length` inputs) and every per-token array (targets, mask, advantages, log-probs) cut to
 * those positions, `[batch, window]`. Row r's window starts at its first masked target (earlier when that would run
 * past the row), so the loss and its gradient are unchanged while the LM head, the vocabulary-wide part of a step,
 * runs on `window` positions instead of `length` (`Model.sequenceTokenLogProbs` with `scored`): in an RL update of
 * 32-token completions after 300-token prompts, a tenth of them. Throws a RangeError when `window` is not in
 * `[1, length]` or a row's loss does not fit (see `lossWindow`), or when `b` is already scored.
 */
export const scoredWindow = <B extends TokenBatch>(b: B, window: number): B => {
  if (b.scoredPositions !== undefined) throw new RangeError("scoredWindow: the batch is already scored")
  if (!Number.isInteger(window) || window < 1 || window > b.length)
    throw new RangeError(`scoredWindow: window ${window} must be a whole number in [1, ${b.length}] (the batch length)`)
  const scoredPositions = new Int32Array(b.batch * window)
  const starts: Array<number> = []
  for (let r = 0; r < b.batch; r++) {
    const span = lossSpan(b, r)
    if (span !== undefined && span[1] - span[0] + 1 > window)
      throw new RangeError(
        `scoredWindow: row ${r} has loss on positions ${span[0]}..${span[1]}, more than the window of ${window} (use lossWindow)`
      )
    const start = Math.min(span?.[0] ?? 0, b.length - window)
    starts.push(start)
    for (let k = 0; k < window; k++) scoredPositions[r * window + k] = r * b.length + start + k
  }
  const cut = <A extends Int32Array | Float32Array>(a: A): A => {
    const out = new (a.constructor as new (n: number) => A)(b.batch * window)
    for (let r = 0; r < b.batch; r++)
      out.set(a.subarray(r * b.length + starts[r]!, r * b.length + starts[r]! + window), r * window)
    return out
  }
  const scored: Record<string, unknown> = { ...(b as unknown as Record<string, unknown>), window, scoredPositions }
  for (const key of perTokenKeys) {
    const a = scored[key]
    if (a instanceof Int32Array || a instanceof Float32Array) scored[key] = cut(a)
  }
  return scored as unknown as B
}
