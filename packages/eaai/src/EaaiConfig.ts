/**
 * The EAAI curriculum config (config path `curriculum`): the fading schedule of external-signal strength
 * s(t), how s maps to guidance (routes, k, hints), per-problem adaptive fading and rescue of failed groups.
 * Cross-field checks reject a schedule that never reaches its autonomous phase unless explicitly allowed.
 */
import { ConfigDecode } from "@realm-lm/core"
import { Config, Schema } from "effect"

const { withDefault } = ConfigDecode

const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * Schedule shapes; all are non-increasing and exactly 0 in the final phase. `none` is 0 at every step: no routes,
 * hints or rescue (the no-guidance baseline).
 */
export const ScheduleKind = Schema.Literals(["exponential", "inverse-time", "cosine", "stepwise", "constant", "none"])
export type ScheduleKind = typeof ScheduleKind.Type

/**
 * The schedule of signal strength s(t) over training steps t. s = `initial` during warm-up, then decays over
 * the decay span [warmupSteps, zeroFrom), and is exactly 0 from `zeroFrom = totalSteps - ceil(autonomousFraction
 * * totalSteps)` on (the autonomous phase).
 */
export const ScheduleConfig = Schema.Struct({
  /** Shape of the decay. Default `exponential`. */
  kind: ScheduleKind.pipe(withDefault("exponential")),
  /** s during warm-up, in (0, 1]. Default 1. */
  initial: Probability.check(Schema.isGreaterThan(0)).pipe(withDefault(1)),
  /** Number of RL steps the trainer runs (steps are 0-based). Required. */
  totalSteps: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  /** Steps at full `initial` strength before decay starts. Default 0. */
  warmupSteps: Count.pipe(withDefault(0)),
  /** Fraction of `totalSteps`, at the end, with s exactly 0. Default 0.25. */
  autonomousFraction: Probability.check(Schema.isLessThan(1)).pipe(withDefault(0.25)),
  /** Allow `autonomousFraction: 0` (a baseline that never fades out, e.g. always-routes). Default false. */
  allowNoAutonomousPhase: Schema.Boolean.pipe(withDefault(false)),
  /** Exponential only: half-life of s in steps. Default: decay span / 6 (s ends the span near initial/64). */
  halfLife: Schema.optionalKey(Positive),
  /** Inverse-time only: s = initial / (1 + u / timeScale) at u steps into the decay. Default: decay span / 10. */
  timeScale: Schema.optionalKey(Positive),
  /** Stepwise only: number of equal stages, levels initial·(n-i)/n for stage i. Default 4. */
  stages: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
}).check(Schema.makeFilter((s) => {
  const issues: Array<Schema.FilterIssue> = []
  if (s.autonomousFraction === 0 && !s.allowNoAutonomousPhase) {
    issues.push({
      path: ["autonomousFraction"],
      issue: "the schedule never reaches the autonomous phase (s = 0); set autonomousFraction > 0, or allowNoAutonomousPhase: true for a baseline"
    })
  }
  const zero = s.kind === "none" ? 0 : s.totalSteps - Math.ceil(s.autonomousFraction * s.totalSteps)
  if (s.warmupSteps > zero) {
    issues.push({ path: ["warmupSteps"], issue: `warm-up (${s.warmupSteps} steps) must end by the autonomous phase, which starts at step ${zero}` })
  }
  const only = (field: "halfLife" | "timeScale" | "stages", kind: ScheduleKind) => {
    if (s[field] !== undefined && s.kind !== kind) issues.push({ path: [field], issue: `${field} is only used by kind "${kind}", not "${s.kind}"` })
  }
  only("halfLife", "exponential")
  only("timeScale", "inverse-time")
  only("stages", "stepwise")
  return issues
}))
export type ScheduleConfig = typeof ScheduleConfig.Type

/**
 * How a strength s maps to guidance: routes are shown with probability s^routeExponent, k(s) = minRoutes +
 * round((maxRoutes - minRoutes)·s); otherwise a hint prefix of fraction min(1, hintScale·s) is given with
 * probability hintShare, else nothing. s = 0 always means no guidance.
 */
