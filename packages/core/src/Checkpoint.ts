/**
 * A reference to a model checkpoint directory on disk (Hugging Face layout) and what produced it.
 */
import { Schema } from "effect"

/** Pointer to a checkpoint directory. */
export const CheckpointRef = Schema.Struct({
  /** Directory holding `config.json`, `model.safetensors`, tokenizer files and `trainer_state.json`. */
  path: Schema.String,
  /** Which training produced it. */
  kind: Schema.Literals(["base", "sft", "rft", "rl"]),
  /** Optimizer step at which it was written. */
  step: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** Metrics at that step (e.g. held-out loss, truth accuracy). */
  metrics: Schema.Record(Schema.String, Schema.Finite)
})
export type CheckpointRef = typeof CheckpointRef.Type
