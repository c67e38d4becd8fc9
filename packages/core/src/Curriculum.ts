/**
 * Contract: how much external signal each problem gets at each training step (EAAI), and rescue of groups
 * where every sample failed. Stateful, with state that serializes into checkpoints and restores exactly.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { Problem } from "./Problem.ts"
import { Guidance } from "./Prompt.ts"

/** What one problem gets at one step. */
export const GuidanceDecision = Schema.Struct({
  problemId: Schema.String,
  /** Signal strength s in [0, 1] behind this decision. */
  strength: Schema.Finite,
  /** Number of routes to show; 0 means no routes. */
  routeCount: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** Fraction of a positive route's steps to give as a hint prefix, 0 for none. */
  hintFraction: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  /** True when this decision re-introduces guidance after a failed group. */
  rescue: Schema.Boolean,
  /** Seed for the prompt builder's shuffling and route choice, deterministic per (step, problem). */
  seed: Schema.Int
})
export type GuidanceDecision = typeof GuidanceDecision.Type

/** The outcome of one group of samples for one problem, fed back to the curriculum. */
export const GroupOutcome = Schema.Struct({
  problemId: Schema.String,
  /** The guidance the group's prompt actually carried. */
  guidance: Guidance,
  /** Truth (answer correct) per sample. */
  correct: Schema.Array(Schema.Boolean),
  rewards: Schema.Array(Schema.Finite)
})
export type GroupOutcome = typeof GroupOutcome.Type

/** Curriculum state could not be restored (wrong version or shape). */
export class CurriculumStateError extends Schema.TaggedError<CurriculumStateError>()("CurriculumStateError", {
  detail: Schema.String
}) {}

/** Decides guidance per step and problem. */
export class Curriculum extends Context.Service<Curriculum, {
  /** Signal strength s(t) of the global schedule at `step`. */
  readonly strength: (step: number) => number
  /** Guidance for each problem of this step's batch. */
  readonly decide: (step: number, problems: ReadonlyArray<Problem>) => Effect.Effect<ReadonlyArray<GuidanceDecision>>
  /** Record outcomes; returns rescue decisions for groups that should be re-sampled with guidance. */
  readonly observe: (step: number, outcomes: ReadonlyArray<GroupOutcome>) => Effect.Effect<ReadonlyArray<GuidanceDecision>>
  /** Serializable state for checkpoints. */
  readonly snapshot: Effect.Effect<Schema.Json>
  readonly restore: (state: Schema.Json) => Effect.Effect<void, CurriculumStateError>
}>()("@realm-lm/core/Curriculum") {}
