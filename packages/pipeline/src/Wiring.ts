/**
 * The layers of a pipeline config's slots, composed the way every job needs them: the judge, the verifier on
 * top of it, and a trainer with the verifier and a given curriculum. Shared by `Pipeline.run` and the single-phase
 * jobs (`realm train`), so a stage is wired identically wherever it runs.
 */
import { Effect, Layer, Result, Schema } from "effect"
import { TrainerConfig } from "@realm-lm/trainer"
import type { FileSystem, Path } from "effect"
import type { PipelineConfig } from "./PipelineConfig.ts"
import { alwaysRoutesSchedule } from "./Methods.ts"
import * as Resolve from "./Resolve.ts"

/** The default implementation of each slot. */
export const defaults = {
  tasks: { use: "parcel" },
  judge: { use: "answer" },
  teacher: { use: "rule" },
  verifier: { use: "mrpv" },
  curriculum: { use: "eaai" },
  trainer: { use: "onnx" },
  evaluator: { use: "default" }
} as const

/** A slot of the config with a default. */
export type DefaultedSlot = keyof typeof defaults

/** An object's fields, or none for anything else (settings arrive untyped from config files). */
export const asRecord = (u: unknown): Record<string, unknown> => (typeof u === "object" && u !== null ? u as Record<string, unknown> : {})

/**
 * RL steps the configured trainer will run: for the built-in trainer, its decoded settings (defaults included);
 * for another trainer, `with.rl.steps` when given.
 */
export const rlSteps = (config: PipelineConfig): number | undefined => {
  const choice = config.trainer ?? defaults.trainer
  if (choice.use === defaults.trainer.use) {
    const decoded = Schema.decodeUnknownResult(TrainerConfig.TrainerConfig)(asRecord(config.trainer?.with))
    return Result.isSuccess(decoded) ? decoded.success.rl.steps : undefined
  }
  const steps = asRecord(asRecord(config.trainer?.with).rl).steps
  return typeof steps === "number" ? steps : undefined
}

/**
 * The configured curriculum, with EAAI's schedule length taken from the trainer's RL steps when not given, so
 * the autonomous phase falls at the end of the run the trainer will actually do.
 */
export const curriculum = (config: PipelineConfig): Resolve.Choice => {
  const base: Resolve.Choice = config.curriculum ?? defaults.curriculum
  if (base.use !== "eaai") return base
  const settings = asRecord(base.with)
  const schedule = asRecord(settings.schedule)
  const totalSteps = schedule.totalSteps ?? rlSteps(config)
  return { use: base.use, with: { ...settings, schedule: totalSteps === undefined ? schedule : { ...schedule, totalSteps } } }
}

/** The always-routes baseline's curriculum: EAAI at a constant full strength over the same number of steps. */
export const alwaysRoutesCurriculum = (config: PipelineConfig): Resolve.Choice => {
  const settings = config.curriculum?.use === "eaai" ? asRecord(config.curriculum.with) : {}
  const given = asRecord(settings.schedule).totalSteps
  return { use: "eaai", with: { ...settings, schedule: alwaysRoutesSchedule(typeof given === "number" ? given : rlSteps(config)) } }
}

/** Resolve the config's slots against `baseDir` (module paths) and return layer builders. */
export const make = (config: PipelineConfig, baseDir: string) =>
  Effect.gen(function*() {
    const platform = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    // Slot layers may require any other slot (their types say so); each composition here provides the slots a
    // job's implementations need, and the platform. A custom module needing a slot not composed here fails when
    // its layer is built, naming the missing service.
    const close = <A, E, R>(layer: Layer.Layer<A, E, R>) =>
      Layer.provide(layer as Layer.Layer<A, E, FileSystem.FileSystem | Path.Path>, Layer.succeedContext(platform))
    const choice = (slot: DefaultedSlot): Resolve.Choice => config[slot] ?? defaults[slot]
    const slotLayer = (slot: DefaultedSlot, picked: Resolve.Choice = choice(slot)) => Effect.map(Resolve.layer(slot, picked, baseDir), close)
    const judge = yield* slotLayer("judge")
    const verifier = Layer.provideMerge(yield* slotLayer("verifier"), judge)
    /** A trainer with the verifier (and judge) and the given curriculum. */
    const trainer = (curriculumChoice: Resolve.Choice) =>
      Effect.gen(function*() {
        const trainerLayer = yield* slotLayer("trainer")
        const curriculumLayer = yield* slotLayer("curriculum", curriculumChoice)
        return Layer.provideMerge(trainerLayer, Layer.mergeAll(verifier, curriculumLayer))
      })
    return { choice, close, slotLayer, judge, verifier, trainer }
  })
