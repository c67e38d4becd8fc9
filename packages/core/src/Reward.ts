/**
 * A structured reward: the shaped total used for training, its named components for logging, and the truth
 * check (answer correct against gold) kept apart so reward hacking shows in metrics.
 */
import { Schema } from "effect"

/** Reward for one completion. */
export const Reward = Schema.Struct({
  total: Schema.Finite,
  /** Named, weighted components; by convention they sum to `total`. */
  components: Schema.Record(Schema.String, Schema.Finite),
  /** Whether the final answer is correct against gold, independent of shaping. */
  correct: Schema.Boolean,
  /** The normalised final answer the verifier found in the completion, if any (for majority votes). */
  answer: Schema.optionalKey(Schema.String),
  /** Unweighted diagnostics in [0, 1] for reports (e.g. `verdictAccuracy` over the routes shown); not part of `total`. */
  metrics: Schema.optionalKey(Schema.Record(Schema.String, Schema.Finite))
})
export type Reward = typeof Reward.Type
