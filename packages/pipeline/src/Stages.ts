/**
 * The built-in pipeline stages as values: problems, teacher corpora, the base model, training of each method,
 * evaluation and the report. Each declares the artifacts it needs and gives (`PipelineStage.ts`) and does its work
 * through manifests (`StageRunner.runStage`), so an unchanged stage is skipped and an interrupted one resumes.
 * `builtins` is the default pipeline; a user's own stage goes anywhere in the list its needs allow.
 */
import { dirname, join, relative } from "node:path"
import { CorpusRecord, ModelSource, Problem, Rng, TaskSource, Verifier } from "@realm-lm/core"
import { Jsonl, RunDir } from "@realm-lm/core/node"
import type { Curriculum } from "@realm-lm/core"
import { Corpus } from "@realm-lm/corpus"
import { Effect, FileSystem, Layer, Schema, Stream } from "effect"
import * as BaseModel from "./BaseModel.ts"
import * as CorpusJob from "./CorpusJob.ts"
import * as EvalStage from "./EvalStage.ts"
import * as stageFiles from "./internal/stageFiles.ts"
import type { AnyStage } from "./PipelineStage.ts"
import { define } from "./PipelineStage.ts"
import * as Registry from "./Registry.ts"
import * as ReportJob from "./ReportJob.ts"
import * as Resolve from "./Resolve.ts"
import * as Stage from "./Stage.ts"
import { StageFailed } from "./Stage.ts"
import * as TrainStage from "./TrainStage.ts"
import * as Wiring from "./Wiring.ts"

/** Read a stage's `result.json`: the checkpoint it produced. */
export const readRef = stageFiles.readRef

/** Read a results file written by the eval stage. */
export const readResults = stageFiles.readResults

/** A stage's failure, keeping the typed cause. */
export const fail = stageFiles.fail

/** Where the teacher routes of a split live: the training corpus for `train`, `routes-<split>/corpus/` otherwise. */
export const routesFile = stageFiles.routesFile

/** Problems of every prepared split from the task source, to `problems/<split>.jsonl`. Gives `problems`. */
export const problems = define({
  name: "problems",
  needs: [],
  gives: ["problems"],
  run: (ctx) =>
    Effect.gen(function* () {
      const tasksChoice = ctx.wiring.choice("tasks")
      const tasksLayer = yield* ctx.wiring.slotLayer("tasks")
      // The task source's data files count as config: editing one re-runs the problems and everything after them.
      const data = yield* Resolve.dataHashes("tasks", tasksChoice, ctx.baseDir).pipe(Effect.mapError(fail("problems")))
      const splits = ctx.splits
      const outcome = yield* ctx.runStage(
        Stage.define({
          name: "problems",
          implementation: tasksChoice.use,
          config: Schema.Struct({
            tasks: Schema.Unknown,
            splits: Schema.Array(Schema.String),
            data: Schema.Array(Schema.Struct({ path: Schema.String, sha256: Schema.String }))
          }),
          inputs: () => [],
          outputs: (c) => c.splits.map((s) => `${s}.jsonl`),
          run: ({ stageDir }) =>
            Effect.gen(function* () {
              const tasks = yield* TaskSource.TaskSource
              for (const split of splits)
                yield* Jsonl.writeAll(
                  join(stageDir, `${split}.jsonl`),
                  Problem.Problem,
                  tasks.problems(split as Problem.Split)
                )
            }).pipe(Effect.provide(tasksLayer), Effect.mapError(fail("problems")))
        }),
        { tasks: tasksChoice, splits, data: data.map((d) => ({ path: d.path, sha256: d.sha256 })) }
      )
      // New problems make the teacher corpora of the old ones stale: the corpus builder would resume them.
      if (outcome === "ran") {
        const fs = yield* FileSystem.FileSystem
        for (const split of splits)
          yield* fs.remove(dirname(routesFile(ctx.runDir, split)), { recursive: true, force: true })
      }
      return { problems: Object.fromEntries(splits.map((s) => [s, join(ctx.runDir, "problems", `${s}.jsonl`)])) }
    })
})

/**
 * Teacher routes of every prepared split: the training corpus (`corpus/`) and routes for assisted evaluation prompts
 * (`routes-<split>/`); the corpus builder resumes its own work. Gives `routes` and the training `corpus`.
 */
