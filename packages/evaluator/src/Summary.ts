/**
 * Turn per-problem outcomes into an EvalResult: first-sample accuracy, sc@k, pass@k, consistency, and
 * breakdowns by difficulty and by split (seen vs held-out rule combinations), each with a bootstrap 95% CI.
 */
import type { EvalResult } from "@realm-lm/core"
import { meanCi } from "./Bootstrap.ts"
import { consistency, passAtK, selfConsistencyCorrect } from "./Metrics.ts"

/** Identity of a result: which method, checkpoint, task, split and mode. */
export interface ResultHeader {
  readonly method: string
  readonly checkpoint: string
  readonly task: string
  readonly split: string
  readonly mode: EvalResult.EvalMode
}

/** Per-problem scores of one metric, keyed by problem id (for paired comparisons). */
export const perProblem = (
  outcomes: ReadonlyArray<EvalResult.ProblemOutcome>,
  metric: "accuracy" | "sc" = "accuracy"
): Map<string, number> =>
  new Map(
    outcomes.map((o) => [
      o.problemId,
      metric === "accuracy" ? (o.correct[0] === true ? 1 : 0) : selfConsistencyCorrect(o.answers, o.correct) ? 1 : 0
    ])
  )

/** Summarise outcomes (each with the same number of samples k >= 1) into an EvalResult. */
export const summarise = (
  header: ResultHeader,
  outcomes: ReadonlyArray<EvalResult.ProblemOutcome>,
  options: { readonly seed?: number; readonly extraMetrics?: Record<string, ReadonlyArray<number>> } = {}
): EvalResult.EvalResult => {
  const k = outcomes[0]?.correct.length ?? 0
  const seed = options.seed ?? 0
  const first = outcomes.map((o) => (o.correct[0] === true ? 1 : 0))
  const metrics: Record<string, EvalResult.Estimate> = {}
  if (k > 1) {
    metrics[`sc@${k}`] = meanCi(
      outcomes.map((o) => (selfConsistencyCorrect(o.answers, o.correct) ? 1 : 0)),
      { seed }
    )
    metrics[`pass@${k}`] = meanCi(
      outcomes.map((o) => passAtK(o.correct.length, o.correct.filter(Boolean).length, k)),
      { seed }
    )
    metrics.consistency = meanCi(
      outcomes.map((o) => consistency(o.answers)),
      { seed }
    )
  }
  for (const [name, values] of Object.entries(options.extraMetrics ?? {})) metrics[name] = meanCi(values, { seed })
  const breakdown: Record<string, EvalResult.Estimate> = {}
  const groups = new Map<string, Array<number>>()
  for (const o of outcomes) {
    for (const key of [`difficulty=${o.difficulty}`, `split=${o.split}`]) {
      const list = groups.get(key) ?? []
      list.push(o.correct[0] === true ? 1 : 0)
      groups.set(key, list)
    }
  }
  for (const key of [...groups.keys()].toSorted()) breakdown[key] = meanCi(groups.get(key) ?? [], { seed })
  return { ...header, samples: k, accuracy: meanCi(first, { seed }), metrics, breakdown, outcomes }
}
