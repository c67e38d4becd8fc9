/**
 * The layers of a pipeline config's slots, composed the way every job needs them: the judge, the verifier on
 * top of it, and a trainer with the verifier and a given curriculum. Shared by `Pipeline.run` and the single-phase
 * jobs (`realm train`), so a stage is wired identically wherever it runs.
 */
import { Context, Effect, FileSystem, Layer, Path } from "effect"
import type { Slot } from "./Implementation.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import type { Method } from "./Methods.ts"
import { deepMerge } from "./Methods.ts"
import * as Registry from "./Registry.ts"
import * as Resolve from "./Resolve.ts"

/** The default implementation of each slot (`Registry.defaults`). */
export const defaults = Registry.defaults

/** A slot of the config with a default. */
export type DefaultedSlot = keyof typeof defaults

/** An object's fields, or none for anything else (settings arrive untyped from config files). */
export const asRecord = (u: unknown): Record<string, unknown> =>
  typeof u === "object" && u !== null ? (u as Record<string, unknown>) : {}

/**
 * The configured curriculum. Its schedule's length is not filled in here: the trainer tells the curriculum its
 * horizon when RL starts (core `Curriculum.start`).
 */
export const curriculum = (config: PipelineConfig): Resolve.Choice => config.curriculum ?? defaults.curriculum

/**
 * A baseline's curriculum: the configured one at a fixed guidance (`always-routes`: routes in every prompt; `none`:
 * never guided), which its implementation declares how to run, or the registered `fixed` one (`Resolve.layer`).
 */
export const fixedCurriculum = (config: PipelineConfig, guidance: "always-routes" | "none"): Resolve.Choice => ({
  ...curriculum(config),
  fixedGuidance: guidance
})

/** A choice with `over` deep-merged into its settings. */
const merged = (choice: Resolve.Choice, over: Record<string, unknown> | undefined): Resolve.Choice =>
  over === undefined ? choice : { ...choice, with: deepMerge(asRecord(choice.with), over) }

/** The trainer, verifier and curriculum a training run uses. */
export interface MethodSlots {
  readonly trainer: Resolve.Choice
  readonly verifier: Resolve.Choice
  readonly curriculum: Resolve.Choice
}

/**
 * The slots one method trains with: the pipeline's trainer, verifier and curriculum with the method's own settings
 * merged in, its guidance (configured, always-routes or none) and its rewards (answer-only: the verifier's own
 * `answerOnly` settings, `Implementation.answerOnly`; a verifier without it is used as configured).
 */
export const methodSlots = (config: PipelineConfig, method: Method): MethodSlots => {
  const trainer = merged(config.trainer ?? defaults.trainer, method.overrides.trainer)
  const guided = method.guidance === "configured" ? curriculum(config) : fixedCurriculum(config, method.guidance)
  const verifier = merged(config.verifier ?? defaults.verifier, method.overrides.verifier)
  return {
    trainer,
    verifier: method.rewards === "answer" ? { ...verifier, answerOnly: true } : verifier,
    curriculum: merged(guided, method.overrides.curriculum)
  }
}

/** Resolve the config's slots against `baseDir` (module paths) and return layer builders. */
export const make = (config: PipelineConfig, baseDir: string) =>
  Effect.gen(function* () {
    // The platform services only, not the whole context of this call: that would carry its span (and anything else
    // provided here) into every layer, so a trainer's spans would hang off the run instead of the stage building it.
    const platform = Context.make(FileSystem.FileSystem, yield* FileSystem.FileSystem).pipe(
      Context.add(Path.Path, yield* Path.Path)
    )
    // Slot layers may require any other slot (their types say so); each composition here provides the slots a
    // job's implementations need, and the platform. A custom module needing a slot not composed here fails when
    // its layer is built, naming the missing service.
    const close = <A, E, R>(layer: Layer.Layer<A, E, R>) =>
      Layer.provide(layer as Layer.Layer<A, E, FileSystem.FileSystem | Path.Path>, Layer.succeedContext(platform))
    const choice = (slot: DefaultedSlot): Resolve.Choice => config[slot] ?? defaults[slot]
    /** The layer of a slot: `picked`, else the config's choice (for `model`, its model source). */
    const slotLayer = <S extends Slot>(slot: S, picked?: Resolve.Choice) =>
      Effect.map(
        Resolve.layer(
          slot,
          picked ?? (slot === "model" ? Registry.modelChoice(config.model) : choice(slot as DefaultedSlot)),
          baseDir
        ),
        close
      )
    const judge = yield* slotLayer("judge")
    const verifier = Layer.provideMerge(yield* slotLayer("verifier"), judge)
    /** A trainer with the verifier (and judge) and the given curriculum; a method may bring its own trainer and verifier settings. */
    const trainer = (
      curriculumChoice: Resolve.Choice,
      own: { readonly trainer?: Resolve.Choice; readonly verifier?: Resolve.Choice } = {}
    ) =>
      Effect.gen(function* () {
        const trainerLayer = yield* slotLayer("trainer", own.trainer)
        const curriculumLayer = yield* slotLayer("curriculum", curriculumChoice)
        const verifierLayer =
          own.verifier === undefined ? verifier : Layer.provideMerge(yield* slotLayer("verifier", own.verifier), judge)
        return Layer.provideMerge(trainerLayer, Layer.mergeAll(verifierLayer, curriculumLayer))
      })
    return { choice, close, slotLayer, judge, verifier, trainer }
  })

/** The layer builders of a config's slots (what `make` returns). */
export type Wiring = Effect.Success<ReturnType<typeof make>>
