/**
 * Callbacks a run reports progress through, for a live display (the CLI's progress bars).
 */
import type { EvalResult } from "@realm-lm/core"
import type { Progress as CorpusProgress } from "@realm-lm/corpus"
import type { Progress as TrainerProgress } from "@realm-lm/trainer"
import type { Effect } from "effect"
import type { StageOutcome } from "./StageRunner.ts"

/** Callbacks for a live display. */
export interface Hooks {
  readonly stage?: (name: string, outcome: "start" | StageOutcome) => Effect.Effect<void>
  readonly corpus?: (split: string, progress: CorpusProgress.Progress) => Effect.Effect<void>
  readonly train?: (method: string, event: TrainerProgress.ProgressEvent) => Effect.Effect<void>
  /** After each evaluation (one method, split and mode): how many of how many are done, and the result. */
  readonly evaluated?: (done: number, total: number, result: EvalResult.EvalResult) => Effect.Effect<void>
}
