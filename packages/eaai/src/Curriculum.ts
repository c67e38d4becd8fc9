/**
 * The EAAI implementation of core's `Curriculum` contract: the global schedule s(t), per-problem decisions
 * from the guidance policy under adaptive fading, rescue decisions for failed groups, and JSON snapshots
 * that restore exactly. Configured from config path `curriculum`.
 */
import { Curriculum as CoreCurriculum } from "@realm-lm/core"
import { Effect, Layer, Ref, Result } from "effect"
import type { Config } from "effect"
import * as AdaptiveState from "./AdaptiveState.ts"
import * as EaaiConfig from "./EaaiConfig.ts"
import * as Schedule from "./Schedule.ts"

/** The schedule was asked for before its length was known: a bug in the caller, which must call `start` first. */
const unstarted = (): never => {
  throw new Error(
    "EAAI curriculum used before its horizon was known: set curriculum.with.schedule.totalSteps, or call start({ totalSteps }) first (the trainer does)"
  )
}

/**
 * A Curriculum for a decoded config, starting from an empty state. Without `schedule.totalSteps` in the settings
 * the schedule spans the horizon the trainer gives `start`.
 */
export const make: (config: EaaiConfig.EaaiConfig) => Effect.Effect<CoreCurriculum.Curriculum["Service"]> = Effect.fn(
  "eaai.Curriculum.make"
)(function* (config: EaaiConfig.EaaiConfig) {
  const state = yield* Ref.make<AdaptiveState.State>(AdaptiveState.empty)
  // The config over its horizon: known now when the settings give the length, else once `start` is called.
  let timed: EaaiConfig.TimedConfig | undefined =
    config.schedule.totalSteps === undefined ? undefined : (config as EaaiConfig.TimedConfig)
  const current = (): EaaiConfig.TimedConfig => timed ?? unstarted()
  return CoreCurriculum.Curriculum.of({
    strength: (step) => Schedule.strength(current().schedule, step),
    decide: (step, problems) =>
      Effect.map(Ref.get(state), (now) => problems.map((p) => AdaptiveState.decideFor(current(), now, step, p.id))),
    observe: (step, outcomes) =>
      Ref.modify(state, (now) => {
        const next = AdaptiveState.observe(current(), now, step, outcomes)
        return [next.rescues, next.state] as const
      }),
    snapshot: Effect.map(Ref.get(state), (now) => AdaptiveState.encode(now)),
    restore: (json) =>
      Effect.fromResult(AdaptiveState.decode(json)).pipe(Effect.flatMap((restored) => Ref.set(state, restored))),
    start: ({ totalSteps }) =>
      Effect.suspend(() => {
        const resolved = EaaiConfig.withHorizon(config, totalSteps)
        if (Result.isFailure(resolved))
          return Effect.fail(new CoreCurriculum.CurriculumHorizonInvalid({ totalSteps, detail: resolved.failure }))
        timed = resolved.success
        return Effect.void
      }).pipe(Effect.withSpan("eaai.Curriculum.start", { attributes: { totalSteps } }))
  })
})

/** The Curriculum layer for a given config. */
export const layerConfig = (config: EaaiConfig.EaaiConfig): Layer.Layer<CoreCurriculum.Curriculum> =>
  Layer.effect(CoreCurriculum.Curriculum, make(config))

/** The Curriculum layer, config decoded from path `curriculum`. */
export const layer: Layer.Layer<CoreCurriculum.Curriculum, Config.ConfigError> = Layer.effect(
  CoreCurriculum.Curriculum,
  Effect.flatMap(EaaiConfig.config, make)
)

/** Config of {@link layerTest}: 100 steps, default exponential schedule, autonomous from step 75. */
export const testConfig: EaaiConfig.TimedConfig = EaaiConfig.decodeSync({
  schedule: { totalSteps: 100 }
}) as EaaiConfig.TimedConfig

/** A Curriculum with {@link testConfig}, for tests. */
export const layerTest: Layer.Layer<CoreCurriculum.Curriculum> = layerConfig(testConfig)
