/**
 * How a stage implementation plugs into a pipeline: the contract slot it fills (a core service), the schema of
 * its settings, and a function from settings to the Layer that provides the service. Built-in implementations
 * and users' own TypeScript modules are described the same way.
 */
import {
  AnswerJudge,
  Curriculum,
  Evaluator,
  ModelSource,
  PolicyTrainer,
  TaskSource,
  Teacher,
  Verifier
} from "@realm-lm/core"
import { isAbsolute, resolve } from "node:path"
import type { FileSystem, Layer, Path, Schema } from "effect"

/** The service each slot must provide. */
export const slotServices = {
  tasks: TaskSource.TaskSource,
  judge: AnswerJudge.AnswerJudge,
  teacher: Teacher.Teacher,
  verifier: Verifier.Verifier,
  curriculum: Curriculum.Curriculum,
  trainer: PolicyTrainer.PolicyTrainer,
  evaluator: Evaluator.Evaluator,
  model: ModelSource.ModelSource
} as const

/** A swappable slot of the pipeline. */
export type Slot = keyof typeof slotServices

/** The slots a config names as `<slot>: { use, with }`, in pipeline order (the `model` slot has its own section, `model:`). */
export const slots: ReadonlyArray<Exclude<Slot, "model">> = [
  "tasks",
  "judge",
  "teacher",
  "verifier",
  "curriculum",
  "trainer",
  "evaluator"
]

/** Service type of a slot. */
export type SlotService<S extends Slot> = (typeof slotServices)[S]["Service"]
/** Service identifier of a slot. */
export type SlotIdentifier<S extends Slot> = (typeof slotServices)[S]["Identifier"]
/** Any slot's service identifier. */
export type AnySlotIdentifier = SlotIdentifier<Slot>
/** What an implementation's layer may require: other slots' services and the platform's file system. */
export type Requirements = AnySlotIdentifier | FileSystem.FileSystem | Path.Path

/**
 * An implementation of a slot. `layer` may require other slots' services (e.g. a Verifier needs an
 * AnswerJudge); the pipeline provides them.
 */
export interface Implementation<S extends Slot, C> {
  readonly slot: S
  /** Id recorded in manifests, e.g. `"@realm-lm/mrpv"` or `"./stages/my-verifier.ts"`. */
  readonly id: string
  readonly config: Schema.Codec<C, unknown>
  readonly layer: (config: C) => Layer.Layer<SlotIdentifier<S>, unknown, Requirements>
  /**
   * Files the implementation reads for these settings (e.g. a task source's data files). The pipeline hashes their
   * contents into the stage's config hash, so editing one re-runs the stage and everything after it.
   */
  readonly dataFiles?: (config: C) => ReadonlyArray<string>
  /**
   * The settings with every file or directory path they hold passed through `resolve`, which makes a relative path
   * relative to the config file that names it (the path rule: see the pipeline README). Implementations whose
   * settings name no file leave it out.
   */
  readonly resolvePaths?: (config: C, resolve: (path: string) => string) => C
  /**
   * Curricula only: the settings that run this curriculum at a fixed guidance (routes in every prompt, or none), for
   * the baselines (`cot-synthesizer`, `grpo`, ...). A curriculum without it is replaced for them by the registered
   * `fixed` one.
   */
  readonly fixedGuidance?: (config: C, guidance: Curriculum.FixedGuidance) => C
  /**
   * Verifiers only: the settings that reward the answer and format only (no route-verdict or decisive-step rewards),
   * for the answer-only methods (`cot-synthesizer`, `eaai-no-verdict`). A verifier without it is used as configured.
   */
  readonly answerOnly?: (config: C) => C
  /**
   * The key of its settings that seeds it (`seed`), for implementations whose randomness an experiment varies per
   * seed (`realm experiment` sets it to each seed's value in the trainer's and the curriculum's settings). Leave it
   * out for implementations without a seed.
   */
  readonly seedSetting?: string
  /**
   * Trainers only: how it pre-trains a base model (`model.pretrain`, see the pipeline README) by its SFT phase. These
   * work on settings as written in a config (before decoding), since the result is what the base stage records and
   * hashes. A trainer without it cannot pre-train a base (`model.pretrain` is refused).
   */
  readonly pretrain?: Pretraining
  /**
   * Trainers only: what one training phase reads, for that run's stage config hash, so that changing one phase's
   * settings (e.g. RL steps) does not re-run the phases it does not reach (SFT). Settings as written in a config.
   * Leave it out and every run hashes all of its trainer's settings and the curriculum (always correct, never
   * reused across such changes). Claiming less than a phase reads would reuse stale work: keep it conservative.
   */
  readonly phaseInputs?: (settings: Record<string, unknown>, phase: PolicyTrainer.Phase) => PhaseInputs
}

/** What a trainer's phase reads (`Implementation.phaseInputs`). */
export interface PhaseInputs {
  /** The part of its settings the phase reads. */
  readonly settings: Record<string, unknown>
  /** Whether the phase asks the curriculum anything (when false, curriculum settings do not enter its hash). */
  readonly curriculum: boolean
}

/** How a trainer runs the base model's pre-training (`Implementation.pretrain`). Settings are as written in a config. */
export interface Pretraining {
  /** Its settings for the pre-training run: `sft` (`model.pretrain.sft`, its own SFT section's settings) in place of its SFT settings. */
  readonly settings: (settings: Record<string, unknown>, sft: Record<string, unknown>) => Record<string, unknown>
  /** Problems with `model.pretrain.sft` for pre-training, each with its path below `model.pretrain.sft`. */
  readonly check?: (sft: Record<string, unknown>) => ReadonlyArray<{ readonly path: string; readonly detail: string }>
  /** The part of the pre-training settings that changes the base, for the base stage's config hash (e.g. without its RL settings). Default all. */
  readonly hashed?: (settings: Record<string, unknown>) => Record<string, unknown>
}

/** `config` with its paths resolved against `dir` by the implementation's `resolvePaths` (unchanged when it has none). */
export const withPaths = <S extends Slot, C>(
  implementation: Implementation<S, C>,
  config: C,
  dir: string | undefined
): C =>
  implementation.resolvePaths === undefined || dir === undefined
    ? config
    : implementation.resolvePaths(config, (path) => (isAbsolute(path) ? path : resolve(dir, path)))

/** Describe an implementation with its types inferred (what a custom module exports as `implementation`). */
export const define = <S extends Slot, C>(implementation: Implementation<S, C>): Implementation<S, C> => implementation

/**
 * Forget an implementation's settings type, for registries holding several. Sound because settings only ever
 * reach `layer` after `config` decoded them (see `CustomModule.toLayer`).
 */
export const erase = <S extends Slot, C>(implementation: Implementation<S, C>): Implementation<S, unknown> =>
  implementation as unknown as Implementation<S, unknown>
