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

/** A half-open range `[start, end)` of character offsets in a text. */
export interface TextSpan {
  readonly start: number
  readonly end: number
}

/** A prompt with the ideal completion for it (verdicts, decisive steps, gold steps, answer): warm-start data. */
export interface Example {
  readonly prompt: Prompt
  readonly completion: string
  /**
   * Ranges of `completion` that carry the example's decisions (MRPV: each route's verdict), in order and not
   * overlapping. A trainer may weight their tokens more in the loss (the ONNX trainer's `sft.warmStart.emphasis`).
   * Optional: a verifier without it marks nothing.
   */
  readonly emphasis?: ReadonlyArray<TextSpan>
}

/** A request for practice examples of the verifier's own decisions (`Verifier.drills`). */
export interface DrillRequest {
  /** Examples wanted. */
  readonly count: number
  /** Seed of the draw: the same seed gives the same examples. */
  readonly seed: number
}

/**
 * What a completion says of one route it was shown: `correct` or `wrong` as the verifier reads its verdict line,
 * `unclear` for a verdict line that says neither, `missing` when there is none for the route.
 */
export type VerdictReading = "correct" | "wrong" | "unclear" | "missing"

/** A completion's verdict on one shown route, as the verifier that wrote the prompt reads it. */
export interface RouteVerdict {
  /** The route's id (from the prompt's `guidance.routeIds`). */
  readonly routeId: string
  readonly verdict: VerdictReading
  /** 1-based step the completion names as the route's first wrong one, when it names one. */
  readonly step?: number
}

/** Builds prompts and scores completions. */
export class Verifier extends Context.Service<
  Verifier,
  {
    readonly prompt: (request: PromptRequest) => Effect.Effect<Prompt, VerifierError>
    /** The prompt for a request and the ideal completion in the verifier's output format (for SFT warm starts). */
    readonly example: (request: PromptRequest) => Effect.Effect<Example, VerifierError>
    readonly score: (request: ScoreRequest) => Effect.Effect<Reward, VerifierError>
    /**
     * Practice examples of the decisions the verifier's completions make, with no problem behind them (MRPV: verdict
     * lines whose verdict is exactly whether a route's answer equals the completion's own), for SFT to mix in
     * (the ONNX trainer's `sft.warmStart.drills`): a small student learns a verdict from many more of them than warm
     * starts can show (docs/EXPERIMENTS.md, D13). Optional: a verifier (or a format of it) without drills leaves it out.
     */
    readonly drills?: (request: DrillRequest) => ReadonlyArray<Example>
    /**
     * The completion's verdicts on the routes its prompt showed, one per id of `routeIds` (the prompt's
     * `guidance.routeIds`, in display order), read in this verifier's output format: what reports show beside the
     * routes' labels. Optional: a verifier without it has no verdicts to show.
     */
    readonly verdicts?: (completion: string, routeIds: ReadonlyArray<string>) => ReadonlyArray<RouteVerdict>
  }
>()("@realm-lm/core/Verifier") {}