export const corpus = define({
  name: "corpus",
  needs: ["problems"],
  gives: ["routes", "corpus"],
  run: (ctx, input) =>
    Effect.gen(function* () {
      const routes: Record<string, string> = {}
      for (const split of ctx.splits) {
        const name = split === "train" ? "corpus" : `routes-${split}`
        const file = input.problems[split]
        if (file === undefined)
          return yield* new StageFailed({ stage: name, detail: `no ${split} problems were prepared` })
        yield* ctx.hooks.stage?.(name, "start") ?? Effect.void
        const summary = yield* CorpusJob.run({
          out: split === "train" ? ctx.runDir : join(ctx.runDir, name),
          problems: { file, policy: "strict" },
          teacher: ctx.wiring.choice("teacher"),
          judge: ctx.wiring.choice("judge"),
          settings: Wiring.asRecord(ctx.config.corpus),
          baseDir: ctx.baseDir,
          ...(ctx.hooks.corpus === undefined ? {} : { onProgress: (p) => ctx.hooks.corpus?.(split, p) ?? Effect.void })
        }).pipe(Effect.mapError(fail(name)))
        // A failed corpus (too many failed problems) or one the budget stopped is never trained on.
        const incomplete = Corpus.incompleteDetail(summary, dirname(routesFile(ctx.runDir, split)))
        if (incomplete !== undefined) return yield* new StageFailed({ stage: name, detail: incomplete })
        for (const warning of summary.warnings) yield* Effect.logWarning(`${name}: ${warning}`)
        yield* ctx.hooks.stage?.(name, summary.built === 0 && summary.failed === 0 ? "skipped" : "ran") ?? Effect.void
        routes[split] = routesFile(ctx.runDir, split)
      }
      const train = routes["train"]
      if (train === undefined) return yield* new StageFailed({ stage: "corpus", detail: "no train split was prepared" })
      return { routes, corpus: train }
    })
})

/**
 * The base model from the config's model source (core `ModelSource`: a from-scratch model by default, optionally
 * pre-trained on another domain, `model.pretrain`, see BaseModel.ts). Gives `checkpoints` with `base`.
 */
export const base = define({
  name: "base",
  needs: ["corpus"],
  gives: ["checkpoints"],
  run: (ctx, input) =>
    Effect.gen(function* () {
      const { config, baseDir, wiring } = ctx
      const seed = ctx.info.seed
      const fs = yield* FileSystem.FileSystem
      const source = Registry.modelChoice(config.model)
      const sourceLayer = yield* wiring.slotLayer("model", source)
      const pretrain = BaseModel.section(config)
      const pretraining =
        pretrain === undefined
          ? undefined
          : yield* BaseModel.pretrainingOf(config, baseDir).pipe(Effect.mapError(fail("base")))
      const pretrainer =
        pretrain === undefined || pretraining === undefined
          ? undefined
          : BaseModel.trainerChoice(config, pretrain, pretraining)
      // The pre-training task source's data files count as config too (a `files` source edited re-runs the base).
      const pretrainData =
        pretrain === undefined
          ? []
          : yield* Resolve.dataHashes("tasks", BaseModel.tasksOf(pretrain), baseDir).pipe(Effect.mapError(fail("base")))
      const sourceId = (yield* Resolve.implementation("model", source.use, baseDir).pipe(Effect.mapError(fail("base"))))
        .id
      yield* ctx.runStage(
        Stage.define({
          name: "base",
          implementation: pretrain === undefined ? sourceId : "@realm-lm/pipeline/BaseModel",
          config: Schema.Unknown,
          inputs: () => [relative(ctx.runDir, input.corpus)],
          outputs: () => (pretrain === undefined ? ["result.json"] : ["result.json", "pretrain.json"]),
          run: ({ stageDir }) =>
            Effect.gen(function* () {
              const verifier = yield* Verifier.Verifier
              const texts = tokenizerTexts(input.corpus, seed).pipe(
                Effect.provideService(Verifier.Verifier, verifier),
                Effect.provideService(FileSystem.FileSystem, fs),
                Effect.mapError(
                  (e) =>
                    new ModelSource.ModelSourceFailed({
                      source: source.use,
                      detail: `tokenizer texts: ${e.message}`,
                      cause: e
                    })
                )
              )
              if (pretrain !== undefined && pretrainer !== undefined) {
                const ref = yield* BaseModel.run({
                  stageDir,
                  config,
                  pretrain,
                  seed,
                  baseDir,
                  texts,
                  trainerChoice: pretrainer,
                  trainer: yield* wiring.trainer(Wiring.curriculum(config), { trainer: pretrainer }),
                  onProgress: (event) => ctx.hooks.train?.("base", event) ?? Effect.void
                })
                return yield* RunDir.writeJsonAtomic(join(stageDir, "result.json"), ref)
              }
              const models = yield* ModelSource.ModelSource
              const ref = yield* models.create({ outDir: join(stageDir, "model"), seed, texts })
              yield* RunDir.writeJsonAtomic(join(stageDir, "result.json"), ref)
            }).pipe(Effect.provide(Layer.merge(wiring.verifier, sourceLayer)), Effect.mapError(fail("base")))
          // The pre-training run's trainer settings (not its RL ones) change the base as much as the pre-training section does.
        }),
        {
          model: config.model ?? { scratch: {} },
          verifier: wiring.choice("verifier"),
          judge: wiring.choice("judge"),
          ...(pretrainer === undefined || pretraining === undefined
            ? {}
            : {
                pretrainer: BaseModel.hashedTrainer(pretrainer, pretraining),
                pretrainData: pretrainData.map((d) => ({ path: d.path, sha256: d.sha256 }))
              })
        }
      )
      const ref = yield* readRef(join(ctx.runDir, "base", "result.json")).pipe(Effect.mapError(fail("base")))
      return { checkpoints: new Map([["base", ref]]) }
    })
})

