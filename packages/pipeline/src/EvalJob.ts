/**
 * Evaluation of one checkpoint outside a full pipeline (`realm eval`): the evaluator, verifier and judge slots of a
 * pipeline config (defaults when absent), wired as the pipeline's eval stage wires them, run on a problems file in
 * assisted and/or autonomous mode. The results are written in the format of the pipeline's `eval/results.json`.
 * Instead of a checkpoint directory, a served model can be evaluated (`endpoint`): the evaluator then asks an
 * OpenAI-compatible server, journalling each finished request next to the results file until they are written.
 */
import { basename, dirname, join, relative, resolve } from "node:path"
import { ChatEndpoint, EvalResult, Evaluator, Problem } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { Effect, FileSystem, Schema, Stream } from "effect"
import * as EvalStage from "./EvalStage.ts"
import { unwrapCause } from "./internal/stageFiles.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import { validate } from "./PipelineConfig.ts"
import { PipelineInvalid, runIn } from "./Pipeline.ts"
import * as ProblemsJob from "./ProblemsJob.ts"
import * as Routes from "./Routes.ts"
import * as TrainStage from "./TrainStage.ts"
import * as Wiring from "./Wiring.ts"

/** Assisted mode was asked for without a routes file. */
export class EvalRoutesMissing extends Schema.TaggedError<EvalRoutesMissing>()("EvalRoutesMissing", {
  /** The problems file that was to be evaluated. */
  problems: Schema.String
}) {
  override get message(): string {
    return (
      `assisted evaluation shows each problem's teacher routes, and no routes file was given for ${this.problems}: ` +
      "add --routes <corpus.jsonl> (CorpusRecord lines of the same problems, e.g. <run>/routes-test/corpus/corpus.jsonl of a pipeline run, " +
      "or <out>/corpus/corpus.jsonl of `realm corpus build`), or evaluate with --mode autonomous"
    )
  }
}

