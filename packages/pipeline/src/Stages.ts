/**
 * The built-in pipeline stages as values: problems, teacher corpora, the base model, training of each method,
 * evaluation and the report. Each declares the artifacts it needs and gives (`PipelineStage.ts`) and does its work
 * through manifests (`StageRunner.runStage`), so an unchanged stage is skipped and an interrupted one resumes.
 * `builtins` is the default pipeline; a user's own stage goes anywhere in the list its needs allow.
 */
import { dirname, join, relative } from "node:path"
import { Checkpoint, CorpusRecord, EvalResult, Evaluator, ModelSource, PolicyTrainer, Problem, Rng, TaskSource, Verifier } from "@realm-lm/core"
import { Jsonl, RunDir } from "@realm-lm/core/node"
import type { Curriculum } from "@realm-lm/core"
import { Corpus } from "@realm-lm/corpus"
import { Progress as TrainerProgress } from "@realm-lm/trainer"
import { Effect, FileSystem, Layer, Predicate, Schema, Stream } from "effect"
import * as BaseModel from "./BaseModel.ts"
import * as CorpusJob from "./CorpusJob.ts"
import { plan, selected } from "./Methods.ts"
import type { AnyStage } from "./PipelineStage.ts"
import { define } from "./PipelineStage.ts"
import * as Registry from "./Registry.ts"
import * as ReportJob from "./ReportJob.ts"
import * as Resolve from "./Resolve.ts"
import * as Routes from "./Routes.ts"
import * as Stage from "./Stage.ts"
import { StageFailed } from "./Stage.ts"
import * as Wiring from "./Wiring.ts"

/** Read a JSON file written by a stage and decode it. */
const readJson = <A, I>(path: string, schema: Schema.Codec<A, I>) =>
  Effect.flatMap(Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) => fs.readFileString(path)), (text) =>
    Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(text))

/** Read a stage's `result.json`: the checkpoint it produced. */
export const readRef = (path: string) => readJson(path, Checkpoint.CheckpointRef)

/** Read a results file written by the eval stage. */
export const readResults = (file: string) => readJson(file, Schema.Array(EvalResult.EvalResult))

/** A stage's failure, keeping the typed cause. */
export const fail = (stage: string) => (error: unknown) =>
  new StageFailed({
    stage,
    detail: `${Predicate.hasProperty(error, "_tag") ? `${String(error._tag)}: ` : ""}${Predicate.hasProperty(error, "message") ? String(error.message) : String(error)}`,
    cause: error
  })

/** Where the teacher routes of a split live: the training corpus for `train`, `routes-<split>/corpus/` otherwise. */
export const routesFile = (runDir: string, split: string): string =>
  split === "train" ? join(runDir, "corpus", "corpus.jsonl") : join(runDir, `routes-${split}`, "corpus", "corpus.jsonl")

