/**
 * Choosing the next token from logits: greedy, temperature, top-k and top-p (nucleus), as pure functions over a
 * logits vector `[vocab]` and one uniform "coin" in [0, 1). Randomness stays outside: pass `rng.float()` from a
 * core `Rng` (see `draw`), so every sample is reproducible from its seed path.
 */
import { Schema } from "effect"
import type { Rng } from "@realm-lm/core"

/**
 * Sampling settings. `temperature` (default 1): logits are divided by it; 0 means greedy. `topK` (default 0 = off):
 * keep the k most probable tokens. `topP` (default 1 = off): keep the smallest most-probable set whose probability
 * exceeds p. Filters apply in that order, each renormalising.
 */
export const SamplingConfig = Schema.Struct({
  temperature: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  topK: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  topP: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1))
})
/** Validated sampling settings. */
export type SamplingConfig = typeof SamplingConfig.Type

/** Greedy decoding. */
export const greedy: SamplingConfig = { temperature: 0, topK: 0, topP: 1 }
/** Plain sampling from the model's distribution. */
export const pure: SamplingConfig = { temperature: 1, topK: 0, topP: 1 }

/** Index of the largest logit; the first one on ties (as llama2.c's `sample_argmax`). */
export const argmax = (logits: ArrayLike<number>): number => {
  let best = 0
  let max = logits[0]!
  for (let i = 1; i < logits.length; i++) {
    if (logits[i]! > max) {
      max = logits[i]!
      best = i
    }
  }
  return best
}

/** log-softmax of `logits / temperature` `[vocab]`, in float64 (max-subtracted, so stable for any logits). */
export const logSoftmax = (logits: ArrayLike<number>, temperature = 1): Float64Array => {
  const out = new Float64Array(logits.length)
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]! / temperature)
  let sum = 0
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! / temperature - max)
  const logZ = max + Math.log(sum)
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! / temperature - logZ
  return out
}

/** Log-probability of `token` under softmax(logits): what scoring and policy-gradient ratios use. */
export const logProb = (logits: ArrayLike<number>, token: number): number => {
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!)
  let sum = 0
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max)
  return logits[token]! - max - Math.log(sum)
}

/** Candidate tokens in the order the coin walks them, with their (renormalised) probabilities. */
export interface Candidates {
  readonly ids: Int32Array
  readonly probs: Float64Array
}

/**
 * The distribution `sample` draws from. Without top-k/top-p the candidates are every token in id order (as
 * llama2.c's `sample_mult`); with a filter they are sorted by probability, descending, ties by lower id (as
 * `sample_topp`). For temperature 0 it is the argmax with probability 1.
 *
 * Called once per generated token per sequence, over the whole vocabulary (151,936 ids for Qwen2.5), so it avoids
 * per-element callbacks and sorts only the tokens a filter can keep: top-k selects its `k` with a heap; top-p takes
 * the most probable tokens down to the first power-of-two fraction of the top probability whose set holds more than
 * `topP` of the mass (ties at that threshold all in or all out). The kept prefix, its order and every sum are exactly
 * those of sorting the whole vocabulary.
 */
export const candidates = (logits: ArrayLike<number>, config: SamplingConfig): Candidates => {
  const n = logits.length
  if (config.temperature === 0) return { ids: Int32Array.of(argmax(logits)), probs: Float64Array.of(1) }
  const logp = logSoftmax(logits, config.temperature)
  const all = new Float64Array(n)
  for (let i = 0; i < n; i++) all[i] = Math.exp(logp[i]!)
  if (config.topK === 0 && config.topP === 1) {
    const ids = new Int32Array(n)
    for (let i = 0; i < n; i++) ids[i] = i
    return { ids, probs: all }
  }
  let ids = mostProbable(all, logp, config.topK < n ? config.topK : 0, config.topP)
  let probs: Float64Array = new Float64Array(ids.length)
  for (let i = 0; i < ids.length; i++) probs[i] = all[ids[i]!]!
  if (config.topK > 0 && config.topK < n) {
    ids = ids.subarray(0, config.topK)
    probs = renormalise(probs.subarray(0, config.topK))
  }
  if (config.topP < 1) {
    let cumulative = 0
    let keep = probs.length
    for (let i = 0; i < probs.length; i++) {
      cumulative += probs[i]!
      if (cumulative > config.topP) {
        keep = i + 1
        break
      }
    }
    ids = ids.subarray(0, keep)
    probs = renormalise(probs.subarray(0, keep))
  }
  return { ids, probs }
}

/** Whether token `a` comes before token `b`: higher log-probability first, ties by lower id. */
const before = (logp: Float64Array, a: number, b: number): boolean =>
  logp[a]! > logp[b]! || (logp[a] === logp[b] && a < b)

/**
 * The ids of the most probable tokens, sorted by log-probability descending (ties by lower id): a prefix of the whole
 * vocabulary sorted that way, long enough that top-k (`k` > 0: exactly the first `k`) or else (`k` = 0) the top-p
 * walk over `probs` in that order ends inside it.
 */
