/**
 * Contract: train a policy. SFT on the rules-free corpus view, RFT on self-generated correct routes, and RL
 * (GRPO family) with prompts and rewards from the Verifier and guidance from the Curriculum.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { CheckpointRef } from "./Checkpoint.ts"

/** A training phase: supervised fine-tuning, rejection-sampling fine-tuning, or RL. */
export const Phase = Schema.Literals(["sft", "rft", "rl"])
export type Phase = typeof Phase.Type

/**
 * A training run failed: non-finite values, bad config, unreadable data or checkpoint. `reason` names what happened
 * (the original error's tag); `cause` keeps the original typed error itself, so a caller can match on it
 * (`Predicate.isTagged(error.cause, "NonFiniteLoss")`) across the stage boundary.
 */
export class TrainerError extends Schema.TaggedError<TrainerError>()("TrainerError", {
  phase: Phase,
  reason: Schema.String,
  detail: Schema.String,
  step: Schema.optionalKey(Schema.Int),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `${this.phase} failed${this.step === undefined ? "" : ` at step ${this.step}`} (${this.reason}): ${this.detail}`
  }
}

/** What every training entry point needs: where to start, what data, where to write, whether to resume. */
export interface TrainRequest {
  /** Checkpoint directory to start from (Hugging Face layout). */
  readonly init: string
  /** Corpus JSONL (CorpusRecord lines). */
  readonly corpus: string
  /** Output directory for checkpoints, metrics and logs. */
  readonly outDir: string
  /** Continue from the latest checkpoint in `outDir`. */
  readonly resume: boolean
}

/** Trains policies; hyper-parameters come from the implementation's own config. */
export class PolicyTrainer extends Context.Service<
  PolicyTrainer,
  {
    readonly sft: (request: TrainRequest) => Effect.Effect<CheckpointRef, TrainerError>
    readonly rft: (request: TrainRequest) => Effect.Effect<CheckpointRef, TrainerError>
    readonly rl: (request: TrainRequest) => Effect.Effect<CheckpointRef, TrainerError>
  }
>()("@realm-lm/core/PolicyTrainer") {}