/** Each planned method trained from the base or the SFT checkpoint on the corpus, one manifest each (`TrainStage.ts`). Adds to `checkpoints`. */
export const train = TrainStage.training()

/** Every trained method (and the base with `evaluation.base`) in assisted and autonomous mode on every evaluation split (`EvalStage.ts`). Gives `results`. */
export const evaluate = EvalStage.evaluation()

/** `<runDir>/report.html` from the run's results and metrics, verdicts read by the config's verifier. Gives `report`. */
export const report = (provenance: string) =>
  define({
    name: "report",
    needs: ["results"],
    gives: ["report"],
    run: (ctx) =>
      ReportJob.write(ctx.runDir, provenance).pipe(
        Effect.provide(ctx.wiring.verifier),
        Effect.mapError(fail("report")),
        Effect.map((file) => ({ report: file }))
      )
  })

/** The default pipeline: problems, corpus, base, train, eval (`realm run` adds `report`). */
export const builtins: ReadonlyArray<AnyStage> = [problems, corpus, base, train, evaluate]

/**
 * Texts a from-scratch tokenizer is trained on: what the model will read and write, i.e. the verifier's prompts
 * (with and without routes) and ideal completions for a sample of corpus problems.
 */
const tokenizerTexts = (corpusFile: string, seed: number) =>
  Effect.gen(function* () {
    const verifier = yield* Verifier.Verifier
    // A stage before this one may have appended SftExample lines (drills, pairs): they carry no problem to prompt for.
    const lines = Jsonl.read(corpusFile, Schema.Union([CorpusRecord.CorpusRecord, CorpusRecord.SftExample]))
    const records = yield* Stream.runCollect(
      Stream.take(
        Stream.filter(lines, (l): l is CorpusRecord.CorpusRecord => "problem" in l),
        600
      )
    )
    const texts: Array<string> = []
    for (const record of records) {
      for (const routeCount of [0, 3]) {
        const decision: Curriculum.GuidanceDecision = {
          problemId: record.problem.id,
          strength: routeCount > 0 ? 1 : 0,
          routeCount,
          hintFraction: 0,
          rescue: false,
          seed: Rng.Rng.make(seed, "tokenizer", record.problem.id, routeCount).seed()
        }
        const example = yield* verifier.example({ problem: record.problem, routes: record.routes, decision })
        texts.push(...example.prompt.messages.map((m) => m.content), example.completion)
      }
    }
    return texts
  })
