/**
 * The built-in implementation of each slot, by name. A pipeline config picks one per slot with `use:` (a name
 * from here, or a path to the user's own module) and gives its settings with `with:`.
 */
import { EaaiConfig, Curriculum as Eaai } from "@realm-lm/eaai"
import { MrpvConfig, Verifier as Mrpv } from "@realm-lm/mrpv"
import { HttpTeacher, LocalTeacher, RuleTeacher } from "@realm-lm/corpus"
import { Answer, Arithmetic, Benchmarks, Loader, ParcelDomain } from "@realm-lm/tasks"
import { ModelSource, TaskSource } from "@realm-lm/core"
import type { Checkpoint } from "@realm-lm/core"
import { Evaluate } from "@realm-lm/evaluator"
import { FixedCurriculum, PolicyTrainer as Trainer, Scratch, TrainerConfig } from "@realm-lm/trainer"
import { Effect, Layer, Predicate, Schema } from "effect"
import type { FileSystem, Path } from "effect"
import type { Implementation, Slot } from "./Implementation.ts"
import { define, erase } from "./Implementation.ts"

const NoSettings = Schema.Struct({})

/** Built-in vertical domain: parcel shipping fees under a written rulebook. */
export const parcel = define({
  slot: "tasks",
  id: "@realm-lm/tasks/parcel",
  config: ParcelDomain.ParcelConfig,
  layer: (c) => Layer.succeed(TaskSource.TaskSource, ParcelDomain.make(c))
})

/** Synthetic multi-step arithmetic word problems. */
export const arithmetic = define({
  slot: "tasks",
  id: "@realm-lm/tasks/arithmetic",
  config: Arithmetic.ArithmeticConfig,
  layer: (c) => Layer.succeed(TaskSource.TaskSource, Arithmetic.make(c))
})

/** A user's own JSONL/JSON files with a field mapping. */
export const files = define({
  slot: "tasks",
  id: "@realm-lm/tasks/files",
  config: Loader.LoaderConfig,
  layer: (c) => Loader.layer(Schema.encodeSync(Loader.LoaderConfig)(c)),
  dataFiles: (c) => Object.values(c.files),
  resolvePaths: (c, resolve) => ({
    ...c,
    files: Object.fromEntries(Object.entries(c.files).map(([split, file]) => [split, resolve(file)]))
  })
})

/** A public benchmark from the shared data folder (GSM8K and the others in `benchmarks/`). */
export const benchmark = define({
  slot: "tasks",
  id: "@realm-lm/tasks/benchmark",
  config: Schema.Struct({
    name: Schema.Literals(Benchmarks.names),
    dir: Schema.optionalKey(Schema.String),
    limit: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)))
  }),
  layer: (c) =>
    Benchmarks.layer(c.name, {
      ...(c.dir === undefined ? {} : { dir: c.dir }),
      ...(c.limit === undefined ? {} : { limit: c.limit })
    }),
  dataFiles: (c) => {
    const dir = c.dir ?? Benchmarks.benchmarksDir()
    return dir === undefined ? [] : Object.values(Benchmarks.preset(c.name, dir).files)
  },
  resolvePaths: (c, resolve) => (c.dir === undefined ? c : { ...c, dir: resolve(c.dir) })
})

/** Answer extraction and comparison per answer type. */
export const answer = define({
  slot: "judge",
  id: "@realm-lm/tasks/answer",
  config: NoSettings,
  layer: () => Answer.layer
})

/** Rule teacher for the built-in domains: correct and deliberately wrong routes from step programs. */
export const rule = define({
  slot: "teacher",
  id: "@realm-lm/corpus/rule",
  config: NoSettings,
  layer: () => RuleTeacher.layer
})

/** Any OpenAI-compatible chat-completions endpoint, guided by the rulebook. */
export const http = define({
  slot: "teacher",
  id: "@realm-lm/corpus/http",
  config: HttpTeacher.HttpTeacherConfig,
  layer: HttpTeacher.layerFetch
})

/** A local Hugging Face model directory as the teacher, on ONNX Runtime. */
export const local = define({
  slot: "teacher",
  id: "@realm-lm/corpus/local",
  config: LocalTeacher.LocalTeacherConfig,
  layer: LocalTeacher.layer,
  resolvePaths: (c, resolve) => ({ ...c, model: resolve(c.model) })
})

/** MRPV verifier: multi-route prompts, verdict parsing, structured rewards. */
export const mrpv = define({
  slot: "verifier",
  id: "@realm-lm/mrpv",
  config: MrpvConfig.MrpvConfig,
  layer: Mrpv.layerConfig,
  answerOnly: MrpvConfig.answerOnly
})

/** EAAI curriculum: asymptotically fading external guidance with per-problem rescue. */
export const eaai = define({
  slot: "curriculum",
  id: "@realm-lm/eaai",
  config: EaaiConfig.EaaiConfig,
  layer: Eaai.layerConfig,
  fixedGuidance: EaaiConfig.fixedGuidance,
  seedSetting: "seed"
})

