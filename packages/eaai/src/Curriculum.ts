/**
 * The EAAI implementation of core's `Curriculum` contract: the global schedule s(t), per-problem decisions
 * from the guidance policy under adaptive fading, rescue decisions for failed groups, and JSON snapshots
 * that restore exactly. Configured from config path `curriculum`.
 */
import { Curriculum as CoreCurriculum } from "@realm-lm/core"
import { Effect, Layer, Ref } from "effect"
import type { Config } from "effect"
import * as AdaptiveState from "./AdaptiveState.ts"
import * as EaaiConfig from "./EaaiConfig.ts"
import * as Schedule from "./Schedule.ts"

/** A Curriculum for a decoded config, starting from an empty state. */
export const make = (config: EaaiConfig.EaaiConfig): Effect.Effect<CoreCurriculum.Curriculum["Service"]> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<AdaptiveState.State>(AdaptiveState.empty)
    return CoreCurriculum.Curriculum.of({
      strength: (step) => Schedule.strength(config.schedule, step),
      decide: (step, problems) =>
        Effect.map(Ref.get(state), (current) => problems.map((p) => AdaptiveState.decideFor(config, current, step, p.id))),
      observe: (step, outcomes) =>
        Ref.modify(state, (current) => {
          const next = AdaptiveState.observe(config, current, step, outcomes)
          return [next.rescues, next.state] as const
        }),
      snapshot: Effect.map(Ref.get(state), (current) => AdaptiveState.encode(current)),
      restore: (json) =>
        Effect.fromResult(AdaptiveState.decode(json)).pipe(Effect.flatMap((restored) => Ref.set(state, restored)))
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
export const testConfig: EaaiConfig.EaaiConfig = EaaiConfig.decodeSync({ schedule: { totalSteps: 100 } })

/** A Curriculum with {@link testConfig}, for tests. */
export const layerTest: Layer.Layer<CoreCurriculum.Curriculum> = layerConfig(testConfig)
