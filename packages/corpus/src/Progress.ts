/**
 * Progress of a corpus build, reported after every finished problem, and its one-line rendering for a terminal
 * progress bar (done/total, rate, ETA, positives/negatives, retries).
 */

/** A progress report. Counts are cumulative; `done` counts problems finished in this run. */
export interface Progress {
  /** Problems finished in this run: written, failed or dropped. */
  readonly done: number
  /** Problems in the input, when the caller knows it. */
  readonly total: number | undefined
  /** Problems already in the corpus from an earlier run (skipped). */
  readonly resumed: number
  readonly records: number
  readonly failed: number
  readonly dropped: number
  /** Input problems whose id was already seen in this input (skipped). */
  readonly duplicates: number
  /** Positive and negative routes in the corpus so far (earlier runs included). */
  readonly positives: number
  readonly negatives: number
  /** Teacher request retries and malformed responses in this run (0 for teachers without metrics). */
  readonly retries: number
  readonly malformed: number
  readonly elapsedMs: number
  /** Problems per second in this run. */
  readonly rate: number
  /** Estimated time left, when `total` is known and the rate is positive. */
  readonly etaMs: number | undefined
}

const seconds = (ms: number): string => {
  const s = Math.round(ms / 1000)
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
      : `${s}s`
}

/** One progress line, e.g. `[#####-----] 120/240 (50%) 31.5/s ETA 4s | +310 -250 | failed 0 | retries 3`. */
export const render = (p: Progress, width = 20): string => {
  const finished = p.done + p.resumed + p.duplicates
  const head =
    p.total === undefined || p.total === 0
      ? `${finished} done`
      : (() => {
          const fraction = Math.min(1, finished / p.total)
          const filled = Math.round(fraction * width)
          return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${finished}/${p.total} (${Math.round(fraction * 100)}%)`
        })()
  const eta = p.etaMs === undefined ? "" : ` ETA ${seconds(p.etaMs)}`
  const resumed = p.resumed > 0 ? ` | resumed ${p.resumed}` : ""
  return `${head} ${p.rate.toFixed(1)}/s${eta} | +${p.positives} -${p.negatives} | failed ${p.failed} | retries ${p.retries}${p.malformed > 0 ? ` malformed ${p.malformed}` : ""}${resumed}`
}
