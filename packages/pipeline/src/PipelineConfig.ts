/**
 * The pipeline config file: run settings, the corpus settings, and per slot the implementation to `use` (a
 * built-in name or a path to the user's own module) with its settings under `with`. Validation resolves each
 * slot and checks its settings against that implementation's schema, reporting every problem with its path.
 */
import { Effect, Schema } from "effect"
import { Corpus } from "@realm-lm/corpus"
import { ConfigDecode, Problem } from "@realm-lm/core"
import { slots } from "./Implementation.ts"
import * as BaseModel from "./BaseModel.ts"
import * as CustomModule from "./CustomModule.ts"
import { ExperimentSettings } from "./ExperimentConfig.ts"
import * as Methods from "./Methods.ts"
import type { Slot } from "./Implementation.ts"
import * as Resolve from "./Resolve.ts"
import * as StageModule from "./StageModule.ts"
import * as Wiring from "./Wiring.ts"

/** `use` + `with` for one slot. */
export const Choice = Schema.Struct({
  /** A built-in implementation name (see `Registry.builtins`) or a path to a module exporting `implementation`. */
  use: Schema.NonEmptyString,
  /** Settings of that implementation, validated by its own schema. */
  with: Schema.optionalKey(Schema.Unknown)
})

/** `run:` section. */
export const RunSettings = Schema.Struct({
  /** Root seed for every random choice in the run. Default 0. */
  seed: Schema.optionalKey(Schema.Int),
  /** Directory where stages write artifacts and manifests. Default `runs/<name>`. */
  runDir: Schema.optionalKey(Schema.String),
  /**
   * The date chat templates render with (`date_string`, Llama 3.x's "Today Date"), e.g. "05 Dec 2026". Default: the
   * day the run directory is first used. Pinned in `<runDir>/run.json`; a different value for an existing run is an error.
   */
  templateDate: Schema.optionalKey(Schema.NonEmptyString)
  // The device and threads belong to the implementations that run models: `trainer.with.runtime` and
  // `evaluator.with.policy.runtime` (`@realm-lm/graph` RuntimeConfig: device cpu|webgpu|cuda, threads).
})

/**
 * Pre-training of a from-scratch base on another domain (see `BaseModel.ts`): SFT on rule-teacher routes of a task
 * source other than the pipeline's own, so the base writes the answer format without having been distilled on the
 * pipeline's domain (a real starting point for ReaLM-Zero).
 */