/** An input of the evaluation is missing or holds nothing to evaluate. */
export class EvalInputInvalid extends Schema.TaggedError<EvalInputInvalid>()("EvalInputInvalid", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** Neither or both of a checkpoint directory and an endpoint were given. */
export class EvalTargetInvalid extends Schema.TaggedError<EvalTargetInvalid>()("EvalTargetInvalid", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/** A served model to evaluate (OpenAI-compatible chat completions); merged into `evaluator.with.endpoint`. */
export interface Endpoint {
  /** API root up to `/v1`, e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseUrl: string
  /** The model id the server serves. */
  readonly model: string
  /** Requests in flight at once (default 8, or the config's `evaluator.with.endpoint.concurrency`). */
  readonly concurrency?: number
  /** Environment variable with the API key. */
  readonly apiKeyEnv?: string
}

/** One evaluation to run. */
export interface EvalJob {
  /** Hugging Face model directory (config.json, model.safetensors, tokenizer.json); required unless `endpoint` is given. */
  readonly checkpoint?: string
  /** A served model to evaluate instead of `checkpoint` (or `evaluator.with.endpoint` of the config). */
  readonly endpoint?: Endpoint
  /** JSONL of core `Problem` records, e.g. `<run>/problems/test.jsonl`. */
  readonly problems: string
  /** JSONL of `CorpusRecord` lines with the problems' teacher routes, e.g. `<run>/routes-test/corpus/corpus.jsonl`. */
  readonly routes?: string
  /** Modes to run. Absent or empty: both when `routes` is given, else autonomous. Assisted requires `routes`. */
  readonly modes?: ReadonlyArray<EvalResult.EvalMode>
  /** Method label in tables. Default: the checkpoint directory's name (see `methodLabel`), or the served model's id. */
  readonly method?: string
  /** Split label. Default: the problems' `split` when they share one, else the file name without extension. */
  readonly split?: string
  /** Completions per problem; overrides `evaluator.with.samples` of the config. */
  readonly samples?: number
  /** Slots and settings (evaluator, verifier, judge); an empty config uses every default. */
  readonly config: PipelineConfig
  /** Directory that relative module paths of the config are resolved against. */
  readonly baseDir: string
  /** Where the results JSON goes. Default `<checkpoint>/eval-<split>.json`, or `eval-<model>-<split>.json` for an endpoint. */
  readonly out?: string
  /** What is about to be evaluated, once the inputs are read. */
  readonly onStart?: (plan: Plan) => Effect.Effect<void>
  /** After each mode: how many of how many are done, and the result. */
  readonly onEvaluated?: (done: number, total: number, result: EvalResult.EvalResult) => Effect.Effect<void>
}

/** The resolved labels and sizes of a job. */
export interface Plan {
  readonly method: string
  readonly split: string
  readonly task: string
  readonly problems: number
  readonly modes: ReadonlyArray<EvalResult.EvalMode>
}

/** What a finished evaluation returns: one result per mode (assisted first), and the file they were written to. */
export interface Outcome {
  readonly results: ReadonlyArray<EvalResult.EvalResult>
  readonly file: string
}

/** The modes a job runs, in the pipeline's order (assisted, then autonomous). */
export const modesOf = (job: Pick<EvalJob, "modes" | "routes">): ReadonlyArray<EvalResult.EvalMode> => {
  const asked = job.modes ?? []
  if (asked.length === 0) return job.routes === undefined ? ["autonomous"] : ["assisted", "autonomous"]
  return EvalResult.EvalMode.literals.filter((m) => asked.includes(m))
}

/** The config with `evaluator.with.samples` replaced (validation then checks it against the evaluator's schema). */
export const withSamples = (config: PipelineConfig, samples: number | undefined): PipelineConfig =>
  samples === undefined
    ? config
    : {
        ...config,
        evaluator: {
          use: config.evaluator?.use ?? Wiring.defaults.evaluator.use,
          with: { ...Wiring.asRecord(config.evaluator?.with), samples }
        }
      }

/** The config with the job's endpoint merged into `evaluator.with.endpoint` (validation checks it). */
export const withEndpoint = (config: PipelineConfig, endpoint: Endpoint | undefined): PipelineConfig => {
  if (endpoint === undefined) return config
  const settings = Wiring.asRecord(config.evaluator?.with)
  const given = Object.fromEntries(Object.entries(endpoint).filter(([, v]) => v !== undefined))
  return {
    ...config,
    evaluator: {
      use: config.evaluator?.use ?? Wiring.defaults.evaluator.use,
      with: { ...settings, endpoint: { ...Wiring.asRecord(settings.endpoint), ...given } }
    }
  }
}

/** The endpoint settings a (merged) config evaluates through, if any. */
export const endpointOf = (
  config: PipelineConfig
): { readonly baseUrl: string; readonly model: string } | undefined => {
  const endpoint = Wiring.asRecord(Wiring.asRecord(config.evaluator?.with).endpoint)
  return typeof endpoint.baseUrl === "string" && typeof endpoint.model === "string"
    ? { baseUrl: endpoint.baseUrl, model: endpoint.model }
    : undefined
}

/** A file-name-safe form of a model id (`Qwen/Qwen2.5-0.5B` → `Qwen_Qwen2.5-0.5B`). */
const fileSafe = (name: string): string => name.replace(/[^A-Za-z0-9._-]+/g, "_")

/**
 * The default method label of a checkpoint: its directory's name, or for a trainer's `final` directory the name of
 * the directory it was trained into (`runs/demo/sft/final` → `sft`).
 */
export const methodLabel = (checkpoint: string): string => {
  const name = basename(checkpoint)
  return name === "final" ? basename(dirname(checkpoint)) || name : name
}

/** The value every problem shares, or `undefined`. */
const shared = (values: ReadonlyArray<string>): string | undefined =>
  new Set(values).size === 1 ? values[0] : undefined

const stem = (file: string): string => basename(file).replace(/\.jsonl?$/i, "")

const requireFile = (path: string, detail: string) =>
  Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) => fs.exists(path)).pipe(
    Effect.flatMap((exists) => (exists ? Effect.void : Effect.fail(new EvalInputInvalid({ path, detail }))))
  )

