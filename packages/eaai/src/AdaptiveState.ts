/**
 * Per-problem adaptive fading and rescue, as pure functions over an immutable state: each problem's recent
 * autonomous pass rate (moving average) lowers its own strength, and groups where every sample failed are
 * rescued with more guidance (autonomous → hint → routes) instead of being discarded. The state encodes to
 * JSON and decodes back exactly, for checkpoints.
 */
import { Curriculum, Rng } from "@realm-lm/core"
import { Result, Schema } from "effect"
import type { AdaptiveConfig, RescueConfig, TimedConfig } from "./EaaiConfig.ts"
import * as GuidancePolicy from "./GuidancePolicy.ts"
import * as Schedule from "./Schedule.ts"

const Rate = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** What the curriculum remembers about one problem. */
export const ProblemStats = Schema.Struct({
  /** Moving average of the pass rate of groups sampled without guidance. */
  autoRate: Rate,
  /** Number of such groups seen. */
  autoGroups: Count,
  /** Moving average of the pass rate of groups sampled with routes or a hint. */
  guidedRate: Rate,
  guidedGroups: Count,
  /** Step of the latest rescue (-1 for none) and rescue rounds used at that step. */
  rescueStep: Schema.Int,
  rescueRounds: Count
})
export type ProblemStats = typeof ProblemStats.Type

/** Version of the serialized state; bump when its shape changes. */
export const STATE_VERSION = 1

/** The serialized state: problems sorted by id, so equal states encode to identical JSON. */
export const EncodedState = Schema.Struct({
  version: Schema.Literal(STATE_VERSION),
  problems: Schema.Array(Schema.Struct({ id: Schema.String, stats: ProblemStats }))
})
export type EncodedState = typeof EncodedState.Type

/** Curriculum state: stats per problem id. */
export interface State {
  readonly problems: ReadonlyMap<string, ProblemStats>
}

/** The state before any observation. */
export const empty: State = { problems: new Map() }

/** Stats of a problem never observed. */
export const emptyStats: ProblemStats = {
  autoRate: 0,
  autoGroups: 0,
  guidedRate: 0,
  guidedGroups: 0,
  rescueStep: -1,
  rescueRounds: 0
}

const ema = (rate: number, groups: number, value: number, alpha: number): number =>
  groups === 0 ? value : (1 - alpha) * rate + alpha * value

/** Fold one group's outcome into a problem's stats, by the guidance its prompt actually carried. */
export const recordOutcome = (
  adaptive: AdaptiveConfig,
  stats: ProblemStats,
  outcome: Curriculum.GroupOutcome
): ProblemStats => {
  if (outcome.correct.length === 0) return stats
  const rate = outcome.correct.filter(Boolean).length / outcome.correct.length
  return outcome.guidance.mode === "autonomous"
    ? {
        ...stats,
        autoRate: ema(stats.autoRate, stats.autoGroups, rate, adaptive.emaRate),
        autoGroups: stats.autoGroups + 1
      }
    : {
        ...stats,
        guidedRate: ema(stats.guidedRate, stats.guidedGroups, rate, adaptive.emaRate),
        guidedGroups: stats.guidedGroups + 1
      }
}

/** Factor in [1 - fadeBoost, 1] on a problem's strength: lower the better it does without help. */
export const multiplier = (adaptive: AdaptiveConfig, stats: ProblemStats | undefined): number =>
  !adaptive.enabled || stats === undefined || stats.autoGroups < adaptive.minObservations
    ? 1
    : 1 - adaptive.fadeBoost * stats.autoRate

/** Per-problem strength s_p(t) = s(t) · multiplier; exactly 0 whenever s(t) is. */
export const problemStrength = (config: TimedConfig, state: State, step: number, problemId: string): number => {
  const s = Schedule.strength(config.schedule, step)
  return s === 0 ? 0 : s * multiplier(config.adaptive, state.problems.get(problemId))
}

/** The decision for one problem at one step under the current state. */
export const decideFor = (
  config: TimedConfig,
  state: State,
  step: number,
  problemId: string
): Curriculum.GuidanceDecision =>
  GuidancePolicy.decide(config.guidance, config.seed, step, problemId, problemStrength(config, state, step, problemId))

