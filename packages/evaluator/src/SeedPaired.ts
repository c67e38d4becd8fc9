/**
 * Statistics for multi-seed experiments: each method is trained/evaluated under several seeds on the same
 * problems, so an estimate has two sources of noise (which seeds, which problems). Two-level bootstraps resample
 * both; the one-level variants (over problems only, over seeds only) show which source dominates.
 */
import { Rng } from "@realm-lm/core"
import type { EvalResult } from "@realm-lm/core"
import { defaultResamples, mean, meanCi, percentile, twoSidedP, type Options } from "./Bootstrap.ts"

/** Scores of one method: seed → problem id → score in [0, 1]. */
export type SeedScores = ReadonlyMap<number, ReadonlyMap<string, number>>

/** Accuracy of one method over seeds, with the two-level bootstrap interval. */
export interface AccuracyOverSeeds extends EvalResult.Estimate {
  /** Mean over the common problems, one per seed in ascending seed order (`seedIds`). */
  readonly perSeed: ReadonlyArray<number>
  readonly seedIds: ReadonlyArray<number>
  /** Problems used (present in every seed) and problems seen in some seed but dropped. */
  readonly problems: number
  readonly dropped: number
}

/** Method B against method A (baseline) over seeds and problems; every difference is b − a. */
export interface PairedOverSeeds {
  /** Two-level paired bootstrap: resample seeds and problems (see `pairedOverSeeds`). */
  readonly difference: EvalResult.Estimate
  /** Bootstrap over problems of the per-problem difference averaged over all seeds (seeds held fixed). */
  readonly overProblems: EvalResult.Estimate
  /** Percentile bootstrap over seeds of the per-seed mean differences (problems held fixed). */
  readonly overSeeds: EvalResult.Estimate
  /** 95% Student-t interval over seeds, mean ± t(0.975, seeds−1)·sd/√seeds; always 95% whatever `level` is. */
  readonly overSeedsT: EvalResult.Estimate
  /** Two-sided p-value for "no difference" from the two-level bootstrap, as in `Bootstrap.paired`. */
  readonly pValue: number
  /** Mean of b − a over the common problems, one per seed in ascending seed order (`seedIds`). */
  readonly perSeed: ReadonlyArray<number>
  readonly seedIds: ReadonlyArray<number>
  /** Seeds present in both methods; problems present in both methods under every one of those seeds. */
  readonly seeds: number
  readonly problems: number
  /** Problem ids seen under some shared seed but not common to all, and seeds only one method has. */
  readonly dropped: number
  readonly droppedSeeds: number
}

// Student t 0.975 quantiles (two-sided 95%) for df = 1..30 from the standard 3-decimal table.
const t975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042
]

/** Student t 0.975 quantile for `df` degrees of freedom: table for 1..30, the normal 1.96 beyond (slightly narrow up to df ≈ 120). */
export const t975Quantile = (df: number): number => (df >= 1 && df <= 30 ? t975[Math.floor(df) - 1]! : 1.96)

/** Seeds in every method (ascending), problems common to all of them (sorted), and how many of each were dropped. */
const align = (methods: ReadonlyArray<SeedScores>) => {
  const allSeeds = new Set(methods.flatMap((m) => [...m.keys()]))
  const seedIds = [...allSeeds].filter((s) => methods.every((m) => m.has(s))).toSorted((x, y) => x - y)
  const seen = new Set<string>()
  let common: Set<string> | undefined
  for (const s of seedIds) {
    for (const m of methods) {
      const scores = m.get(s) as ReadonlyMap<string, number>
      for (const id of scores.keys()) seen.add(id)
      common = new Set([...(common ?? scores.keys())].filter((id) => scores.has(id)))
    }
  }
  const problemIds = [...(common ?? [])].toSorted()
  return { seedIds, problemIds, dropped: seen.size - problemIds.length, droppedSeeds: allSeeds.size - seedIds.length }
}

/** Rows [seeds][problems] of `cell(seed, problemId)`. */
const grid = (
  seedIds: ReadonlyArray<number>,
  problemIds: ReadonlyArray<string>,
  cell: (s: number, id: string) => number
) => seedIds.map((s) => Float64Array.from(problemIds, (id) => cell(s, id)))

/**
 * Two-level bootstrap of the grand mean of `rows` [S seeds][P problems]. Each resample draws S seed indices and,
 * independently, P problem indices, both with replacement; the same problem draw applies to every chosen seed
 * (problems are shared), and the statistic is the mean of rows[s][p] over all S·P chosen (seed, problem) pairs.
 */
