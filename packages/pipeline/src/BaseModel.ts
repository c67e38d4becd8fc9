/**
 * A pre-trained base model (`model.pretrain`): a from-scratch model first learns the answer format on another domain
 * (built-in arithmetic by default) by SFT on rule-teacher routes, so that RL straight from the base (ReaLM-Zero)
 * starts from a policy that already writes `Step k: … / Answer: N` without ever being distilled on the pipeline's
 * own domain. Everything is written under the base stage's directory, with `pretrain.json` saying what the base saw.
 */
import { join } from "node:path"
import {
  ConfigDecode,
  CorpusRecord,
  ModelSource,
  PolicyTrainer,
  Problem,
  Rng,
  TaskSource,
  Verifier
} from "@realm-lm/core"
import { Jsonl, RunDir } from "@realm-lm/core/node"
import type { Checkpoint, Curriculum } from "@realm-lm/core"
import { Corpus } from "@realm-lm/corpus"
import { Progress as TrainerProgress } from "@realm-lm/trainer"
import { Effect, FileSystem, Layer, Predicate, Schema, Stream } from "effect"
import type { Path } from "effect"
import * as CorpusJob from "./CorpusJob.ts"
import * as CustomModule from "./CustomModule.ts"
import type { CustomStageInvalid } from "./CustomModule.ts"
import type { Pretraining } from "./Implementation.ts"
import type { ConfigProblem, PipelineConfig, Pretrain } from "./PipelineConfig.ts"
import * as Resolve from "./Resolve.ts"
import * as Wiring from "./Wiring.ts"

/** Task source of the pre-training problems when `model.pretrain.tasks` is absent. */
export const defaultTasks: Resolve.Choice = { use: "arithmetic" }

/** The task source a pre-training section names (arithmetic by default). */
export const tasksOf = (pretrain: Pretrain): Resolve.Choice => pretrain.tasks ?? defaultTasks

/** The teacher of the pre-training corpus: the rule teacher (it needs the step programs of the built-in domains). */
export const teacher: Resolve.Choice = { use: "rule" }

/** Corpus settings of the pre-training corpus: one correct route per problem, no wrong ones. */
export const corpusSettings = (seed: number): Record<string, unknown> => ({
  routesPerProblem: 1,
  negativesPerProblem: 0,
  minPositives: 1,
  minNegatives: 0,
  seed
})

/** Corpus records whose prompts and completions join the pipeline corpus' texts in the tokenizer's training set. */
const tokenizerRecords = 600

/** Pre-training could not produce a base (its corpus stopped early or is empty). */
export class PretrainFailed extends Schema.TaggedError<PretrainFailed>()("PretrainFailed", {
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `pre-training of the base model failed: ${this.detail}`
  }
}

/** The `model.pretrain` section of a config, when the base is pre-trained. */
export const section = (config: PipelineConfig): Pretrain | undefined =>
  config.model !== undefined && "scratch" in config.model ? config.model.pretrain : undefined

/** Why a trainer cannot pre-train a base. */
const noPretraining = (use: string) =>
  `the trainer "${use}" declares no pretrain (Implementation.pretrain: how its SFT runs the pre-training), so it cannot pre-train a base: ` +
  "remove model.pretrain, or use a trainer that declares it (onnx)"

/** How the pipeline's trainer pre-trains a base (its `Implementation.pretrain`); fails when it declares none. */
export const pretrainingOf = (config: PipelineConfig, baseDir: string) =>
  Effect.flatMap(Resolve.implementation("trainer", (config.trainer ?? Wiring.defaults.trainer).use, baseDir), (impl) =>
    impl.pretrain === undefined
      ? Effect.fail(
          new CustomModule.CustomStageInvalid({ module: impl.id, slot: "trainer", detail: noPretraining(impl.id) })
        )
      : Effect.succeed(impl.pretrain)
  )

/**
 * The trainer of the pre-training run: the pipeline's trainer slot with `model.pretrain.sft` as its SFT settings, in
 * the trainer's own terms (`pretraining.settings`; the built-in trainer: warm starts off, the verifier's autonomous prompts).
 */
export const trainerChoice = (config: PipelineConfig, pretrain: Pretrain, pretraining: Pretraining): Resolve.Choice => {
  const base: Resolve.Choice = config.trainer ?? Wiring.defaults.trainer
  return { use: base.use, with: pretraining.settings(Wiring.asRecord(base.with), Wiring.asRecord(pretrain.sft)) }
}

/**
 * The part of the pre-training trainer that changes the base, for the base stage's config hash (`pretraining.hashed`:
 * the built-in trainer's all but its `rft` and `rl` sections, so tuning RL does not re-run the pre-training).
 */
