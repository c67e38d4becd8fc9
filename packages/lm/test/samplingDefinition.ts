/**
 * `Sampling.candidates` by its definition, the way the engine computed it before 2026-12-07: every id sorted by
 * log-probability (ties by lower id) when a filter is on, arrays built element by element, then top-k and the top-p
 * walk, each renormalising. The reference the sampling tests compare against bit for bit, and the baseline of
 * `bench/sampling.ts`.
 */
import * as Sampling from "../src/Sampling.ts"

export const candidatesByDefinition = (
  logits: ArrayLike<number>,
  config: Sampling.SamplingConfig
): Sampling.Candidates => {
  const n = logits.length
  const logp = Sampling.logSoftmax(logits, config.temperature)
  let ids: Int32Array = Int32Array.from({ length: n }, (_, i) => i)
  if (config.topK > 0 || config.topP < 1) ids = ids.toSorted((a, b) => logp[b]! - logp[a]! || a - b)
  let probs: Float64Array = Float64Array.from(ids, (i) => Math.exp(logp[i]!))
  const norm = (p: Float64Array) => {
    let sum = 0
    for (const x of p) sum += x
    return p.map((x) => x / sum)
  }
  if (config.topK > 0 && config.topK < n) {
    ids = ids.subarray(0, config.topK)
    probs = norm(probs.subarray(0, config.topK))
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
    probs = norm(probs.subarray(0, keep))
  }
  return { ids, probs }
}
