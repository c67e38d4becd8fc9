/**
 * A `Curriculum` whose guidance never changes: every problem at every step gets the same number of routes (or
 * hint fraction). It gives the baselines their RL runs through the same code path as ReaLM: routes always shown
 * (a CoT-Synthesizer-style policy that verifies given routes) or never shown (plain GRPO / ReaLM-Zero without
 * EAAI). It never rescues and has no state. Registered in the pipeline as curriculum `fixed`, which the baselines
 * fall back to when the configured curriculum cannot run at a fixed guidance.
 */
import { ConfigDecode, Curriculum, Rng } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Effect, Layer, Schema } from "effect"

const { withDefault } = ConfigDecode

/** Fixed guidance settings (the registered `fixed` curriculum's `curriculum.with`). */
export const FixedConfig = Schema.Struct({
  /** Routes shown in every prompt (0 = none). Default 4 (EAAI's most routes). */
  routeCount: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(4)),
  /** Hint fraction when no routes are shown (0 = none). Default 0. */
  hintFraction: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).pipe(withDefault(0)),
  /** Seed of the per-(step, problem) prompt seeds. Default 0. */
  seed: Schema.Int.pipe(withDefault(0))
})
export type FixedConfig = typeof FixedConfig.Type

/**
 * The settings for a baseline's fixed guidance (core `Curriculum.FixedGuidance`): `always-routes` keeps a positive
 * `routeCount` (4 when it is 0), `none` shows nothing. The seed is kept.
 */
export const fixedGuidance = (config: FixedConfig, guidance: Curriculum.FixedGuidance): FixedConfig =>
  guidance === "none"
    ? { ...config, routeCount: 0, hintFraction: 0 }
    : { ...config, routeCount: config.routeCount > 0 ? config.routeCount : 4, hintFraction: 0 }

/** Routes in every prompt. */
export const alwaysRoutes = (routeCount: number, seed = 0): FixedConfig => ({ routeCount, hintFraction: 0, seed })

/** No guidance ever. */
export const never = (seed = 0): FixedConfig => ({ routeCount: 0, hintFraction: 0, seed })

/** The curriculum for a config. */
export const make = (config: FixedConfig): Curriculum.Curriculum["Service"] => {
  const strength = config.routeCount > 0 || config.hintFraction > 0 ? 1 : 0
  return Curriculum.Curriculum.of({
    strength: () => strength,
    decide: (step, problems: ReadonlyArray<Problem.Problem>) =>
      Effect.succeed(
        problems.map((p) => ({
          problemId: p.id,
          strength,
          routeCount: config.routeCount,
          hintFraction: config.routeCount > 0 ? 0 : config.hintFraction,
          rescue: false,
          seed: Rng.Rng.make(config.seed, "fixed-curriculum", step, p.id).seed()
        }))
      ),
    observe: () => Effect.succeed([]),
    snapshot: Effect.succeed({ kind: "fixed" }),
    restore: () => Effect.void
  })
}

/** The curriculum as a layer. */
export const layer = (config: FixedConfig): Layer.Layer<Curriculum.Curriculum> =>
  Layer.succeed(Curriculum.Curriculum, make(config))
