/** The RL columns the trainer benches print: medians over the logged steps given (callers drop the first). */
import type * as Metrics from "../../src/Metrics.ts"

/** Median of the finite values (NaN when none). */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = xs.filter(Number.isFinite).toSorted((a, b) => a - b)
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2
}

/** Median of one metric over `lines` (missing or null values count as NaN and are left out). */
export const medianOf = (lines: ReadonlyArray<Metrics.MetricsLine>, key: string): number =>
  median(lines.map((l) => Number(l[key] ?? Number.NaN)))

/** Completion tokens, trained completions, rollout / scoring / update / whole-step seconds and token rates. */
export const rlColumns = (lines: ReadonlyArray<Metrics.MetricsLine>): Record<string, string | number> => {
  const m = (key: string) => medianOf(lines, key)
  return {
    "completion tokens": m("completion_tokens").toFixed(0),
    trained: m("trained_completions").toFixed(0),
    "rollout s": m("time_rollout").toFixed(2),
    "scoring s": m("time_scoring").toFixed(3),
    "update s": m("time_update").toFixed(2),
    "RL step s": (m("time_rollout") + m("time_scoring") + m("time_update")).toFixed(2),
    "gen tokens/s": Math.round(m("tokens_per_second")),
    "update tokens/s": Math.round(m("update_tokens_per_second"))
  }
}
