/**
 * The layers of a pipeline config's slots, composed the way every job needs them: the judge, the verifier on
 * top of it, and a trainer with the verifier and a given curriculum. Shared by `Pipeline.run` and the single-phase
 * jobs (`realm train`), so a stage is wired identically wherever it runs.
 */
import { Effect, Layer, Result, Schema } from "effect"
import { TrainerConfig } from "@realm-lm/trainer"
import type { FileSystem, Path } from "effect"
import type { PipelineConfig } from "./PipelineConfig.ts"
import type { Method } from "./Methods.ts"
import { alwaysRoutesSchedule, deepMerge, noGuidanceSchedule } from "./Methods.ts"
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

/** EAAI with the configured settings (when the curriculum is EAAI) and a fixed schedule over the same number of steps. */
const fixedSchedule = (config: PipelineConfig, schedule: (totalSteps: number | undefined) => Record<string, unknown>): Resolve.Choice => {
  const settings = config.curriculum?.use === "eaai" ? asRecord(config.curriculum.with) : {}
  const given = asRecord(settings.schedule).totalSteps
  return { use: "eaai", with: { ...settings, schedule: schedule(typeof given === "number" ? given : rlSteps(config)) } }
}

/** The always-routes baseline's curriculum: EAAI at a constant full strength over the same number of steps. */
export const alwaysRoutesCurriculum = (config: PipelineConfig): Resolve.Choice => fixedSchedule(config, alwaysRoutesSchedule)

/** The no-guidance baseline's curriculum: EAAI with s = 0 at every step (autonomous prompts, no rescue). */
export const noGuidanceCurriculum = (config: PipelineConfig): Resolve.Choice => fixedSchedule(config, noGuidanceSchedule)

/** A choice with `over` deep-merged into its settings. */
const merged = (choice: Resolve.Choice, over: Record<string, unknown> | undefined): Resolve.Choice =>
  over === undefined ? choice : { use: choice.use, with: deepMerge(asRecord(choice.with), over) }

/** Verdict and decisive-step weights at 0 and no verdict-line format checks: the answer-only rewards of a method, for the built-in verifier. */
const answerOnly = (choice: Resolve.Choice): Resolve.Choice => {
  if (choice.use !== defaults.verifier.use) return choice
  const settings = asRecord(choice.with)
  return { use: choice.use, with: { ...settings, weights: { ...asRecord(settings.weights), verdict: 0, decisive: 0 }, verdictFormat: false } }
}

/**
 * The slots one method trains with: the pipeline's trainer, verifier and curriculum with the method's own settings
 * merged in, its guidance (configured, always-routes or none) and its rewards (answer-only zeroes the built-in
 * verifier's verdict and decisive-step weights; a custom verifier is used as configured).
 */
export const methodSlots = (config: PipelineConfig, method: Method): { readonly trainer: Resolve.Choice; readonly verifier: Resolve.Choice; readonly curriculum: Resolve.Choice } => {
  const trainer = merged(config.trainer ?? defaults.trainer, method.overrides.trainer)
  // The schedule's length follows the method's own RL steps.
  const own: PipelineConfig = { ...config, trainer }
  const guided = method.guidance === "always-routes" ? alwaysRoutesCurriculum(own) : method.guidance === "none" ? noGuidanceCurriculum(own) : curriculum(own)
  const verifier = merged(config.verifier ?? defaults.verifier, method.overrides.verifier)
  return {
    trainer,
    verifier: method.rewards === "answer" ? answerOnly(verifier) : verifier,
    curriculum: merged(guided, method.overrides.curriculum)
  }
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
    /** A trainer with the verifier (and judge) and the given curriculum; a method may bring its own trainer and verifier settings. */
    const trainer = (curriculumChoice: Resolve.Choice, own: { readonly trainer?: Resolve.Choice; readonly verifier?: Resolve.Choice } = {}) =>
      Effect.gen(function*() {
        const trainerLayer = yield* slotLayer("trainer", own.trainer)
        const curriculumLayer = yield* slotLayer("curriculum", curriculumChoice)
        const verifierLayer = own.verifier === undefined ? verifier : Layer.provideMerge(yield* slotLayer("verifier", own.verifier), judge)
        return Layer.provideMerge(trainerLayer, Layer.mergeAll(verifierLayer, curriculumLayer))
      })
    return { choice, close, slotLayer, judge, verifier, trainer }
  })
