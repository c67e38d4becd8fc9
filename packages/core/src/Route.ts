/**
 * A reasoning route: a step-by-step solution to a problem, positive when its final answer matches gold.
 * Negative routes carry the decisive step, the first step where they depart from a correct route.
 */
import { Schema } from "effect"

/** Whether a route reaches the gold answer. */
export const RouteLabel = Schema.Literals(["positive", "negative"])
export type RouteLabel = typeof RouteLabel.Type

/** One reasoning route, labelled against gold. */
export const Route = Schema.Struct({
  /** Unique within its problem. */
  id: Schema.NonEmptyString,
  steps: Schema.Array(Schema.String),
  /** The route's final answer as written (normalised by the task's answer judge when compared). */
  answer: Schema.String,
  /** Who produced it, e.g. `"rule-teacher"`, `"openai:gpt-4o-mini"`, `"policy@step120"`. */
  source: Schema.String,
  label: RouteLabel,
  /** 0-based index of the first wrong step, for negative routes when known. */
  decisiveStep: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Short description of what goes wrong at the decisive step (rule misapplied, value miscomputed). */
  decisiveNote: Schema.optionalKey(Schema.String)
})
export type Route = typeof Route.Type

/** Render a route's steps as numbered lines, `Step 1: ...`, the format every prompt uses. */
export const renderSteps = (steps: ReadonlyArray<string>): string =>
  steps.map((step, i) => `Step ${i + 1}: ${step}`).join("\n")
