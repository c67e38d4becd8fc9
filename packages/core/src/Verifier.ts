/**
 * Contract: build the prompt a policy sees for a problem (with or without routes, per the curriculum's
 * decision), and score a completion with a structured reward (MRPV is the default implementation).
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { GuidanceDecision } from "./Curriculum.ts"
import type { Problem } from "./Problem.ts"
import type { Prompt } from "./Prompt.ts"
import type { Reward } from "./Reward.ts"
import type { Route } from "./Route.ts"

/** The verifier could not build a prompt (e.g. routes requested but none available). */
export class VerifierError extends Schema.TaggedError<VerifierError>()("VerifierError", {
  problemId: Schema.String,
  detail: Schema.String
}) {}

/** Input to prompt building. */
export interface PromptRequest {
  readonly problem: Problem
  /** Labelled routes available for this problem (corpus or sampled). */
  readonly routes: ReadonlyArray<Route>
  readonly decision: GuidanceDecision
}

/** Input to scoring: the completion text and the exact prompt it was sampled from. */
export interface ScoreRequest {
  readonly problem: Problem
  readonly prompt: Prompt
  /** The routes behind `prompt.guidance.routeIds` (labels known to the verifier, never to the policy). */
  readonly routes: ReadonlyArray<Route>
  readonly completion: string
}

/** A prompt with the ideal completion for it (verdicts, decisive steps, gold steps, answer): warm-start data. */
export interface Example {
  readonly prompt: Prompt
  readonly completion: string
}

/** Builds prompts and scores completions. */
export class Verifier extends Context.Service<Verifier, {
  readonly prompt: (request: PromptRequest) => Effect.Effect<Prompt, VerifierError>
  /** The prompt for a request and the ideal completion in the verifier's output format (for SFT warm starts). */
  readonly example: (request: PromptRequest) => Effect.Effect<Example, VerifierError>
  readonly score: (request: ScoreRequest) => Effect.Effect<Reward, VerifierError>
}>()("@realm-lm/core/Verifier") {}
