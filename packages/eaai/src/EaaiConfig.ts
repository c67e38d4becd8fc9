/**
 * The EAAI curriculum config (config path `curriculum`): the fading schedule of external-signal strength
 * s(t), how s maps to guidance (routes, k, hints), per-problem adaptive fading and rescue of failed groups.
 * Cross-field checks reject a schedule that never reaches its autonomous phase unless explicitly allowed.
 */
import { ConfigDecode } from "@realm-lm/core"
import { Config, Result, Schema } from "effect"

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
  /**
   * Number of RL steps the schedule spans (steps are 0-based). Default: the trainer's horizon, told at run time
   * (`Curriculum.start`), so the autonomous phase falls at the end of the run the trainer actually does.
   */
  totalSteps: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
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
}).check(
  Schema.makeFilter((s) => {
    const issues: Array<Schema.FilterIssue> = []
    if (s.autonomousFraction === 0 && !s.allowNoAutonomousPhase) {
      issues.push({
        path: ["autonomousFraction"],
        issue:
          "the schedule never reaches the autonomous phase (s = 0); set autonomousFraction > 0, or allowNoAutonomousPhase: true for a baseline"
      })
    }
    const warmup =
      s.totalSteps === undefined && s.kind !== "none"
        ? undefined
        : horizonIssue({ ...s, totalSteps: s.totalSteps ?? 1 })
    if (warmup !== undefined) issues.push({ path: ["warmupSteps"], issue: warmup })
    const only = (field: "halfLife" | "timeScale" | "stages", kind: ScheduleKind) => {
      if (s[field] !== undefined && s.kind !== kind)
        issues.push({ path: [field], issue: `${field} is only used by kind "${kind}", not "${s.kind}"` })
    }
    only("halfLife", "exponential")
    only("timeScale", "inverse-time")
    only("stages", "stepwise")
    return issues
  })
)
export type ScheduleConfig = typeof ScheduleConfig.Type

/** A schedule whose length is known: its own `totalSteps`, or the trainer's horizon. */
export type TimedSchedule = ScheduleConfig & { readonly totalSteps: number }

/** What is wrong with a schedule over its length, if anything: a warm-up that outlasts the guided phase. */
export function horizonIssue(s: TimedSchedule): string | undefined {
  const zero = s.kind === "none" ? 0 : s.totalSteps - Math.ceil(s.autonomousFraction * s.totalSteps)
  return s.warmupSteps > zero
    ? `warm-up (${s.warmupSteps} steps) must end by the autonomous phase, which starts at step ${zero}`
    : undefined
}

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
}).check(
  Schema.makeFilter((g) =>
    g.minRoutes <= g.maxRoutes
      ? undefined
      : { path: ["minRoutes"], issue: `minRoutes (${g.minRoutes}) must not exceed maxRoutes (${g.maxRoutes})` }
  )
)
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
  /** The fading schedule. Default: exponential over the trainer's horizon. */
  schedule: ScheduleConfig.pipe(withDefault({})),
  guidance: GuidanceConfig.pipe(withDefault({})),
  adaptive: AdaptiveConfig.pipe(withDefault({})),
  rescue: RescueConfig.pipe(withDefault({}))
}).check(
  Schema.makeFilter((c) =>
    c.rescue.routeCount <= c.guidance.maxRoutes
      ? undefined
      : {
          path: ["rescue", "routeCount"],
          issue: `rescue.routeCount (${c.rescue.routeCount}) must not exceed guidance.maxRoutes (${c.guidance.maxRoutes})`
        }
  )
)
export type EaaiConfig = typeof EaaiConfig.Type

/** A config whose schedule length is known. */
export type TimedConfig = EaaiConfig & { readonly schedule: TimedSchedule }

/**
 * The config over a run of `totalSteps` RL steps (the trainer's horizon): a `schedule.totalSteps` in the settings
 * wins; otherwise the horizon fills it. Fails with the reason when the schedule cannot run that long.
 */
export const withHorizon = (config: EaaiConfig, totalSteps: number): Result.Result<TimedConfig, string> => {
  const schedule: TimedSchedule = { ...config.schedule, totalSteps: config.schedule.totalSteps ?? totalSteps }
  const issue = horizonIssue(schedule)
  return issue === undefined ? Result.succeed({ ...config, schedule }) : Result.fail(issue)
}

/**
 * The config with a fixed guidance in place of its schedule, for the baselines (core `Curriculum.FixedGuidance`):
 * `always-routes` is s = 1 at every step (the most routes in every prompt), `none` is s = 0 (no routes, hints or
 * rescue). Guidance, adaptive, rescue settings, the seed and the schedule's length are kept.
 */
export const fixedGuidance = (config: EaaiConfig, guidance: "always-routes" | "none"): EaaiConfig => {
  const length = config.schedule.totalSteps === undefined ? {} : { totalSteps: config.schedule.totalSteps }
  const schedule: ScheduleConfig =
    guidance === "always-routes"
      ? { kind: "constant", initial: 1, warmupSteps: 0, autonomousFraction: 0, allowNoAutonomousPhase: true, ...length }
      : { kind: "none", initial: 1, warmupSteps: 0, autonomousFraction: 0.25, allowNoAutonomousPhase: false, ...length }
  return { ...config, schedule }
}

/** Decode a config object (missing fields take defaults); fails with a SchemaError naming the field path. */
export const decode = ConfigDecode.decodeUnknownEffect(EaaiConfig)

/** Decode synchronously (throws on bad input); for tests and examples. */
export const decodeSync = Schema.decodeUnknownSync(EaaiConfig)

/** A decoded config as timed, when its settings give `schedule.totalSteps` (throws otherwise); for tests and examples. */
export const timed = (config: EaaiConfig): TimedConfig => {
  const length = config.schedule.totalSteps
  if (length === undefined)
    throw new Error("the schedule has no totalSteps: give one, or use withHorizon with the trainer's")
  return { ...config, schedule: { ...config.schedule, totalSteps: length } }
}

/** Decode settings that give `schedule.totalSteps` synchronously (throws on bad input); for tests and examples. */
export const decodeTimedSync = (input: unknown): TimedConfig => timed(decodeSync(input))

/** The config read from config path `curriculum`. */
export const config: Config.Config<EaaiConfig> = Config.schema(EaaiConfig, "curriculum")