export const hashedTrainer = (choice: Resolve.Choice, pretraining: Pretraining): Resolve.Choice =>
  pretraining.hashed === undefined
    ? choice
    : { use: choice.use, with: pretraining.hashed(Wiring.asRecord(choice.with)) }

/**
 * Problems with `model.pretrain`, each with its path: an unknown or mis-configured task source, the pipeline's own
 * task source (that would be distillation on the domain), SFT settings the trainer rejects, and warm starts or
 * bare-question prompts (pre-training shows neither routes nor another prompt than evaluation's).
 */
export const check = (config: PipelineConfig, baseDir: string, modules: Resolve.ModuleLoading = "load") =>
  Effect.gen(function* () {
    const problems: Array<ConfigProblem> = []
    const pretrain = section(config)
    if (pretrain === undefined) return problems
    const tasks = tasksOf(pretrain)
    const found = yield* Effect.result(Resolve.inspect("tasks", tasks.use, baseDir, modules))
    if (found._tag === "Failure") {
      problems.push({ path: "model.pretrain.tasks.use", detail: found.failure.detail })
    } else if (found.success !== undefined) {
      const decoded = ConfigDecode.decodeResult(found.success.config)(tasks.with ?? {})
      if (decoded._tag === "Failure") problems.push({ path: "model.pretrain.tasks.with", detail: decoded.failure })
      const own: Resolve.Choice = config.tasks ?? Wiring.defaults.tasks
      const pipeline = yield* Effect.result(Resolve.inspect("tasks", own.use, baseDir, modules))
      // A procedural domain is the same domain whatever its settings; a data-file source is the same data only
      // with the same settings.
      const same =
        pipeline._tag === "Success" &&
        pipeline.success !== undefined &&
        pipeline.success.id === found.success.id &&
        (found.success.dataFiles === undefined || JSON.stringify(tasks.with ?? {}) === JSON.stringify(own.with ?? {}))
      if (same) {
        problems.push({
          path: "model.pretrain.tasks",
          detail:
            `"${tasks.use}" is the pipeline's own task source (tasks.use): pre-training on it would be SFT distillation on the ` +
            `domain, not a base that never saw it; name another domain (e.g. arithmetic for parcel, parcel for arithmetic)`
        })
      }
    }
    const use = (config.trainer ?? Wiring.defaults.trainer).use
    const trainer = yield* Effect.result(Resolve.inspect("trainer", use, baseDir, modules))
    if (trainer._tag === "Success" && trainer.success !== undefined) {
      const pretraining = trainer.success.pretrain
      if (pretraining === undefined) return [...problems, { path: "model.pretrain", detail: noPretraining(use) }]
      for (const p of pretraining.check?.(Wiring.asRecord(pretrain.sft)) ?? [])
        problems.push({ path: `model.pretrain.sft.${p.path}`, detail: p.detail })
      const decoded = ConfigDecode.decodeResult(trainer.success.config)(
        trainerChoice(config, pretrain, pretraining).with ?? {}
      )
      if (decoded._tag === "Failure") problems.push({ path: "model.pretrain.sft", detail: decoded.failure })
    }
    return problems
  })

/** What a pre-training run needs besides the config. */
export interface PretrainJob<E> {
  /** The base stage's directory: `model/` (the scratch init), `pretrain/` (problems, corpus, SFT run) and `pretrain.json` go here. */
  readonly stageDir: string
  readonly config: PipelineConfig
  readonly pretrain: Pretrain
  readonly seed: number
  readonly baseDir: string
  /** Tokenizer texts of the pipeline's own corpus; the pre-training texts are added to them. */
  readonly texts: Effect.Effect<ReadonlyArray<string>, ModelSource.ModelSourceFailed>
  /** The trainer of the pre-training run (`trainerChoice`), recorded in `pretrain.json`. */
  readonly trainerChoice: Resolve.Choice
  /** That trainer with the verifier, judge and a curriculum. */
  readonly trainer: Layer.Layer<PolicyTrainer.PolicyTrainer, E>
  readonly onProgress?: (event: TrainerProgress.ProgressEvent) => Effect.Effect<void>
}

/** What the base saw, written to `<stageDir>/pretrain.json`. */
export interface Summary {
  readonly tasks: Resolve.Choice
  readonly split: "train"
  readonly problems: number
  readonly records: number
  readonly teacher: string
  readonly trainer: Resolve.Choice
  readonly steps: number
  readonly checkpoint: string
  readonly metrics: Record<string, number>
}

/**
 * Pre-train a base: the task source's train split to `pretrain/problems.jsonl`, the rule teacher's corpus to
 * `pretrain/corpus/`, the model source's model (from scratch) whose tokenizer saw both domains' texts to `model/`, then the trainer's
 * SFT phase from it to `pretrain/sft/`. Resumes (corpus and trainer) when the stage is re-run on the same work.
 * Returns the base checkpoint: the SFT result, with `pretrained: 1` and the pre-training counts in its metrics.
 */
