/**
 * Bootstrap confidence intervals: percentile intervals for a mean, and paired comparisons of two methods
 * evaluated on the same problems (resampling problems, keeping pairs together). Seeded by core's Rng.
 */
import { Rng } from "@realm-lm/core"
import type { EvalResult } from "@realm-lm/core"

/** Default number of bootstrap resamples. */
export const defaultResamples = 2000

/** Resampling options shared by every bootstrap here: stream seed (default 0), resamples (default 2000), level (default 0.95). */
export interface Options {
  readonly seed?: number
  readonly resamples?: number
  readonly level?: number
}

/** Arithmetic mean; 0 for an empty input. */
export const mean = (xs: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]!
  return xs.length === 0 ? 0 : s / xs.length
}

/** Linear-interpolated quantile `q` in [0, 1] of an ascending-sorted sample; NaN when empty. */
export const quantile = (sorted: Float64Array, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

/** Central percentile interval at `level` (default 0.95) of bootstrap statistics; sorts `stats` in place. */
export const percentile = (stats: Float64Array, level = 0.95): { readonly low: number; readonly high: number } => {
  stats.sort()
  const alpha = (1 - level) / 2
  return { low: quantile(stats, alpha), high: quantile(stats, 1 - alpha) }
}

/** Two-sided bootstrap p-value for "no difference": twice the smaller share of `stats` at or below / at or above 0, capped at 1. */
export const twoSidedP = (stats: ArrayLike<number>): number => {
  let below = 0
  let above = 0
  for (let r = 0; r < stats.length; r++) {
    if (stats[r]! <= 0) below++
    if (stats[r]! >= 0) above++
  }
  return stats.length === 0 ? 1 : Math.min(1, (2 * Math.min(below, above)) / stats.length)
}

/** Sums of `resamples` bootstrap resamples of `values` (each `values.length` draws with replacement from `rng`). */
const resampledSums = (values: ArrayLike<number>, resamples: number, rng: Rng.Rng): Float64Array => {
  const n = values.length
  const sums = new Float64Array(resamples)
  for (let r = 0; r < resamples; r++) {
    let s = 0
    for (let i = 0; i < n; i++) s += values[rng.int(n)]!
    sums[r] = s
  }
  return sums
}

/** Mean of `values` with a percentile bootstrap interval at `level` (default 95%). */
export const meanCi = (values: ArrayLike<number>, options: Options = {}): EvalResult.Estimate => {
  const n = values.length
  const value = mean(values)
  if (n < 2) return { value, low: value, high: value }
  const rng = Rng.Rng.make(options.seed ?? 0, "bootstrap", n)
  const means = resampledSums(values, options.resamples ?? defaultResamples, rng).map((s) => s / n)
  return { value, ...percentile(means, options.level) }
}

/** Paired comparison of method B against method A on the same problems. */
export interface PairedComparison {
  /** Mean of (b - a) with its bootstrap interval. */
  readonly difference: EvalResult.Estimate
  /** Two-sided bootstrap p-value for "no difference" (share of resampled differences on the other side of 0, doubled). */
  readonly pValue: number
  /** Problems where only A was right / only B was right. */
  readonly onlyA: number
  readonly onlyB: number
  readonly n: number
}

/** Compare per-problem scores of two methods on the same problems, aligned by problem id. */
export const paired = (
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
  options: Options = {}
): PairedComparison => {
  const ids = [...a.keys()].filter((id) => b.has(id)).toSorted()
  const diffs = new Float64Array(ids.length)
  let onlyA = 0
  let onlyB = 0
  ids.forEach((id, i) => {
    const x = a.get(id) as number
    const y = b.get(id) as number
    diffs[i] = y - x
    if (x > y) onlyA++
    if (y > x) onlyB++
  })
  const difference = meanCi(diffs, options)
  const n = ids.length
  if (n < 2) return { difference, pValue: 1, onlyA, onlyB, n }
  const rng = Rng.Rng.make(options.seed ?? 0, "paired", n)
  const pValue = twoSidedP(resampledSums(diffs, options.resamples ?? defaultResamples, rng))
  return { difference, pValue, onlyA, onlyB, n }
}