const mostProbable = (probs: Float64Array, logp: Float64Array, k: number, p: number): Int32Array => {
  const order = (ids: Int32Array) => ids.toSorted((a, b) => logp[b]! - logp[a]! || a - b)
  if (k > 0) return order(topK(logp, k))
  const n = probs.length
  let max = 0
  let positive = 0
  for (let i = 0; i < n; i++) {
    if (probs[i]! > max) max = probs[i]!
    if (probs[i]! > 0) positive++
  }
  // Tried for t = max · 2^-j, j = 0, 1, ...: the tokens with p_i >= t (ties at t all in or all out, so a prefix).
  // Top-p 1 here means top-k at or above the vocabulary: every token, sorted. Once every token with a nonzero
  // probability is in (the rest underflowed to 0), a walk that has not ended would not end before the last token.
  for (let t = p < 1 ? max : 0; t > 0; t /= 2) {
    let count = 0
    for (let i = 0; i < n; i++) if (probs[i]! >= t) count++
    if (count >= positive) break
    const above = new Int32Array(count)
    let j = 0
    for (let i = 0; i < n; i++) if (probs[i]! >= t) above[j++] = i
    const ids = order(above)
    let cumulative = 0
    for (let i = 0; i < count; i++) {
      cumulative += probs[ids[i]!]!
      if (cumulative > p) return ids
    }
  }
  const ids = new Int32Array(n)
  for (let i = 0; i < n; i++) ids[i] = i
  return order(ids)
}

/** The `k` first tokens in `before` order (unsorted), by a heap whose root is the last of those kept so far. */
const topK = (logp: Float64Array, k: number): Int32Array => {
  const heap = new Int32Array(k)
  let size = 0
  const down = (from: number) => {
    let i = from
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let last = i
      if (l < size && before(logp, heap[last]!, heap[l]!)) last = l
      if (r < size && before(logp, heap[last]!, heap[r]!)) last = r
      if (last === i) return
      ;[heap[i], heap[last]] = [heap[last]!, heap[i]!]
      i = last
    }
  }
  for (let id = 0; id < logp.length; id++) {
    if (size < k) {
      heap[size] = id
      let i = size++
      while (i > 0 && before(logp, heap[(i - 1) >> 1]!, heap[i]!)) {
        const parent = (i - 1) >> 1
        ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
        i = parent
      }
    } else if (before(logp, id, heap[0]!)) {
      heap[0] = id
      down(0)
    }
  }
  return heap.subarray(0, size)
}

const renormalise = (p: Float64Array): Float64Array => {
  let sum = 0
  for (const x of p) sum += x
  return p.map((x) => x / sum)
}

/** Sample a token with a uniform coin in [0, 1): the first candidate whose cumulative probability exceeds it. */
export const sample = (logits: ArrayLike<number>, config: SamplingConfig, coin: number): number => {
  const { ids, probs } = candidates(logits, config)
  return ids[walk(probs, coin)]! // the last one when rounding leaves coin ≥ the summed probabilities
}

/** One sampled token with the two log-probabilities a rollout records. */
export interface Choice {
  readonly token: number
  /** log softmax(logits)[token] at temperature 1, what scoring and policy-gradient ratios use (`logProb`). */
  readonly logProb: number
  /** log of the probability the token was drawn with: its candidate's (renormalised) probability; 0 when greedy. */
  readonly samplingLogProb: number
}

/**
 * `sample` plus the token's `logProb` and its sampling log-probability, bit for bit what `candidates`, the coin walk
 * and `logProb` give, in fewer passes over the vocabulary: without filters the walk computes each probability as it
 * goes and stops at the drawn token (no candidate arrays), and at temperature 1 `logProb` reuses the softmax's max
 * and sum, which are the same numbers.
 */
export const choose = (logits: ArrayLike<number>, config: SamplingConfig, coin: number): Choice => {
  if (config.temperature === 0) {
    const token = argmax(logits)
    return { token, logProb: logProb(logits, token), samplingLogProb: 0 }
  }
  if (config.topK > 0 || config.topP < 1) {
    const { ids, probs } = candidates(logits, config)
    const k = walk(probs, coin)
    return { token: ids[k]!, logProb: logProb(logits, ids[k]!), samplingLogProb: Math.log(probs[k]!) }
  }
  // As logSoftmax computes them: the max and the sum of exp(x / T − max), then p_i = exp(x_i / T − logZ).
  const n = logits.length
  const t = config.temperature
  let max = -Infinity
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]! / t)
  let sum = 0
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i]! / t - max)
  const logZ = max + Math.log(sum)
  // Without a break (rounding: coin ≥ the summed probabilities) the last token, p its probability.
  let cdf = 0
  let token = n - 1
  let p = 0
  for (let i = 0; i < n; i++) {
    p = Math.exp(logits[i]! / t - logZ)
    cdf += p
    if (coin < cdf) {
      token = i
      break
    }
  }
  return {
    token,
    logProb: t === 1 ? logits[token]! - max - Math.log(sum) : logProb(logits, token),
    samplingLogProb: Math.log(p)
  }
}

/** Index of the first cumulative probability above `coin`, else the last (rounding). */
const walk = (probs: Float64Array, coin: number): number => {
  let cdf = 0
  for (let i = 0; i < probs.length; i++) {
    cdf += probs[i]!
    if (coin < cdf) return i
  }
  return probs.length - 1
}

/** Sample with a core `Rng` (one `float()` per token; greedy draws nothing). */
export const draw = (logits: ArrayLike<number>, config: SamplingConfig, rng: Rng.Rng): number =>
  config.temperature === 0 ? argmax(logits) : sample(logits, config, rng.float())
