/**
 * Run a pipeline config end to end inside a run directory by working through a list of stage values
 * (`Stages.builtins` by default: problems, teacher corpora for training and for assisted evaluation, the base model,
 * each method's training, evaluation in assisted and autonomous mode), with the config's own `stages:` inserted.
 * Every stage has a manifest: an unchanged stage is skipped and an interrupted one resumes (trainers continue from
 * their last checkpoint).
 */
import { join, resolve } from "node:path"
import { Prompt } from "@realm-lm/core"
import type { Checkpoint, EvalResult, Problem } from "@realm-lm/core"
import { Effect, Schema } from "effect"
import type { Hooks as RunHooks } from "./Hooks.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import { evaluationSplits, validate } from "./PipelineConfig.ts"
import type { AnyStage, Artifacts, RunContext } from "./PipelineStage.ts"
import { checkOrder } from "./PipelineStage.ts"
import * as StageModule from "./StageModule.ts"
import * as Stages from "./Stages.ts"
import * as TemplateDate from "./TemplateDate.ts"
import * as Wiring from "./Wiring.ts"
import { StageFailed } from "./Stage.ts"
import type { RunInfo } from "./StageRunner.ts"
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
export type Hooks = RunHooks

/** What a finished run returns. */
export interface RunResult {
  readonly runDir: string
  /** Evaluation results (empty when the stage list has no evaluation). */
  readonly results: ReadonlyArray<EvalResult.EvalResult>
  /** Checkpoint of the base and each trained method. */
  readonly checkpoints: ReadonlyMap<string, Checkpoint.CheckpointRef>
  /** Everything the stages gave (e.g. `report`, the page of a `Stages.report` stage). */
  readonly artifacts: Artifacts
}

/** Read a stage's `result.json`: the checkpoint it produced. */
export const readRef = Stages.readRef

/** Read a results file written by the eval stage. */
export const readResults = Stages.readResults

/** Where the teacher routes of a split live: the training corpus for `train`, `routes-<split>/corpus/` otherwise. */
export const routesFile = Stages.routesFile

/** Settings of a run besides the config. */
export interface RunOptions {
  readonly gitRevision?: string
  readonly packages?: Record<string, string>
  /** Splits whose problems (and routes) are prepared besides the evaluated ones, so that runs of one directory evaluating different splits share their problems and corpora. */
  readonly prepareSplits?: ReadonlyArray<Problem.Split>
  /** The stages to work through, before the config's own `stages:` are inserted. Default `Stages.builtins`. */
  readonly stages?: ReadonlyArray<AnyStage>
}

/**
 * Run the pipeline. `baseDir` resolves relative paths in the config (module paths, `model.init`, `run.runDir`, data
 * files). Chat templates render with the run's pinned date (`TemplateDate.ts`).
 */
export const run = Effect.fn("pipeline.run")(function* (
  config: PipelineConfig,
  baseDir: string,
  hooks: Hooks = {},
  extra: RunOptions = {}
) {
  const problems = yield* validate(config, baseDir)
  if (problems.length > 0) return yield* new PipelineInvalid({ problems })
  const stages = yield* StageModule.insertAll(extra.stages ?? Stages.builtins, config.stages ?? [], baseDir)
  const disorder = checkOrder(stages)
  if (disorder !== undefined) return yield* disorder
  const runDir = resolve(baseDir, config.run?.runDir ?? join("runs", config.name ?? "pipeline"))
  // Every prompt of the run renders with one chat-template date, pinned when the directory was first used.
  const templateDate = yield* TemplateDate.pin(runDir, config.run?.templateDate)
  return yield* runIn(stages, config, baseDir, { ...extra, runDir, hooks, templateDate }).pipe(
    Effect.provideService(Prompt.TemplateDate, templateDate)
  )
})

/** Where and with what `runIn` works through a stage list. */
export interface RunInOptions {
  readonly runDir: string
  readonly hooks?: Hooks
  /** Artifacts there before the first stage (`realm train`: the corpus and the starting checkpoint). */
  readonly artifacts?: Artifacts
  /** Splits whose problems and routes are prepared besides `train` and the evaluated ones. */
  readonly prepareSplits?: ReadonlyArray<string>
  /** Splits evaluated. Default the config's (`evaluation.splits`). */
  readonly evalSplits?: ReadonlyArray<string>
  /** The chat-template date recorded in manifests (`Pipeline.run` pins one per run directory). */
  readonly templateDate?: string
  readonly gitRevision?: string
  readonly packages?: Record<string, string>
}

/**
 * Work through a stage list in a run directory, with a validated config: what `Pipeline.run` does once the config is
 * checked and the template date pinned, and how `realm train` and `realm eval` run their one stage (`TrainJob`,
 * `EvalJob`) with the same runner, manifests and skip rules.
 */
export const runIn = Effect.fn("pipeline.runIn")(function* (
  stages: ReadonlyArray<AnyStage>,
  config: PipelineConfig,
  baseDir: string,
  options: RunInOptions
) {
  const hooks = options.hooks ?? {}
  const { runDir } = options
  const given = options.artifacts ?? {}
  const disorder = checkOrder(
    stages,
    (Object.keys(given) as Array<keyof Artifacts>).filter((k) => given[k] !== undefined)
  )
  if (disorder !== undefined) return yield* disorder
  const seed = config.run?.seed ?? 0
  const info: RunInfo = {
    runDir,
    seed,
    packages: options.packages ?? {},
    ...(options.templateDate === undefined ? {} : { templateDate: options.templateDate }),
    ...(options.gitRevision === undefined ? {} : { gitRevision: options.gitRevision })
  }
  const evalSplits = options.evalSplits ?? evaluationSplits(config)
  const context: RunContext = {
    config,
    baseDir,
    runDir,
    info,
    hooks,
    wiring: yield* Wiring.make(config, baseDir),
    splits: [...new Set<string>(["train", ...(options.prepareSplits ?? []), ...evalSplits])],
    evalSplits,
    runStage: (definition, stageConfig) =>
      Effect.gen(function* () {
        if (hooks.stage !== undefined) yield* hooks.stage(definition.name, "start")
        const outcome = yield* runStage(info, definition, stageConfig)
        if (hooks.stage !== undefined) yield* hooks.stage(definition.name, outcome)
        return outcome
      })
  }
  let artifacts: Artifacts = given
  for (const stage of stages) {
    const missing = stage.needs.filter((k) => artifacts[k] === undefined)
    if (missing.length > 0)
      return yield* new StageFailed({
        stage: stage.name,
        detail: `needs ${missing.join(", ")}, which no earlier stage gave`
      })
    // One span per stage (`pipeline/<name>`), so a traced run shows where its time went.
    artifacts = {
      ...artifacts,
      ...(yield* stage
        .run(context, artifacts as Parameters<AnyStage["run"]>[1])
        .pipe(Effect.withSpan(`pipeline/${stage.name}`)))
    }
  }
  return {
    runDir,
    results: artifacts.results ?? [],
    checkpoints: artifacts.checkpoints ?? new Map(),
    artifacts
  } satisfies RunResult
})