/** Run the evaluation; writes the results JSON and returns it with its path. */
export const run = Effect.fn("pipeline.EvalJob.run")(function* (job: EvalJob) {
  const modes = modesOf(job)
  if (modes.includes("assisted") && job.routes === undefined)
    return yield* new EvalRoutesMissing({ problems: job.problems })
  const merged = withEndpoint(withSamples(job.config, job.samples), job.endpoint)
  const endpoint = endpointOf(merged)
  if (endpoint !== undefined && job.checkpoint !== undefined) {
    return yield* new EvalTargetInvalid({
      detail: `give either a checkpoint directory (${job.checkpoint}) or an endpoint (${ChatEndpoint.redactUrl(endpoint.baseUrl)}), not both`
    })
  }
  if (endpoint === undefined && job.checkpoint === undefined) {
    return yield* new EvalTargetInvalid({
      detail: "nothing to evaluate: give a checkpoint directory, or --endpoint URL --model NAME for a served model"
    })
  }
  const problems = yield* validate(merged, job.baseDir)
  if (problems.length > 0) return yield* new PipelineInvalid({ problems })

  if (job.checkpoint !== undefined) {
    yield* requireFile(
      job.checkpoint,
      "checkpoint not found: give a Hugging Face model directory (config.json, model.safetensors, tokenizer.json)"
    )
  }
  yield* requireFile(
    job.problems,
    "problems file not found: give a JSONL of Problem records, e.g. <run>/problems/test.jsonl of a pipeline run"
  )
  const list = yield* Stream.runCollect(Jsonl.read(job.problems, Problem.Problem)).pipe(
    Effect.mapError(ProblemsJob.explainMalformed)
  )
  if (list.length === 0)
    return yield* new EvalInputInvalid({
      path: job.problems,
      detail: "no problems in the file: give a JSONL with one Problem record per line"
    })
  const routes: Routes.ById =
    job.routes === undefined
      ? new Map()
      : yield* Effect.andThen(
          requireFile(
            job.routes,
            "routes file not found: give a corpus JSONL (CorpusRecord lines) of the same problems"
          ),
          Routes.read(job.routes)
        )
  if (
    job.routes !== undefined &&
    modes.includes("assisted") &&
    !list.some((p) => (routes.get(p.id) ?? []).length > 0)
  ) {
    return yield* new EvalInputInvalid({
      path: job.routes,
      detail: `none of the ${list.length} problems of ${job.problems} has routes here: give the routes of the same problems (e.g. routes-test for problems/test.jsonl)`
    })
  }

  const split = job.split ?? shared(list.map((p) => p.split)) ?? stem(job.problems)
  // What results name as their checkpoint: the directory, or the served model and its URL (credentials removed).
  const checkpoint =
    endpoint === undefined
      ? (job.checkpoint as string)
      : `${endpoint.model} at ${ChatEndpoint.redactUrl(endpoint.baseUrl)}`
  const file =
    job.out ??
    (endpoint === undefined ? join(checkpoint, `eval-${split}.json`) : `eval-${fileSafe(endpoint.model)}-${split}.json`)
  // Served completions are journalled next to the results until those are written, so a rerun resumes.
  const journal = endpoint === undefined ? undefined : `${file}.requests.jsonl`
  const config =
    journal === undefined || Wiring.asRecord(merged.evaluator?.with).journal !== undefined
      ? merged
      : {
          ...merged,
          evaluator: {
            use: merged.evaluator?.use ?? Wiring.defaults.evaluator.use,
            with: { ...Wiring.asRecord(merged.evaluator?.with), journal }
          }
        }
  const plan: Plan = {
    method: job.method ?? (endpoint === undefined ? methodLabel(checkpoint) : endpoint.model),
    split,
    task: shared(list.map((p) => p.domain)) ?? stem(job.problems),
    problems: list.length,
    modes
  }
  if (job.onStart !== undefined) yield* job.onStart(plan)

  // The pipeline's eval stage on this one target, through the same runner: its manifest goes in
  // `<file>.stage/` next to the results file, and an unchanged checkpoint, inputs and settings are not evaluated again.
  const target = "target"
  const runDir = dirname(resolve(file))
  const checkpointFiles = endpoint === undefined ? yield* TrainStage.checkpointFiles(resolve(checkpoint)) : []
  const stage = EvalStage.evaluation({
    name: `${basename(file)}.stage`,
    targets: () => [{ name: target, label: plan.method }],
    modes,
    task: plan.task,
    file: `../${basename(file)}`,
    checkpointInputs: () => checkpointFiles.map((f) => relative(runDir, f)),
    settings: { method: plan.method, task: plan.task, modes, checkpoint },
    // A served model's weights are not among the inputs: ask it every time (its journal resumes a stopped run).
    cache: endpoint === undefined
  })
  const { results } = yield* runIn([stage], config, job.baseDir, {
    runDir,
    evalSplits: [split],
    hooks: job.onEvaluated === undefined ? {} : { evaluated: job.onEvaluated },
    artifacts: {
      problems: { [split]: resolve(job.problems) },
      routes: job.routes === undefined ? {} : { [split]: resolve(job.routes) },
      checkpoints: new Map([[target, { path: checkpoint, kind: "base" as const, step: 0, metrics: {} }]])
    }
  }).pipe(Effect.mapError(unwrapCause((u): u is Evaluator.EvaluatorError => u instanceof Evaluator.EvaluatorError)))
  // The results hold every completion now; a kept journal would hand a later run (maybe of another model served
  // under the same name) stale completions.
  if (journal !== undefined)
    yield* Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) => fs.remove(journal, { force: true }))
  return { results, file } satisfies Outcome
})
