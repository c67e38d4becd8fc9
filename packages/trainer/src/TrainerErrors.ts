/**
 * Typed failures of training runs, named after what happened, with the data needed to act on them and a fix hint.
 * The `PolicyTrainer` layer folds them into core's `TrainerError` (reason = the tag, detail = the message).
 */
import { PolicyTrainer } from "@realm-lm/core"
import type { Verifier } from "@realm-lm/core"
import { Schema } from "effect"

/** Which training entry point (core's `PolicyTrainer.Phase`). */
export const Phase = PolicyTrainer.Phase
export type Phase = PolicyTrainer.Phase

/** A loss, gradient or input was NaN or infinite at a step (and `guards.nonFinite` is `fail`, or too many were skipped). */
export class NonFiniteValue extends Schema.TaggedError<NonFiniteValue>()("NonFiniteValue", {
  phase: Phase,
  /** 1-based optimizer step that failed. */
  step: Schema.Int,
  /** The tensor: `loss`, `grad:<parameter>`, `advantages`, `rewards`, `old_logprobs`, ... */
  tensor: Schema.String,
  value: Schema.Number,
  /** Steps skipped so far (with `guards.nonFinite: skip`). */
  skipped: Schema.Int
}) {
  override get message(): string {
    return (
      `${this.phase}: non-finite ${this.tensor} (${this.value}) at step ${this.step}` +
      (this.skipped > 0 ? ` after ${this.skipped} skipped steps` : "") +
      `; parameters were left unchanged. Lower the learning rate, keep optimizer.clipNorm > 0, or set guards.nonFinite: skip`
    )
  }
}

/** A checkpoint file is missing, unreadable or does not match the hash recorded when it was written. */
export class CheckpointCorrupted extends Schema.TaggedError<CheckpointCorrupted>()("CheckpointCorrupted", {
  /** The checkpoint directory. */
  dir: Schema.String,
  /** The offending file inside it. */
  file: Schema.String,
  detail: Schema.String,
  /** The newest earlier checkpoint that verifies, if any. */
  previous: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return (
      `checkpoint ${this.dir} is corrupted: ${this.file}: ${this.detail}. ` +
      (this.previous === undefined
        ? "No earlier checkpoint verifies; start without resume."
        : `Delete it to resume from ${this.previous}.`)
    )
  }
}

/** The checkpoint was written by another phase, model or incompatible config. */
export class CheckpointMismatch extends Schema.TaggedError<CheckpointMismatch>()("CheckpointMismatch", {
  dir: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot resume from ${this.dir}: ${this.detail}. Use a fresh outDir or the config the run started with`
  }
}

/** The training data could not be used (unreadable, malformed, empty, or no example fits the buckets). */
export class TrainingDataError extends Schema.TaggedError<TrainingDataError>()("TrainingDataError", {
  path: Schema.String,
  detail: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}. ${this.fix}`
  }
}

/** The model, tokenizer or runtime could not be set up or run. */
export class EngineFailed extends Schema.TaggedError<EngineFailed>()("EngineFailed", {
  /** What was being done: `load`, `generate`, `score`, `train`, `save`. */
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.operation}: ${this.detail}`
  }
}

/** What every training run can fail with: its data, the engine, a non-finite value, the checkpoint it resumes, the verifier. */
export type RunError =
  | TrainingDataError
  | EngineFailed
  | NonFiniteValue
  | CheckpointCorrupted
  | CheckpointMismatch
  | Verifier.VerifierError