/** The same guidance at every step: routes in every prompt (default 4), or none. The baselines' fallback. */
export const fixed = define({
  slot: "curriculum",
  id: "@realm-lm/trainer/FixedCurriculum",
  config: FixedCurriculum.FixedConfig,
  layer: FixedCurriculum.layer,
  fixedGuidance: FixedCurriculum.fixedGuidance,
  seedSetting: "seed"
})

/** The curriculum a baseline runs with when the configured one declares no `fixedGuidance`. */
export const fixedFallback = erase(fixed)

const modelFailed = (source: string) => (cause: unknown) =>
  new ModelSource.ModelSourceFailed({
    source,
    detail: Predicate.hasProperty(cause, "message") ? String(cause.message) : String(cause),
    cause
  })

/**
 * A small Llama-style model made for the run: a byte-level BPE trained on the run's texts and random weights
 * (`@realm-lm/trainer` Scratch settings: vocabSize, hiddenSize, layers, ...; `seed` defaults to the run's).
 */
export const scratch = define({
  slot: "model",
  id: "@realm-lm/trainer/Scratch",
  // Checked by `Scratch.create` when the model is made, so that a seed left out follows the run's.
  config: Schema.Record(Schema.String, Schema.Unknown),
  layer: (settings) =>
    Layer.effect(
      ModelSource.ModelSource,
      Effect.map(Effect.context<FileSystem.FileSystem | Path.Path>(), (platform) =>
        ModelSource.ModelSource.of({
          name: "scratch",
          create: (request) =>
            Effect.gen(function* () {
              const texts = yield* request.texts
              const created = yield* Scratch.create(request.outDir, texts, { seed: request.seed, ...settings }).pipe(
                Effect.mapError(modelFailed("scratch"))
              )
              const ref: Checkpoint.CheckpointRef = {
                path: created.dir,
                kind: "base",
                step: 0,
                metrics: { parameters: created.parameters }
              }
              return ref
            }).pipe(Effect.provideContext(platform))
        })
      )
    )
})

/** An existing Hugging Face model directory (config.json, model.safetensors, tokenizer files), used as it is. */
export const directory = define({
  slot: "model",
  id: "hf-directory",
  config: Schema.Struct({ path: Schema.NonEmptyString }),
  layer: (settings) =>
    Layer.succeed(ModelSource.ModelSource, {
      name: "directory",
      create: () => Effect.succeed({ path: settings.path, kind: "base" as const, step: 0, metrics: {} })
    }),
  resolvePaths: (settings, resolve) => ({ ...settings, path: resolve(settings.path) })
})

/** SFT, RFT and GRPO-family RL on ONNX Runtime. */
export const onnx = define({
  slot: "trainer",
  id: "@realm-lm/trainer",
  config: TrainerConfig.TrainerConfig,
  layer: Trainer.layerConfig,
  seedSetting: "seed",
  pretrain: TrainerConfig.pretraining,
  phaseInputs: TrainerConfig.phaseInputs
})

/** Assisted and autonomous evaluation with sc@k, pass@k and bootstrap intervals. */
export const evaluator = define({
  slot: "evaluator",
  id: "@realm-lm/evaluator",
  config: Evaluate.EvaluatorConfig,
  layer: Evaluate.layerConfig
})

/** Built-in implementations per slot; the first of each slot is its default. */
export const builtins: { readonly [S in Slot]: Record<string, Implementation<S, unknown>> } = {
  tasks: { parcel: erase(parcel), arithmetic: erase(arithmetic), files: erase(files), benchmark: erase(benchmark) },
  judge: { answer: erase(answer) },
  teacher: { rule: erase(rule), http: erase(http), local: erase(local) },
  verifier: { mrpv: erase(mrpv) },
  curriculum: { eaai: erase(eaai), fixed: fixedFallback },
  trainer: { onnx: erase(onnx) },
  evaluator: { default: erase(evaluator) },
  model: { scratch: erase(scratch), directory: erase(directory) }
}

/** The default implementation of each slot a config names with `use`. */
export const defaults = {
  tasks: { use: "parcel" },
  judge: { use: "answer" },
  teacher: { use: "rule" },
  verifier: { use: "mrpv" },
  curriculum: { use: "eaai" },
  trainer: { use: "onnx" },
  evaluator: { use: "default" }
} as const

/**
 * The base model's source as a slot choice: `model: { scratch }` is the `scratch` source, `model: { init }` the
 * `directory` source, `model: { use, with }` any source (a user's own module); absent, a scratch model with defaults.
 */
export const modelChoice = (
  model:
    | { readonly scratch: Record<string, unknown> }
    | { readonly init: string }
    | { readonly use: string; readonly with?: unknown }
    | undefined
): { readonly use: string; readonly with?: unknown } =>
  model === undefined
    ? { use: "scratch", with: {} }
    : "use" in model
      ? model
      : "init" in model
        ? { use: "directory", with: { path: model.init } }
        : { use: "scratch", with: model.scratch }