/** Problems of every prepared split from the task source, to `problems/<split>.jsonl`. Gives `problems`. */
export const problems = define({
  name: "problems",
  needs: [],
  gives: ["problems"],
  run: (ctx) =>
    Effect.gen(function*() {
      const tasksChoice = ctx.wiring.choice("tasks")
      const tasksLayer = yield* ctx.wiring.slotLayer("tasks")
      // The task source's data files count as config: editing one re-runs the problems and everything after them.
      const data = yield* Resolve.dataHashes("tasks", tasksChoice, ctx.baseDir).pipe(Effect.mapError(fail("problems")))
      const splits = ctx.splits
      const outcome = yield* ctx.runStage(Stage.define({
        name: "problems",
        implementation: tasksChoice.use,
        config: Schema.Struct({ tasks: Schema.Unknown, splits: Schema.Array(Schema.String), data: Schema.Array(Schema.Struct({ path: Schema.String, sha256: Schema.String })) }),
        inputs: () => [],
        outputs: (c) => c.splits.map((s) => `${s}.jsonl`),
        run: ({ stageDir }) =>
          Effect.gen(function*() {
            const tasks = yield* TaskSource.TaskSource
            for (const split of splits) yield* Jsonl.writeAll(join(stageDir, `${split}.jsonl`), Problem.Problem, tasks.problems(split as Problem.Split))
          }).pipe(Effect.provide(tasksLayer), Effect.mapError(fail("problems")))
      }), { tasks: tasksChoice, splits, data: data.map((d) => ({ path: d.path, sha256: d.sha256 })) })
      // New problems make the teacher corpora of the old ones stale: the corpus builder would resume them.
      if (outcome === "ran") {
        const fs = yield* FileSystem.FileSystem
        for (const split of splits) yield* fs.remove(dirname(routesFile(ctx.runDir, split)), { recursive: true, force: true })
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
    Effect.gen(function*() {
      const routes: Record<string, string> = {}
      for (const split of ctx.splits) {
        const name = split === "train" ? "corpus" : `routes-${split}`
        const file = input.problems[split]
        if (file === undefined) return yield* new StageFailed({ stage: name, detail: `no ${split} problems were prepared` })
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
    Effect.gen(function*() {
      const { config, baseDir, wiring } = ctx
      const seed = ctx.info.seed
      const fs = yield* FileSystem.FileSystem
      const source = Registry.modelChoice(config.model)
      const sourceLayer = yield* wiring.slotLayer("model", source)
      const pretrain = BaseModel.section(config)
      const pretrainer = pretrain === undefined ? undefined : BaseModel.trainerChoice(config, pretrain)
      // The pre-training task source's data files count as config too (a `files` source edited re-runs the base).
      const pretrainData = pretrain === undefined ? [] : yield* Resolve.dataHashes("tasks", BaseModel.tasksOf(pretrain), baseDir).pipe(Effect.mapError(fail("base")))
      const sourceId = (yield* Resolve.implementation("model", source.use, baseDir).pipe(Effect.mapError(fail("base")))).id
      yield* ctx.runStage(Stage.define({
        name: "base",
        implementation: pretrain === undefined ? sourceId : "@realm-lm/pipeline/BaseModel",
        config: Schema.Unknown,
        inputs: () => [relative(ctx.runDir, input.corpus)],
        outputs: () => (pretrain === undefined ? ["result.json"] : ["result.json", "pretrain.json"]),
        run: ({ stageDir }) =>
          Effect.gen(function*() {
            const verifier = yield* Verifier.Verifier
            const texts = tokenizerTexts(input.corpus, seed).pipe(
              Effect.provideService(Verifier.Verifier, verifier),
              Effect.provideService(FileSystem.FileSystem, fs),
              Effect.mapError((e) => new ModelSource.ModelSourceFailed({ source: source.use, detail: `tokenizer texts: ${e.message}`, cause: e }))
            )
            if (pretrain !== undefined && pretrainer !== undefined) {
              const ref = yield* BaseModel.run({
                stageDir, config, pretrain, seed, baseDir, texts,
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
      }), {
        model: config.model ?? { scratch: {} },
        verifier: wiring.choice("verifier"),
        judge: wiring.choice("judge"),
        ...(pretrainer === undefined ? {} : { pretrainer: BaseModel.hashedTrainer(pretrainer), pretrainData: pretrainData.map((d) => ({ path: d.path, sha256: d.sha256 })) })
      })
      const ref = yield* readRef(join(ctx.runDir, "base", "result.json")).pipe(Effect.mapError(fail("base")))
      return { checkpoints: new Map([["base", ref]]) }
    })
})

/** Each planned method trained from the base or the SFT checkpoint on the corpus, one manifest each. Adds to `checkpoints`. */
export const train = define({
  name: "train",
  needs: ["corpus", "checkpoints"],
  gives: ["checkpoints"],
  run: (ctx, input) =>
    Effect.gen(function*() {
      const checkpoints = new Map(input.checkpoints)
      for (const method of plan(selected(ctx.config))) {
        const own = Wiring.methodSlots(ctx.config, method)
        const layers = Layer.mergeAll(
          yield* ctx.wiring.trainer(own.curriculum, { trainer: own.trainer, verifier: own.verifier }),
          TrainerProgress.layer((event) => ctx.hooks.train?.(method.name, event) ?? Effect.void)
        )
        yield* ctx.runStage(Stage.define({
          name: method.name,
          implementation: own.trainer.use,
          config: Schema.Unknown,
          inputs: () => [relative(ctx.runDir, input.corpus), `${method.from}/result.json`],
          outputs: () => ["result.json"],
          run: ({ stageDir }) =>
            Effect.gen(function*() {
              const init = yield* readRef(join(ctx.runDir, method.from, "result.json"))
              const trainer = yield* PolicyTrainer.PolicyTrainer
              const ref = yield* trainer[method.phase]({ init: init.path, corpus: input.corpus, outDir: stageDir, resume: true })
              yield* RunDir.writeJsonAtomic(join(stageDir, "result.json"), ref)
            }).pipe(Effect.provide(layers), Effect.mapError(fail(method.name)))
        }), { trainer: own.trainer, curriculum: own.curriculum, verifier: own.verifier, judge: ctx.wiring.choice("judge"), from: method.from, phase: method.phase })
        checkpoints.set(method.name, yield* readRef(join(ctx.runDir, method.name, "result.json")).pipe(Effect.mapError(fail(method.name))))
      }
      return { checkpoints }
    })
})

/** Every trained method (and the base with `evaluation.base`) in assisted and autonomous mode on every evaluation split. Gives `results`. */
export const evaluate = define({
  name: "eval",
  needs: ["problems", "routes", "checkpoints"],
  gives: ["results"],
  run: (ctx, input) =>
    Effect.gen(function*() {
      const planned = plan(selected(ctx.config))
      const evaluated = [...(ctx.config.evaluation?.base === true ? ["base" as const] : []), ...planned.map((m) => m.name)]
      const labels = new Map<string, string>([["base", "Base model"], ...planned.map((m) => [m.name, m.label] as const)])
      const evaluatorLayer = Layer.provideMerge(yield* ctx.wiring.slotLayer("evaluator"), ctx.wiring.verifier)
      const files = (artifact: Readonly<Record<string, string>>, split: string) => artifact[split] ?? join(ctx.runDir, "missing", split)
      yield* ctx.runStage(Stage.define({
        name: "eval",
        implementation: ctx.wiring.choice("evaluator").use,
        config: Schema.Unknown,
        inputs: () => [
          ...evaluated.map((m) => `${m}/result.json`),
          ...ctx.evalSplits.map((s) => relative(ctx.runDir, files(input.problems, s))),
          ...ctx.evalSplits.map((s) => relative(ctx.runDir, files(input.routes, s)))
        ],
        outputs: () => ["results.json"],
        run: ({ stageDir }) =>
          Effect.gen(function*() {
            const evaluator = yield* Evaluator.Evaluator
            const results: Array<EvalResult.EvalResult> = []
            const total = ctx.evalSplits.length * evaluated.length * 2
            for (const split of ctx.evalSplits) {
              const problemsOfSplit = yield* Stream.runCollect(Jsonl.read(files(input.problems, split), Problem.Problem))
              const routes = yield* Routes.read(files(input.routes, split))
              for (const name of evaluated) {
                const ref = input.checkpoints.get(name)
                if (ref === undefined) return yield* new StageFailed({ stage: "eval", detail: `no checkpoint of ${name}; a stage before eval must train it` })
                for (const mode of ["assisted", "autonomous"] as const) {
                  const result = yield* evaluator.evaluate({
                    method: labels.get(name) ?? name, checkpoint: ref.path, task: ctx.wiring.choice("tasks").use, split: split as Problem.Split, problems: problemsOfSplit, routes, mode
                  })
                  results.push(result)
                  if (ctx.hooks.evaluated !== undefined) yield* ctx.hooks.evaluated(results.length, total, result)
                }
              }
            }
            yield* RunDir.writeJsonAtomic(join(stageDir, "results.json"), results)
          }).pipe(Effect.provide(evaluatorLayer), Effect.mapError(fail("eval")))
      }), { evaluator: ctx.wiring.choice("evaluator"), verifier: ctx.wiring.choice("verifier"), judge: ctx.wiring.choice("judge"), evaluated, splits: ctx.evalSplits })
      return { results: yield* readResults(join(ctx.runDir, "eval", "results.json")).pipe(Effect.mapError(fail("eval"))) }
    })
})

/** `<runDir>/report.html` from the run's results and metrics, verdicts read by the config's verifier. Gives `report`. */
export const report = (provenance: string) =>
  define({
    name: "report",
    needs: ["results"],
    gives: ["report"],
    run: (ctx) =>
      ReportJob.write(ctx.runDir, provenance).pipe(Effect.provide(ctx.wiring.verifier), Effect.mapError(fail("report")), Effect.map((file) => ({ report: file })))
  })

/** The default pipeline: problems, corpus, base, train, eval (`realm run` adds `report`). */
export const builtins: ReadonlyArray<AnyStage> = [problems, corpus, base, train, evaluate]

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
