/**
 * Evaluation results of one model (method) on one task split in one mode, with per-problem outcomes so that
 * methods can be compared pairwise on the same problems.
 */
import { Schema } from "effect"
import { Prompt } from "./Prompt.ts"

/** Evaluation mode: routes shown (assisted) or no external signal (autonomous). */
export const EvalMode = Schema.Literals(["assisted", "autonomous"])
export type EvalMode = typeof EvalMode.Type

/** An estimate with its 95% confidence interval. */
export const Estimate = Schema.Struct({
  value: Schema.Finite,
  low: Schema.Finite,
  high: Schema.Finite
})
export type Estimate = typeof Estimate.Type

/** Outcome on one problem: each sample's extracted answer and correctness. */
export const ProblemOutcome = Schema.Struct({
  problemId: Schema.String,
  difficulty: Schema.Finite,
  split: Schema.String,
  answers: Schema.Array(Schema.String),
  correct: Schema.Array(Schema.Boolean),
  /** The prompt shown, when the evaluator keeps it (for reports). */
  prompt: Schema.optionalKey(Prompt),
  /** Completion texts in sample order, when the evaluator keeps them. */
  texts: Schema.optionalKey(Schema.Array(Schema.String))
})
export type ProblemOutcome = typeof ProblemOutcome.Type

/** Results of one (method, task split, mode). */
export const EvalResult = Schema.Struct({
  method: Schema.String,
  checkpoint: Schema.String,
  task: Schema.String,
  split: Schema.String,
  mode: EvalMode,
  samples: Schema.Int,
  /** Accuracy of the first sample (greedy when temperature is 0). */
  accuracy: Estimate,
  /** Further named metrics (sc@k, pass@k, consistency, route-verdict accuracy...). */
  metrics: Schema.Record(Schema.String, Estimate),
  /** Breakdowns, e.g. `{"difficulty=2": {...}, "heldout": {...}}`. */
  breakdown: Schema.Record(Schema.String, Estimate),
  outcomes: Schema.Array(ProblemOutcome)
})
export type EvalResult = typeof EvalResult.Type
