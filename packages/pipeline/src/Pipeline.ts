/**
 * Run a pipeline config end to end inside a run directory: problems, teacher corpora (training split, and the
 * evaluation splits for assisted prompts), the base model, each method's training, evaluation of every method in
 * assisted and autonomous mode, and the results table. Every stage has a manifest: an unchanged stage is skipped
 * and an interrupted one resumes (trainers continue from their last checkpoint).
 */
import { dirname, join, relative, resolve } from "node:path"
import { Checkpoint, CorpusRecord, EvalResult, Evaluator, ModelSource, PolicyTrainer, Problem, Prompt, Rng, TaskSource, Verifier } from "@realm-lm/core"
import { Jsonl, RunDir } from "@realm-lm/core/node"
import type { Curriculum } from "@realm-lm/core"
import { Corpus } from "@realm-lm/corpus"
import type { Progress as CorpusProgress } from "@realm-lm/corpus"
import { Progress as TrainerProgress } from "@realm-lm/trainer"
import { Effect, FileSystem, Layer, Predicate, Schema, Stream } from "effect"
import * as BaseModel from "./BaseModel.ts"
import * as CorpusJob from "./CorpusJob.ts"
import { plan, selected } from "./Methods.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import { evaluationSplits, validate } from "./PipelineConfig.ts"
import * as Registry from "./Registry.ts"
import * as Resolve from "./Resolve.ts"
import * as Routes from "./Routes.ts"
import * as TemplateDate from "./TemplateDate.ts"
import * as Wiring from "./Wiring.ts"
import { define, StageFailed } from "./Stage.ts"
import type { RunInfo, StageOutcome } from "./StageRunner.ts"
import { runStage } from "./StageRunner.ts"

/** The config has problems; each names its path. */
export class PipelineInvalid extends Schema.TaggedError<PipelineInvalid>()("PipelineInvalid", {
  problems: Schema.Array(Schema.Struct({ path: Schema.String, detail: Schema.String }))
}) {
  override get message(): string {
    return `invalid pipeline config:\n${this.problems.map((p) => `${p.path}: ${p.detail}`).join("\n")}`
  }
}

/** Callbacks for a live display. */
export interface Hooks {
  readonly stage?: (name: string, outcome: "start" | StageOutcome) => Effect.Effect<void>
  readonly corpus?: (split: string, progress: CorpusProgress.Progress) => Effect.Effect<void>
  readonly train?: (method: string, event: TrainerProgress.ProgressEvent) => Effect.Effect<void>
  /** After each evaluation (one method, split and mode): how many of how many are done, and the result. */
  readonly evaluated?: (done: number, total: number, result: EvalResult.EvalResult) => Effect.Effect<void>
}

/** What a finished run returns. */
export interface RunResult {
  readonly runDir: string
  readonly results: ReadonlyArray<EvalResult.EvalResult>
  /** Checkpoint of each trained method. */
  readonly checkpoints: ReadonlyMap<string, Checkpoint.CheckpointRef>
}


/** Read a JSON file written by a stage and decode it. */
const readJson = <A, I>(path: string, schema: Schema.Codec<A, I>) =>
  Effect.flatMap(Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) => fs.readFileString(path)), (text) =>
    Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(text))

/** Read a stage's `result.json`: the checkpoint it produced. */
export const readRef = (path: string) => readJson(path, Checkpoint.CheckpointRef)

const fail = (stage: string) => (error: { readonly message: string }) =>
  new StageFailed({ stage, detail: `${Predicate.hasProperty(error, "_tag") ? `${String(error._tag)}: ` : ""}${error.message}`, cause: error })

/** Where the teacher routes of a split live: the training corpus for `train`, `routes-<split>/corpus/` otherwise. */
export const routesFile = (runDir: string, split: string): string =>
  split === "train" ? join(runDir, "corpus", "corpus.jsonl") : join(runDir, `routes-${split}`, "corpus", "corpus.jsonl")


/**
 * Run the pipeline. `baseDir` resolves relative paths in the config (module paths, `model.init`, `run.runDir`, data
 * files). Chat templates render with the run's pinned date (`TemplateDate.ts`).
 */