/** A failed group: at least one sample, none correct (zero variance in the truth check). */
export const isFailedGroup = (outcome: Curriculum.GroupOutcome): boolean =>
  outcome.correct.length > 0 && outcome.correct.every((c) => !c)

/**
 * The next rung of guidance after a failed group: autonomous → hint, hint → routes (none when `routes` is false),
 * routes → none.
 */
export const escalate = (
  rescue: RescueConfig,
  guidance: Curriculum.GroupOutcome["guidance"],
  routes = true
): { readonly routeCount: number; readonly hintFraction: number } | undefined => {
  switch (guidance.mode) {
    case "autonomous":
      return { routeCount: 0, hintFraction: rescue.hintFraction }
    case "hint":
      return routes ? { routeCount: rescue.routeCount, hintFraction: 0 } : undefined
    case "assisted":
      return undefined
  }
}

/**
 * Record a step's outcomes and return rescue decisions: one for each failed group while s(t) > 0, rescue is
 * enabled, the ladder has a next rung and the problem has rescue rounds left at this step. Outcomes are
 * processed in order.
 */
export const observe = (
  config: TimedConfig,
  state: State,
  step: number,
  outcomes: ReadonlyArray<Curriculum.GroupOutcome>
): { readonly state: State; readonly rescues: ReadonlyArray<Curriculum.GuidanceDecision> } => {
  const problems = new Map(state.problems)
  const rescues: Array<Curriculum.GuidanceDecision> = []
  const s = Schedule.strength(config.schedule, step)
  for (const outcome of outcomes) {
    let stats = recordOutcome(config.adaptive, problems.get(outcome.problemId) ?? emptyStats, outcome)
    const rung =
      config.rescue.enabled && s > 0 && isFailedGroup(outcome)
        ? escalate(config.rescue, outcome.guidance, config.guidance.routes)
        : undefined
    const used = stats.rescueStep === step ? stats.rescueRounds : 0
    if (rung !== undefined && used < config.rescue.maxRounds) {
      stats = { ...stats, rescueStep: step, rescueRounds: used + 1 }
      rescues.push({
        problemId: outcome.problemId,
        strength: s,
        routeCount: rung.routeCount,
        hintFraction: rung.hintFraction,
        rescue: true,
        seed: Rng.Rng.make(config.seed, "eaai", "rescue", step, outcome.problemId, used).seed()
      })
    }
    problems.set(outcome.problemId, stats)
  }
  return { state: { problems }, rescues }
}

/** The state as JSON: `{ version, problems: [{ id, stats }] }`, sorted by id. */
export const encode = (state: State): EncodedState => ({
  version: STATE_VERSION,
  problems: [...state.problems.entries()]
    .toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, stats]) => ({ id, stats }))
})

/** Decode a snapshot; fails with CurriculumStateError on another version, a bad shape or duplicate ids. */
export const decode = (json: unknown): Result.Result<State, Curriculum.CurriculumStateError> => {
  const version =
    typeof json === "object" && json !== null && "version" in json ? (json as { version: unknown }).version : undefined
  if (version !== STATE_VERSION) {
    return Result.fail(
      new Curriculum.CurriculumStateError({
        detail: `snapshot version ${JSON.stringify(version)} is not supported (expected ${STATE_VERSION}); resume with the @realm-lm/eaai version that wrote it`
      })
    )
  }
  const decoded = Schema.decodeUnknownResult(EncodedState)(json)
  if (Result.isFailure(decoded))
    return Result.fail(
      new Curriculum.CurriculumStateError({ detail: `malformed curriculum snapshot: ${decoded.failure.message}` })
    )
  const problems = new Map<string, ProblemStats>()
  for (const { id, stats } of decoded.success.problems) {
    if (problems.has(id))
      return Result.fail(
        new Curriculum.CurriculumStateError({ detail: `duplicate problem id "${id}" in curriculum snapshot` })
      )
    problems.set(id, stats)
  }
  return Result.succeed({ problems })
}
