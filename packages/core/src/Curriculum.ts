/**
 * Contract: how much external signal each problem gets at each training step (EAAI), and rescue of groups
 * where every sample failed. Stateful, with state that serializes into checkpoints and restores exactly. The
 * trainer tells it the run's horizon (`start`) before the first step, so a schedule need not be told its length
 * in settings.
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

/** What the trainer tells the curriculum before its first step (and again on resume): the run's length. */
export const Horizon = Schema.Struct({
  /** Number of RL steps the trainer will run; steps passed to `decide` are 0 to totalSteps - 1. */
  totalSteps: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
})
export type Horizon = typeof Horizon.Type

/** The curriculum cannot run over the trainer's horizon (e.g. its warm-up outlasts the run). */
export class CurriculumHorizonInvalid extends Schema.TaggedError<CurriculumHorizonInvalid>()(
  "CurriculumHorizonInvalid",
  {
    totalSteps: Schema.Int,
    detail: Schema.String
  }
) {
  override get message(): string {
    return `the curriculum cannot run over ${this.totalSteps} RL steps: ${this.detail}`
  }
}

/**
 * A guidance that does not follow the curriculum's own schedule, asked of a curriculum by the baselines:
 * `always-routes` shows the most routes in every prompt (a CoT-Synthesizer-style policy), `none` never guides
 * (no routes, hints or rescue). An implementation that can run this way declares how (the pipeline's
 * `Implementation.fixedGuidance`); one that cannot is replaced for those baselines by the registered `fixed` one.
 */
export const FixedGuidance = Schema.Literals(["always-routes", "none"])
export type FixedGuidance = typeof FixedGuidance.Type

/** Decides guidance per step and problem. */
export class Curriculum extends Context.Service<
  Curriculum,
  {
    /** Signal strength s(t) of the global schedule at `step`. */
    readonly strength: (step: number) => number
    /** Guidance for each problem of this step's batch. */
    readonly decide: (step: number, problems: ReadonlyArray<Problem>) => Effect.Effect<ReadonlyArray<GuidanceDecision>>
    /** Record outcomes; returns rescue decisions for groups that should be re-sampled with guidance. */
    readonly observe: (
      step: number,
      outcomes: ReadonlyArray<GroupOutcome>
    ) => Effect.Effect<ReadonlyArray<GuidanceDecision>>
    /** Serializable state for checkpoints. */
    readonly snapshot: Effect.Effect<Schema.Json>
    readonly restore: (state: Schema.Json) => Effect.Effect<void, CurriculumStateError>
    /**
     * Learn the run's horizon; the trainer calls it once before the first step (after `restore` on resume). A
     * curriculum whose settings fix its own length may ignore it. Optional: a curriculum without one is never told.
     */
    readonly start?: (horizon: Horizon) => Effect.Effect<void, CurriculumHorizonInvalid>
  }
>()("@realm-lm/core/Curriculum") {}