export const run = (
  config: PipelineConfig,
  baseDir: string,
  hooks: Hooks = {},
  extra: {
    readonly gitRevision?: string
    readonly packages?: Record<string, string>
    /** Splits whose problems (and routes) are prepared besides the evaluated ones, so that runs of one directory evaluating different splits share their problems and corpora. */
    readonly prepareSplits?: ReadonlyArray<Problem.Split>
  } = {}
) =>
  Effect.gen(function*() {
    const problems = yield* validate(config, baseDir)
    if (problems.length > 0) return yield* new PipelineInvalid({ problems })
    const runDir = resolve(baseDir, config.run?.runDir ?? join("runs", config.name ?? "pipeline"))
    // Every prompt of the run renders with one chat-template date, pinned when the directory was first used.
    const templateDate = yield* TemplateDate.pin(runDir, config.run?.templateDate)
    return yield* stages(config, baseDir, hooks, extra, runDir, templateDate).pipe(Effect.provideService(Prompt.TemplateDate, templateDate))
  })

/** The stages of `run`, once the config is valid and the run's template date pinned. */
const stages = (
  config: PipelineConfig,
  baseDir: string,
  hooks: Hooks,
  extra: { readonly gitRevision?: string; readonly packages?: Record<string, string>; readonly prepareSplits?: ReadonlyArray<Problem.Split> },
  runDir: string,
  templateDate: string
) =>
  Effect.gen(function*() {
    const seed = config.run?.seed ?? 0
    const info: RunInfo = { runDir, seed, templateDate, packages: extra.packages ?? {}, ...(extra.gitRevision === undefined ? {} : { gitRevision: extra.gitRevision }) }
    const wiring = yield* Wiring.make(config, baseDir)
    const choice = wiring.choice
    const verifierLayer = wiring.verifier
    const stage = (name: string) => hooks.stage?.(name, "start") ?? Effect.void
    const done = (name: string) => (outcome: StageOutcome) => hooks.stage?.(name, outcome) ?? Effect.void

    // 1. Problems of every split used.
    const evalSplits = evaluationSplits(config)
    const splits = [...new Set<Problem.Split>(["train", ...(extra.prepareSplits ?? []), ...evalSplits])]
    const tasksChoice = choice("tasks")
    const tasksLayer = yield* wiring.slotLayer("tasks")
    // The task source's data files count as config: editing one re-runs the problems and everything after them.
    const data = yield* Resolve.dataHashes("tasks", tasksChoice, baseDir).pipe(Effect.mapError(fail("problems")))
    yield* stage("problems")
    const problemsOutcome = yield* runStage(info, define({
      name: "problems",
      implementation: tasksChoice.use,
      config: Schema.Struct({ tasks: Schema.Unknown, splits: Schema.Array(Schema.String), data: Schema.Array(Schema.Struct({ path: Schema.String, sha256: Schema.String })) }),
      inputs: () => [],
      outputs: (c) => c.splits.map((s) => `${s}.jsonl`),
      run: ({ stageDir }) =>
        Effect.gen(function*() {
          const tasks = yield* TaskSource.TaskSource
          for (const split of splits) yield* Jsonl.writeAll(join(stageDir, `${split}.jsonl`), Problem.Problem, tasks.problems(split))
        }).pipe(Effect.provide(tasksLayer), Effect.mapError(fail("problems")))
    }), { tasks: tasksChoice, splits, data: data.map((d) => ({ path: d.path, sha256: d.sha256 })) }).pipe(Effect.tap(done("problems")))

    // 2. Teacher routes: the training corpus, and routes for assisted evaluation prompts. New problems make the
    // corpora of the old ones stale: the corpus builder would resume them, so they are removed first.
    const fs = yield* FileSystem.FileSystem
    for (const split of splits) {
      const name = split === "train" ? "corpus" : `routes-${split}`
      if (problemsOutcome === "ran") yield* fs.remove(dirname(routesFile(runDir, split)), { recursive: true, force: true })
      yield* stage(name)
      const summary = yield* CorpusJob.run({
        out: split === "train" ? runDir : join(runDir, name),
        problems: { file: join(runDir, "problems", `${split}.jsonl`), policy: "strict" },
        teacher: choice("teacher"),
        judge: choice("judge"),
        settings: Wiring.asRecord(config.corpus),
        baseDir,
        ...(hooks.corpus === undefined ? {} : { onProgress: (p) => hooks.corpus?.(split, p) ?? Effect.void })
      })
      // A failed corpus (too many failed problems) or one the budget stopped is never trained on.
      const incomplete = Corpus.incompleteDetail(summary, dirname(routesFile(runDir, split)))
      if (incomplete !== undefined) return yield* new StageFailed({ stage: name, detail: incomplete })
      for (const warning of summary.warnings) yield* Effect.logWarning(`${name}: ${warning}`)
      yield* done(name)(summary.built === 0 && summary.failed === 0 ? "skipped" : "ran")
    }
    const corpusFile = join(runDir, "corpus", "corpus.jsonl")

    // 3. The base model, from the config's model source (a from-scratch model by default, optionally pre-trained on
    // another domain: `model.pretrain`, see BaseModel.ts).
    yield* stage("base")
    const model = config.model ?? { scratch: {} }
    const source = Registry.modelChoice(config.model)
    const sourceLayer = yield* wiring.slotLayer("model", source)
    const pretrain = BaseModel.section(config)
    const pretrainer = pretrain === undefined ? undefined : BaseModel.trainerChoice(config, pretrain)
    // The pre-training task source's data files count as config too (a `files` source edited re-runs the base).
    const pretrainData = pretrain === undefined ? [] : yield* Resolve.dataHashes("tasks", BaseModel.tasksOf(pretrain), baseDir).pipe(Effect.mapError(fail("base")))
    const sourceId = (yield* Resolve.implementation("model", source.use, baseDir).pipe(Effect.mapError(fail("base")))).id
    yield* runStage(info, define({
      name: "base",
      implementation: pretrain === undefined ? sourceId : "@realm-lm/pipeline/BaseModel",
      config: Schema.Unknown,
      inputs: () => ["corpus/corpus.jsonl"],
      outputs: () => (pretrain === undefined ? ["result.json"] : ["result.json", "pretrain.json"]),
      run: ({ stageDir }) =>
        Effect.gen(function*() {
          const verifier = yield* Verifier.Verifier
          const texts = tokenizerTexts(corpusFile, seed).pipe(
            Effect.provideService(Verifier.Verifier, verifier),
            Effect.provideService(FileSystem.FileSystem, fs),
            Effect.mapError((e) => new ModelSource.ModelSourceFailed({ source: source.use, detail: `tokenizer texts: ${e.message}`, cause: e }))
          )
          if (pretrain !== undefined && pretrainer !== undefined) {
            const ref = yield* BaseModel.run({
              stageDir, config, pretrain, seed, baseDir, texts,
              trainer: yield* wiring.trainer(Wiring.curriculum(config), { trainer: pretrainer }),
              onProgress: (event) => hooks.train?.("base", event) ?? Effect.void
            })
            return yield* RunDir.writeJsonAtomic(join(stageDir, "result.json"), ref)
          }
          const models = yield* ModelSource.ModelSource
          const ref = yield* models.create({ outDir: join(stageDir, "model"), seed, texts })
          yield* RunDir.writeJsonAtomic(join(stageDir, "result.json"), ref)
        }).pipe(Effect.provide(Layer.merge(verifierLayer, sourceLayer)), Effect.mapError(fail("base")))
      // The pre-training run's trainer settings (not its RL ones) change the base as much as the pre-training section does.
    }), {
      model,
      verifier: choice("verifier"),
      judge: choice("judge"),
      ...(pretrainer === undefined ? {} : { pretrainer: BaseModel.hashedTrainer(pretrainer), pretrainData: pretrainData.map((d) => ({ path: d.path, sha256: d.sha256 })) })
    }).pipe(Effect.tap(done("base")))

    // 4. Training, one stage per method.
    const checkpoints = new Map<string, Checkpoint.CheckpointRef>()
    checkpoints.set("base", yield* readRef(join(runDir, "base", "result.json")).pipe(Effect.mapError(fail("base"))))
    const planned = plan(selected(config))
    for (const method of planned) {
      const own = Wiring.methodSlots(config, method)
      const layers = Layer.mergeAll(
        yield* wiring.trainer(own.curriculum, { trainer: own.trainer, verifier: own.verifier }),
        TrainerProgress.layer((event) => hooks.train?.(method.name, event) ?? Effect.void)
      )
      yield* stage(method.name)
      yield* runStage(info, define({
        name: method.name,
        implementation: own.trainer.use,
        config: Schema.Unknown,
        inputs: () => ["corpus/corpus.jsonl", `${method.from}/result.json`],
        outputs: () => ["result.json"],
        run: ({ stageDir }) =>
          Effect.gen(function*() {
            const init = yield* readRef(join(runDir, method.from, "result.json"))
            const trainer = yield* PolicyTrainer.PolicyTrainer
            const request = { init: init.path, corpus: corpusFile, outDir: stageDir, resume: true }
            const ref = yield* trainer[method.phase](request)
            yield* RunDir.writeJsonAtomic(join(stageDir, "result.json"), ref)
          }).pipe(Effect.provide(layers), Effect.mapError(fail(method.name)))
      }), { trainer: own.trainer, curriculum: own.curriculum, verifier: own.verifier, judge: choice("judge"), from: method.from, phase: method.phase }).pipe(
        Effect.tap(done(method.name))
      )
      checkpoints.set(method.name, yield* readRef(join(runDir, method.name, "result.json")).pipe(Effect.mapError(fail(method.name))))
    }

    // 5. Evaluation of every method (and optionally the base) in both modes on every evaluation split.
    const evaluated = [...(config.evaluation?.base === true ? ["base" as const] : []), ...planned.map((m) => m.name)]
    const labels = new Map<string, string>([["base", "Base model"], ...planned.map((m) => [m.name, m.label] as const)])
    const evaluatorLayer = Layer.provideMerge(yield* wiring.slotLayer("evaluator"), verifierLayer)
    yield* stage("eval")
    yield* runStage(info, define({
      name: "eval",
      implementation: choice("evaluator").use,
      config: Schema.Unknown,
      inputs: () => [
        ...evaluated.map((m) => `${m}/result.json`),
        ...evalSplits.map((s) => `problems/${s}.jsonl`),
        ...evalSplits.map((s) => relative(runDir, routesFile(runDir, s)))
      ],
      outputs: () => ["results.json"],
      run: ({ stageDir }) =>
        Effect.gen(function*() {
          const evaluator = yield* Evaluator.Evaluator
          const results: Array<EvalResult.EvalResult> = []
          const total = evalSplits.length * evaluated.length * 2
          for (const split of evalSplits) {
            const problemsOfSplit = yield* Stream.runCollect(Jsonl.read(join(runDir, "problems", `${split}.jsonl`), Problem.Problem))
            const routes = yield* Routes.read(routesFile(runDir, split))
            for (const name of evaluated) {
              const ref = checkpoints.get(name) as Checkpoint.CheckpointRef
              for (const mode of ["assisted", "autonomous"] as const) {
                const result = yield* evaluator.evaluate({
                  method: labels.get(name) ?? name, checkpoint: ref.path, task: tasksChoice.use, split, problems: problemsOfSplit, routes, mode
                })
                results.push(result)
                if (hooks.evaluated !== undefined) yield* hooks.evaluated(results.length, total, result)
              }
            }
          }
          yield* RunDir.writeJsonAtomic(join(stageDir, "results.json"), results)
        }).pipe(Effect.provide(evaluatorLayer), Effect.mapError(fail("eval")))
    }), { evaluator: choice("evaluator"), verifier: choice("verifier"), judge: choice("judge"), evaluated, splits: evalSplits }).pipe(Effect.tap(done("eval")))
    const results = yield* readResults(join(runDir, "eval", "results.json"))
    return { runDir, results, checkpoints } satisfies RunResult
  })

/** Read a results file written by the eval stage. */
export const readResults = (file: string) => readJson(file, Schema.Array(EvalResult.EvalResult))

/**
 * Texts a from-scratch tokenizer is trained on: what the model will read and write, i.e. the verifier's prompts
 * (with and without routes) and ideal completions for a sample of corpus problems.
 */
const tokenizerTexts = (corpusFile: string, seed: number) =>
  Effect.gen(function*() {
    const verifier = yield* Verifier.Verifier
    const records = yield* Stream.runCollect(Stream.take(Jsonl.read(corpusFile, CorpusRecord.CorpusRecord), 600))
    const texts: Array<string> = []
    for (const record of records) {
      for (const routeCount of [0, 3]) {
        const decision: Curriculum.GuidanceDecision = {
          problemId: record.problem.id, strength: routeCount > 0 ? 1 : 0, routeCount, hintFraction: 0, rescue: false,
          seed: Rng.Rng.make(seed, "tokenizer", record.problem.id, routeCount).seed()
        }
        const example = yield* verifier.example({ problem: record.problem, routes: record.routes, decision })
        texts.push(...example.prompt.messages.map((m) => m.content), example.completion)
      }
    }
    return texts
  })