export const GuidanceConfig = Schema.Struct({
  /**
   * Whether guidance may show routes. `false`: guidance is only a fading hint (a prefix of a positive route, the
   * partial-solution mechanism of QuestA-style training), and rescue stops at the hint rung. Default true.
   */
  routes: Schema.Boolean.pipe(withDefault(true)),
  /** Routes shown at s = 1. Default 4. */
  maxRoutes: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 26 })).pipe(withDefault(4)),
  /** Routes shown at small s > 0. Default 1. */
  minRoutes: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 26 })).pipe(withDefault(1)),
  /** Exponent γ of the route probability s^γ (> 1 fades routes out sooner). Default 1. */
  routeExponent: Positive.pipe(withDefault(1)),
  /** Share of route-less prompts (before s = 0) that get a hint rather than nothing; 0 turns hints off. Default 0.5. */
  hintShare: Probability.pipe(withDefault(0.5)),
  /** Hint fraction per unit of s. Default 1. */
  hintScale: Probability.pipe(withDefault(1))
}).check(Schema.makeFilter((g) =>
  g.minRoutes <= g.maxRoutes ? undefined : { path: ["minRoutes"], issue: `minRoutes (${g.minRoutes}) must not exceed maxRoutes (${g.maxRoutes})` }
))
export type GuidanceConfig = typeof GuidanceConfig.Type

/** Per-problem adaptive fading: s_p = s(t)·(1 - fadeBoost·autonomous pass rate), once the rate has data. */
export const AdaptiveConfig = Schema.Struct({
  /** Default true. */
  enabled: Schema.Boolean.pipe(withDefault(true)),
  /** Weight of the newest autonomous group in the pass-rate moving average. Default 0.3. */
  emaRate: Probability.check(Schema.isGreaterThan(0)).pipe(withDefault(0.3)),
  /** Autonomous groups needed before the rate affects fading. Default 2. */
  minObservations: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).pipe(withDefault(2)),
  /** How much a pass rate of 1 cuts the problem's strength. Default 0.75. */
  fadeBoost: Probability.pipe(withDefault(0.75))
})
export type AdaptiveConfig = typeof AdaptiveConfig.Type

/** Rescue of groups where every sample failed, while s(t) > 0: autonomous → hint → routes. */
export const RescueConfig = Schema.Struct({
  /** Default true. */
  enabled: Schema.Boolean.pipe(withDefault(true)),
  /** Hint fraction given when rescuing an autonomous group. Default 0.5. */
  hintFraction: Probability.check(Schema.isGreaterThan(0)).pipe(withDefault(0.5)),
  /** Routes shown when rescuing a hint group. Default 2. */
  routeCount: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 26 })).pipe(withDefault(2)),
  /** Rescue rounds per problem per step. Default 2. */
  maxRounds: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).pipe(withDefault(2))
})
export type RescueConfig = typeof RescueConfig.Type

/** The EAAI curriculum config. */
export const EaaiConfig = Schema.Struct({
  /** Root seed of every guidance draw (decisions are deterministic per (seed, step, problem)). Default 0. */
  seed: Schema.Int.pipe(withDefault(0)),
  schedule: ScheduleConfig,
  guidance: GuidanceConfig.pipe(withDefault({})),
  adaptive: AdaptiveConfig.pipe(withDefault({})),
  rescue: RescueConfig.pipe(withDefault({}))
}).check(Schema.makeFilter((c) =>
  c.rescue.routeCount <= c.guidance.maxRoutes
    ? undefined
    : { path: ["rescue", "routeCount"], issue: `rescue.routeCount (${c.rescue.routeCount}) must not exceed guidance.maxRoutes (${c.guidance.maxRoutes})` }
))
export type EaaiConfig = typeof EaaiConfig.Type

/** Decode a config object (missing fields take defaults); fails with a SchemaError naming the field path. */
export const decode = ConfigDecode.decodeUnknownEffect(EaaiConfig)

/** Decode synchronously (throws on bad input); for tests and examples. */
export const decodeSync = Schema.decodeUnknownSync(EaaiConfig)

/** The config read from config path `curriculum` (`curriculum.schedule.totalSteps` is required). */
export const config: Config.Config<EaaiConfig> = Config.schema(EaaiConfig, "curriculum")