const twoLevel = (rows: ReadonlyArray<Float64Array>, options: Options, stream: string) => {
  const S = rows.length
  const P = S === 0 ? 0 : rows[0]!.length
  const value = mean(rows.map((row) => mean(row)))
  if (S * P < 2) return { estimate: { value, low: value, high: value }, pValue: 1 }
  const resamples = options.resamples ?? defaultResamples
  const rng = Rng.Rng.make(options.seed ?? 0, stream, S, P)
  const seedCount = new Float64Array(S)
  const problemCount = new Float64Array(P)
  const stats = new Float64Array(resamples)
  for (let r = 0; r < resamples; r++) {
    seedCount.fill(0)
    problemCount.fill(0)
    for (let i = 0; i < S; i++) seedCount[rng.int(S)]!++
    for (let j = 0; j < P; j++) problemCount[rng.int(P)]!++
    let total = 0
    for (let i = 0; i < S; i++) {
      const w = seedCount[i]!
      if (w === 0) continue
      const row = rows[i]!
      let t = 0
      for (let j = 0; j < P; j++) t += problemCount[j]! * row[j]!
      total += w * t
    }
    stats[r] = total / (S * P)
  }
  const pValue = twoSidedP(stats)
  return { estimate: { value, ...percentile(stats, options.level) }, pValue }
}

/** 95% Student-t interval of the mean of `xs` (df = n − 1); degenerate [mean, mean] below 2 values. */
const tInterval = (xs: ReadonlyArray<number>): EvalResult.Estimate => {
  const n = xs.length
  const value = mean(xs)
  if (n < 2) return { value, low: value, high: value }
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - value) ** 2, 0) / (n - 1))
  const half = (t975Quantile(n - 1) * sd) / Math.sqrt(n)
  return { value, low: value - half, high: value + half }
}

/** Mean over seeds of each seed's mean score, with a two-level (seeds × problems) bootstrap interval. */
export const accuracyOverSeeds = (scores: SeedScores, options: Options = {}): AccuracyOverSeeds => {
  const { seedIds, problemIds, dropped } = align([scores])
  const rows = grid(seedIds, problemIds, (s, id) => scores.get(s)?.get(id) as number)
  const { estimate } = twoLevel(rows, options, "seed-accuracy")
  return { ...estimate, perSeed: rows.map((row) => mean(row)), seedIds, problems: problemIds.length, dropped }
}

/**
 * Paired comparison of B against A over seeds and problems, on seeds both have and problems both have under
 * every such seed. With d[s][p] = b − a, `difference` is the mean of d; its interval is a two-level percentile
 * bootstrap that resamples seeds and problems with replacement, the same problem draw for every chosen seed,
 * i.e. the mean over chosen problems of d averaged over the chosen seeds. `pValue` comes from the same resamples.
 */
export const pairedOverSeeds = (a: SeedScores, b: SeedScores, options: Options = {}): PairedOverSeeds => {
  const { seedIds, problemIds, dropped, droppedSeeds } = align([a, b])
  const rows = grid(seedIds, problemIds, (s, id) => (b.get(s)?.get(id) as number) - (a.get(s)?.get(id) as number))
  const { estimate: difference, pValue } = twoLevel(rows, options, "seed-paired")
  const perSeed = rows.map((row) => mean(row))
  const perProblem = problemIds.map((_, j) => mean(rows.map((row) => row[j]!)))
  return {
    difference,
    overProblems: meanCi(perProblem, options),
    overSeeds: meanCi(perSeed, options),
    overSeedsT: tInterval(perSeed),
    pValue,
    perSeed,
    seedIds,
    seeds: seedIds.length,
    problems: problemIds.length,
    dropped,
    droppedSeeds
  }
}

/** `pairedOverSeeds` per group of problems (e.g. difficulty level), each on that group's problems alone. */
export const byGroup = (
  a: SeedScores,
  b: SeedScores,
  groupOf: (problemId: string) => string,
  options: Options = {}
): Record<string, PairedOverSeeds> => {
  const groups = new Set([a, b].flatMap((m) => [...m.values()].flatMap((scores) => [...scores.keys()].map(groupOf))))
  const restrict = (m: SeedScores, g: string): SeedScores =>
    new Map([...m].map(([s, scores]) => [s, new Map([...scores].filter(([id]) => groupOf(id) === g))]))
  return Object.fromEntries(
    [...groups].toSorted().map((g) => [g, pairedOverSeeds(restrict(a, g), restrict(b, g), options)])
  )
}