export const Pretrain = Schema.Struct({
  /** Task source of the pre-training problems (its `train` split); must not be the pipeline's `tasks`. Default `{ use: arithmetic }` (levels 1-3, 2000 problems). */
  tasks: Schema.optionalKey(Choice),
  /** The trainer's `sft` section for the pre-training run, in place of `trainer.with.sft` (warm starts always off, verifier prompts). Default the trainer's defaults. */
  sft: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type Pretrain = typeof Pretrain.Type

/**
 * Where the policy starts (the base stage's core `ModelSource`): a new model trained from scratch (optionally
 * pre-trained on another domain), a Hugging Face model directory, or any source as `{ use, with }` (a built-in
 * `scratch` / `directory`, or a path to your own module).
 */
export const ModelSource = Schema.Union([
  Schema.Struct({
    /** From-scratch model settings (the registered `scratch` model source: vocabSize, hiddenSize, layers, ...). */
    scratch: Schema.Record(Schema.String, Schema.Unknown),
    /** Pre-train the from-scratch model on another domain before any method starts. Default: none (random init). */
    pretrain: Schema.optionalKey(Pretrain)
  }),
  Schema.Struct({
    /** A Hugging Face model directory (config.json, model.safetensors, tokenizer files). */
    init: Schema.NonEmptyString
  }),
  Choice
])

/** What is evaluated. */
export const Evaluation = Schema.Struct({
  /** Task splits evaluated (each in assisted and autonomous mode). Default [test, heldout]. */
  splits: Schema.optionalKey(Schema.Array(Problem.Split)),
  /** Evaluate the untrained base model too. Default false. */
  base: Schema.optionalKey(Schema.Boolean)
})

/** The splits a config evaluates (default test and heldout). */
export const evaluationSplits = (config: {
  readonly evaluation?: { readonly splits?: ReadonlyArray<Problem.Split> | undefined } | undefined
}): ReadonlyArray<Problem.Split> => config.evaluation?.splits ?? ["test", "heldout"]

/** A whole pipeline config file (structure only; slot settings are checked by `validate`). */
export const PipelineConfig = Schema.Struct({
  /** The policy's starting point. Default: a small model from scratch. */
  model: Schema.optionalKey(ModelSource),
  /** Your own stages, each placed after (or before) a named stage: `[{ use: ./my-stage.ts, after: corpus, with: {...} }]`. Default none. */
  stages: Schema.optionalKey(Schema.Array(StageModule.StageEntry)),
  /** Methods to train and compare: built-in names or variants (`{ name, method, trainer?, curriculum?, verifier? }`). Default: every built-in method. */
  methods: Schema.optionalKey(Schema.Array(Methods.MethodEntry)),
  evaluation: Schema.optionalKey(Evaluation),
  /** Seeds, baselines and learning-rate grids for `realm experiment` (ignored by `realm run`). */
  experiment: Schema.optionalKey(ExperimentSettings),
  name: Schema.optionalKey(Schema.NonEmptyString),
  run: Schema.optionalKey(RunSettings),
  /** Corpus build settings (`CorpusConfig` without `runDir`). */
  corpus: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  tasks: Schema.optionalKey(Choice),
  judge: Schema.optionalKey(Choice),
  teacher: Schema.optionalKey(Choice),
  verifier: Schema.optionalKey(Choice),
  curriculum: Schema.optionalKey(Choice),
  trainer: Schema.optionalKey(Choice),
  evaluator: Schema.optionalKey(Choice)
})
export type PipelineConfig = typeof PipelineConfig.Type

/** One problem found in a config, with the path of the offending value. */
export interface ConfigProblem {
  readonly path: string
  readonly detail: string
}

/**
 * The slots a config fills (each method's own slots included), with the implementation choice each will run. Module
 * paths among them are code that `realm run` imports and executes.
 */
const slotChoices = (config: PipelineConfig): Array<readonly [Slot, string, Resolve.Choice | undefined]> => {
  const checked: Array<readonly [Slot, string, Resolve.Choice | undefined]> = [
    ...slots.map((slot) => [slot, slot, config[slot]] as const),
    ...(config.model !== undefined && "use" in config.model ? [["model", "model", config.model] as const] : [])
  ]
  // Each method's slots as it will train, its own settings merged in (each distinct implementation and settings
  // once: a fixed guidance or answer-only rewards are the implementation's to apply, not settings to check).
  const keyOf = (slot: string, choice: Resolve.Choice | undefined) =>
    `${slot}:${JSON.stringify(choice === undefined ? null : { use: choice.use, with: choice.with })}`
  const seen = new Set<string>(checked.map(([slot, , choice]) => keyOf(slot, choice)))
  for (const method of Methods.plan(Methods.selected(config))) {
    const own = Wiring.methodSlots(config, method)
    for (const slot of ["trainer", "verifier", "curriculum"] as const) {
      const key = keyOf(slot, own[slot])
      if (seen.has(key)) continue
      seen.add(key)
      checked.push([slot, `${slot} (method ${method.name})`, own[slot]] as const)
    }
  }
  return checked
}

/** A module file a config names, with the config path that names it. */
export interface NamedModule {
  readonly path: string
  readonly module: string
}

/**
 * The user modules a config names (`use: ./my-verifier.ts`), each once, with the first path naming it and the file
 * resolved against `baseDir`: running the config imports them, which executes their code.
 */
export const modulesNamed = (config: PipelineConfig, baseDir: string): Array<NamedModule> => {
  const found = new Map<string, string>()
  const note = (path: string, choice: Resolve.Choice | undefined) => {
    if (choice === undefined || !CustomModule.isModulePath(choice.use)) return
    const file = CustomModule.file(choice.use, baseDir)
    if (!found.has(file)) found.set(file, path)
  }
  for (const [, label, choice] of slotChoices(config)) note(`${label}.use`, choice)
  const pretrain = BaseModel.section(config)
  if (pretrain !== undefined) note("model.pretrain.tasks.use", pretrain.tasks)
  for (const [i, entry] of (config.stages ?? []).entries()) note(`stages[${i}].use`, entry)
  return [...found].map(([module, path]) => ({ path, module }))
}

/**
 * Curriculum settings of a fixed-guidance variant (`grpo`, `cot-synthesizer`, ...) that change nothing: the
 * curriculum's own `fixedGuidance` gives the same settings with and without them (EAAI replaces its schedule), or the
 * curriculum declares none and the baselines run on the registered `fixed` one. Found by asking the implementation,
 * so the pipeline knows no curriculum's keys.
 */
const ignoredOverrides = (config: PipelineConfig, baseDir: string, modules: Resolve.ModuleLoading) =>
  Effect.gen(function* () {
    const problems: Array<string> = []
    const configured = Wiring.curriculum(config)
    for (const [i, entry] of Methods.selected(config).entries()) {
      if (typeof entry === "string" || entry.curriculum === undefined) continue
      const guidance = Methods.kind(entry.method).guidance
      if (guidance === "configured") continue
      const found = yield* Effect.result(Resolve.inspect("curriculum", configured.use, baseDir, modules))
      if (found._tag === "Failure" || found.success === undefined) continue
      const impl = found.success
      // The settings the method runs with, as data; undefined when they do not decode (reported elsewhere).
      const runs = (settings: Record<string, unknown>): string | undefined => {
        const decoded = ConfigDecode.decodeResult(impl.config)(settings)
        if (decoded._tag === "Failure") return undefined
        return JSON.stringify(impl.fixedGuidance === undefined ? null : impl.fixedGuidance(decoded.success, guidance))
      }
      const base = Wiring.asRecord(configured.with)
      const plain = runs(base)
      for (const [key, value] of Object.entries(entry.curriculum)) {
        const changed = runs(Methods.deepMerge(base, { [key]: value }))
        if (plain === undefined || changed === undefined || changed !== plain) continue
        problems.push(
          `methods[${i}].curriculum.${key}: "${entry.method}" has a fixed guidance (${guidance === "none" ? "none" : "routes always"}), which this ` +
            `curriculum runs without its ${key} setting${impl.fixedGuidance === undefined ? " (it declares no fixedGuidance, so the registered fixed curriculum runs instead)" : ""}, so it changes nothing; vary a "realm" variant instead`
        )
      }
    }
    return problems
  })

/**
 * Check every present slot's settings against its implementation, and the corpus section. With `modules: "locate"`
 * user modules are not imported (no code runs): their files must exist, and their settings are left unchecked.
 */
export const validate = (config: PipelineConfig, baseDir: string, modules: Resolve.ModuleLoading = "load") =>
  Effect.gen(function* () {
    const problems: Array<ConfigProblem> = []
    problems.push(...Methods.check(Methods.selected(config)).map((detail) => ({ path: "methods", detail })))
    for (const [slot, label, choice] of slotChoices(config)) {
      if (choice === undefined) continue
      const found = yield* Effect.result(Resolve.inspect(slot, choice.use, baseDir, modules))
      if (found._tag === "Failure") {
        problems.push({ path: `${label}.use`, detail: found.failure.detail })
        continue
      }
      if (found.success === undefined) continue
      const decoded = ConfigDecode.decodeResult(found.success.config)(choice.with ?? {})
      if (decoded._tag === "Failure") problems.push({ path: `${label}.with`, detail: decoded.failure })
    }
    problems.push(...(yield* ignoredOverrides(config, baseDir, modules)).map((detail) => ({ path: "methods", detail })))
    problems.push(...(yield* BaseModel.check(config, baseDir, modules)))
    for (const [i, entry] of (config.stages ?? []).entries()) {
      const found = yield* Effect.result(
        modules === "load"
          ? Effect.asVoid(StageModule.load(entry, baseDir))
          : Effect.asVoid(CustomModule.locate("stage", entry.use, baseDir))
      )
      if (found._tag === "Failure") problems.push({ path: `stages[${i}].use`, detail: found.failure.detail })
    }
    if (config.corpus !== undefined) {
      const decoded = ConfigDecode.decodeResult(Corpus.CorpusConfig)({ ...config.corpus, runDir: "." })
      if (decoded._tag === "Failure") problems.push({ path: "corpus", detail: decoded.failure })
    }
    return problems
  })
