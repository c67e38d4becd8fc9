/**
 * A sampled completion with the token ids and per-token log-probs it was sampled with, and the prompt it was
 * sampled from.
 */
import { Schema } from "effect"
import { Prompt } from "./Prompt.ts"

/** Why generation stopped. */
export const FinishReason = Schema.Literals(["eos", "stop", "length"])
export type FinishReason = typeof FinishReason.Type

/**
 * One completion. `logprobs[i]` is log π(tokenIds[i]) under the policy's raw distribution (temperature 1, no top-k
 * or top-p), whatever sampling settings chose the token: what importance ratios and KL terms need.
 */
export const Completion = Schema.Struct({
  prompt: Prompt,
  text: Schema.String,
  tokenIds: Schema.Array(Schema.Int),
  logprobs: Schema.Array(Schema.Finite),
  finishReason: FinishReason
})
export type Completion = typeof Completion.Type
