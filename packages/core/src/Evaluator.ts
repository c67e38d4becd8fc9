/**
 * Contract: evaluate a checkpoint on problems in assisted (routes shown) or autonomous (no signal) mode.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { EvalMode, EvalResult } from "./EvalResult.ts"
import type { Problem } from "./Problem.ts"
import type { Route } from "./Route.ts"

/** Evaluation could not run (checkpoint unreadable, no problems, a server failing); `cause` keeps an underlying typed error. */
export class EvaluatorError extends Schema.TaggedError<EvaluatorError>()("EvaluatorError", {
  checkpoint: Schema.String,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `evaluating ${this.checkpoint}: ${this.detail}`
  }
}

/** One evaluation job. */
export interface EvalRequest {
  /** Label of the method in tables, e.g. `"ReaLM"`, `"SFT"`. */
  readonly method: string
  readonly checkpoint: string
  readonly task: string
  readonly split: string
  readonly problems: ReadonlyArray<Problem>
  /** Routes per problem id, used in assisted mode. */
  readonly routes: ReadonlyMap<string, ReadonlyArray<Route>>
  readonly mode: EvalMode
}

/** Evaluates checkpoints. */
export class Evaluator extends Context.Service<
  Evaluator,
  {
    readonly evaluate: (request: EvalRequest) => Effect.Effect<EvalResult, EvaluatorError>
  }
>()("@realm-lm/core/Evaluator") {}
