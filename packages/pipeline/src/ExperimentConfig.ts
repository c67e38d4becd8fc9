/**
 * The `experiment:` section of a pipeline config: seeds, baselines and the learning-rate grids chosen on
 * validation (see `Experiment.ts` for how an experiment runs).
 */
import { Problem } from "@realm-lm/core"
import { Schema } from "effect"

const LrGrid = Schema.Array(Schema.Finite.check(Schema.isGreaterThan(0))).check(Schema.isMinLength(1))

/** `experiment:` section of a pipeline config. */
export const ExperimentSettings = Schema.Struct({
  /** Training seeds; each seed trains every method (SFT included) from its own initialisation. Default [0, 1, 2]. */
  seeds: Schema.optionalKey(Schema.Array(Schema.Int).check(Schema.isMinLength(1))),
  /** Methods every other method is compared with (paired differences). Default: the first planned method (`sft` when any method starts from it). */
  baselines: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Learning-rate selection: a grid per phase, each method of that phase trained at every value with the first seed. */
  tune: Schema.optionalKey(
    Schema.Struct({
      /** Split the choice is scored on. Default `validation` (never an evaluation split). */
      split: Schema.optionalKey(Problem.Split),
      /** Mode scored. Default `autonomous`. */
      mode: Schema.optionalKey(Schema.Literals(["assisted", "autonomous"])),
      /** Peak learning rates tried for RFT (`trainer.with.rft.train.lr.peak`). */
      rft: Schema.optionalKey(LrGrid),
      /** Peak learning rates tried for every RL method (`trainer.with.rl.lr.peak`). */
      rl: Schema.optionalKey(LrGrid)
    })
  )
})
export type ExperimentSettings = typeof ExperimentSettings.Type

/** The seeds of an experiment (default [0, 1, 2]). */
export const seedsOf = (settings: ExperimentSettings): ReadonlyArray<number> => settings.seeds ?? [0, 1, 2]

/** The split learning rates are chosen on (default validation). */
export const tuneSplitOf = (settings: ExperimentSettings): Problem.Split => settings.tune?.split ?? "validation"
