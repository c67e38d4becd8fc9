/**
 * What a run report shows: results of every method, training curves over steps, the guidance strength s(t),
 * and example MRPV completions with the model's verdicts on each route.
 */
import { Schema } from "effect"
import { EvalResult, Route } from "@realm-lm/core"

/** One point of a curve. */
export const Point = Schema.Struct({ step: Schema.Finite, value: Schema.Finite })

/** A named curve over training steps (e.g. `rl/reward_mean`, `rl/truth_accuracy`). */
export const Curve = Schema.Struct({
  name: Schema.String,
  points: Schema.Array(Point)
})
export type Curve = typeof Curve.Type

/** The policy's verdict on one shown route, next to the route's true label. */
export const RouteVerdict = Schema.Struct({
  route: Schema.String,
  label: Route.RouteLabel,
  predicted: Schema.Literals(["correct", "wrong", "missing"]),
  /** 1-based step the model named as the first wrong one, if any. */
  namedStep: Schema.optionalKey(Schema.Int),
  /** 1-based true decisive step of a negative route, if known. */
  decisiveStep: Schema.optionalKey(Schema.Int)
})

/** An example completion shown in the report. */
export const Example = Schema.Struct({
  title: Schema.String,
  prompt: Schema.String,
  completion: Schema.String,
  verdicts: Schema.Array(RouteVerdict),
  /** The shaped reward of this completion, when known. */
  reward: Schema.optionalKey(Schema.Finite),
  correct: Schema.Boolean
})
export type Example = typeof Example.Type

/** Everything a report renders. */
export const ReportData = Schema.Struct({
  title: Schema.String,
  generatedAt: Schema.String,
  /** Machine and command that produced the run, shown in the header. */
  provenance: Schema.String,
  results: Schema.Array(EvalResult.EvalResult),
  curves: Schema.Array(Curve),
  guidance: Schema.Array(Point),
  examples: Schema.Array(Example)
})
export type ReportData = typeof ReportData.Type