export const run = <E>(job: PretrainJob<E>) =>
  Effect.gen(function* () {
    const dir = join(job.stageDir, "pretrain")
    const tasks = tasksOf(job.pretrain)
    const problemsFile = join(dir, "problems.jsonl")
    const tasksLayer = yield* Resolve.layer("tasks", tasks, job.baseDir)
    yield* Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) => fs.makeDirectory(dir, { recursive: true }))
    yield* Effect.gen(function* () {
      const source = yield* TaskSource.TaskSource
      yield* Jsonl.writeAll(problemsFile, Problem.Problem, source.problems("train"))
    }).pipe(
      Effect.provide(
        tasksLayer as Layer.Layer<TaskSource.TaskSource, CustomStageInvalid, FileSystem.FileSystem | Path.Path>
      )
    )
    const problems = yield* Stream.runCount(Jsonl.read(problemsFile, Problem.Problem))
    const summary = yield* CorpusJob.run({
      out: dir,
      problems: { file: problemsFile, policy: "strict" },
      teacher,
      settings: corpusSettings(job.seed),
      baseDir: job.baseDir
    }).pipe(
      Effect.mapError(
        (cause) =>
          new PretrainFailed({
            detail: `the pre-training corpus build failed: ${Predicate.hasProperty(cause, "message") ? String(cause.message) : String(cause)}`,
            cause
          })
      )
    )
    const incomplete = Corpus.incompleteDetail(summary, join(dir, "corpus"))
    if (incomplete !== undefined) return yield* new PretrainFailed({ detail: `the pre-training ${incomplete}` })
    if (summary.records === 0)
      return yield* new PretrainFailed({
        detail: `the rule teacher wrote no route for the ${problems} problems of ${tasks.use}: it needs a built-in domain's step programs`
      })
    const corpusFile = join(dir, "corpus", "corpus.jsonl")
    const own = yield* pretrainTexts(corpusFile, job.seed)
    // The config's model source (`model.scratch`) makes the model, its tokenizer trained on both domains' texts.
    const models = yield* ModelSource.ModelSource
    const created = yield* models.create({
      outDir: join(job.stageDir, "model"),
      seed: job.seed,
      texts: Effect.map(job.texts, (texts) => [...texts, ...own])
    })
    const layers = Layer.mergeAll(job.trainer, TrainerProgress.layer(job.onProgress ?? (() => Effect.void)))
    const trained = yield* Effect.flatMap(Effect.service(PolicyTrainer.PolicyTrainer), (trainer) =>
      trainer.sft({ init: created.path, corpus: corpusFile, outDir: join(dir, "sft"), resume: true })
    ).pipe(Effect.provide(layers))
    const seen: Summary = {
      tasks,
      split: "train",
      problems,
      records: summary.records,
      teacher: teacher.use,
      trainer: job.trainerChoice,
      steps: trained.step,
      checkpoint: trained.path,
      metrics: trained.metrics
    }
    yield* RunDir.writeJsonAtomic(join(job.stageDir, "pretrain.json"), seen)
    const prefixed = Object.fromEntries(Object.entries(trained.metrics).map(([k, v]) => [`pretrain_${k}`, v]))
    const ref: Checkpoint.CheckpointRef = {
      path: trained.path,
      kind: "base",
      step: trained.step,
      metrics: {
        ...prefixed,
        ...(created.metrics.parameters === undefined ? {} : { parameters: created.metrics.parameters }),
        pretrained: 1,
        pretrain_problems: problems,
        pretrain_records: summary.records,
        pretrain_steps: trained.step
      }
    }
    return ref
  }).pipe(Effect.withSpan("pipeline.BaseModel.run"))

/** Prompts (the verifier's autonomous ones, as pre-training shows them) and completions of the pre-training corpus. */
const pretrainTexts = (corpusFile: string, seed: number) =>
  Effect.gen(function* () {
    const verifier = yield* Verifier.Verifier
    const records = yield* Stream.runCollect(
      Stream.take(Jsonl.read(corpusFile, CorpusRecord.CorpusRecord), tokenizerRecords)
    )
    const texts: Array<string> = []
    for (const record of records) {
      const decision: Curriculum.GuidanceDecision = {
        problemId: record.problem.id,
        strength: 0,
        routeCount: 0,
        hintFraction: 0,
        rescue: false,
        seed: Rng.Rng.make(seed, "pretrain-tokenizer", record.problem.id).seed()
      }
      const example = yield* verifier.example({ problem: record.problem, routes: record.routes, decision })
      texts.push(...example.prompt.messages.map((m) => m.content), example.completion)
    }
    return texts
  })
