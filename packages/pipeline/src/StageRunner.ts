/**
 * Runs one stage inside a run directory with a manifest. A stage whose last manifest is complete, with the same
 * config hash, the same input hashes and untouched outputs, is skipped. Otherwise the manifest is marked
 * `running`, the stage runs (resuming its own partial work), and the manifest ends `complete`, `failed` or
 * `interrupted` (Ctrl-C), so the next run knows to resume.
 */
import { Cause, Clock, Effect, Exit, FileSystem, Path, Schema } from "effect"
import { Hash, RunDir } from "@realm-lm/core/node"
import type { RunManifest } from "@realm-lm/core"
import type { Progress, StageDefinition } from "./Stage.ts"
import { StageFailed } from "./Stage.ts"

/** The stage's config does not match its schema. */
export class StageConfigInvalid extends Schema.TaggedError<StageConfigInvalid>()("StageConfigInvalid", {
  stage: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `config of stage "${this.stage}" is invalid:\n${this.detail}`
  }
}

/** A stage's input file is missing: an earlier stage has not produced it. */
export class StageInputMissing extends Schema.TaggedError<StageInputMissing>()("StageInputMissing", {
  stage: Schema.String,
  path: Schema.String
}) {
  override get message(): string {
    return `stage "${this.stage}" needs ${this.path}, which does not exist: run the stage that produces it first`
  }
}

/** What happened to a stage. */
export type StageOutcome = "skipped" | "ran"

/** Run-wide facts recorded in every manifest. */
export interface RunInfo {
  readonly runDir: string
  readonly seed: number
  readonly packages: Record<string, string>
  readonly gitRevision?: string
  /** The date chat templates render with in this run (`TemplateDate.ts`). */
  readonly templateDate?: string
  readonly progress?: (progress: Progress) => Effect.Effect<void>
}

const isoNow = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

/** Whether an existing manifest means the stage is up to date for this config and these inputs. */
const upToDate = (
  runDir: string,
  previous: RunManifest.RunManifest | undefined,
  configHash: string,
  inputs: ReadonlyArray<RunManifest.FileHash>
) =>
  Effect.gen(function* () {
    if (previous === undefined || previous.status !== "complete" || previous.configHash !== configHash) return false
    const before = new Map(previous.inputs.map((i) => [i.path, i.sha256]))
    if (before.size !== inputs.length || inputs.some((i) => before.get(i.path) !== i.sha256)) return false
    // A changed or deleted output means the stage must run again.
    return yield* RunDir.verify(runDir, previous).pipe(
      Effect.as(true),
      Effect.catch(() => Effect.succeed(false))
    )
  })

/** Whether a previous manifest describes the same work (same config and inputs), so its partial output may be resumed. */
const sameWork = (
  previous: RunManifest.RunManifest | undefined,
  configHash: string,
  inputs: ReadonlyArray<RunManifest.FileHash>
) => {
  if (previous === undefined || previous.configHash !== configHash) return false
  const before = new Map(previous.inputs.map((i) => [i.path, i.sha256]))
  return before.size === inputs.length && inputs.every((i) => before.get(i.path) === i.sha256)
}

/** The config hashes of a stage's former configs (`StageDefinition.formerConfigs`) that still decode. */
const formerHashes = <C, R>(stage: StageDefinition<C, R>, rawConfig: unknown, info: RunInfo): ReadonlyArray<string> =>
  (stage.formerConfigs ?? []).flatMap((raw) => {
    if (raw === rawConfig) return []
    const decoded = Schema.decodeUnknownOption(stage.config)(raw)
    if (decoded._tag === "None") return []
    const config = Schema.encodeSync(stage.config)(decoded.value) as Schema.Json
    return [Hash.hashJson({ config, seed: info.seed, implementation: stage.implementation })]
  })

/** Run (or skip) one stage, in a span `stage/<name>`. */
export const runStage = <C, R>(info: RunInfo, stage: StageDefinition<C, R>, rawConfig: unknown) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const config = yield* Schema.decodeUnknownEffect(stage.config)(rawConfig, { errors: "all" }).pipe(
      Effect.mapError((e) => new StageConfigInvalid({ stage: stage.name, detail: e.message }))
    )
    const encodedConfig = Schema.encodeSync(stage.config)(config) as Schema.Json
    // The seed and the implementation change what a stage produces as much as its settings do.
    const configHash = Hash.hashJson({ config: encodedConfig, seed: info.seed, implementation: stage.implementation })
    const inputs: Array<RunManifest.FileHash> = []
    for (const input of stage.inputs(config)) {
      const full = path.join(info.runDir, input)
      if (!(yield* fs.exists(full))) return yield* new StageInputMissing({ stage: stage.name, path: full })
      inputs.push(yield* Hash.hashFile(full, input))
    }
    const recorded = yield* RunDir.readManifest(info.runDir, stage.name).pipe(
      Effect.catchTag("ManifestError", () => Effect.succeed(undefined))
    )
    // A manifest an earlier version hashed from a former config of the same work is this config's, re-keyed.
    const former =
      recorded !== undefined &&
      recorded.configHash !== configHash &&
      formerHashes(stage, rawConfig, info).includes(recorded.configHash)
    const previous = former ? { ...recorded, config: encodedConfig, configHash } : recorded
    if (stage.cache !== false && (yield* upToDate(info.runDir, previous, configHash, inputs))) {
      if (former && previous !== undefined) yield* RunDir.writeManifest(info.runDir, previous)
      return "skipped" as StageOutcome
    }

    const stageDir = path.join(info.runDir, stage.name)
    // Partial output is resumed only for the same work; after a config or input change it is stale, so start over
    // (unless the stage checks what it resumes itself: `stale: "resume"`).
    const stale = !sameWork(previous, configHash, inputs) || previous?.status === "complete"
    if (stale && stage.stale !== "resume") yield* fs.remove(stageDir, { recursive: true, force: true })
    yield* fs.makeDirectory(stageDir, { recursive: true })
    const startedAt = yield* isoNow
    const startMs = yield* Clock.currentTimeMillis
    const base: RunManifest.RunManifest = {
      version: 1,
      stage: stage.name,
      implementation: stage.implementation,
      status: "running",
      config: encodedConfig,
      configHash,
      packages: info.packages,
      ...(info.gitRevision === undefined ? {} : { gitRevision: info.gitRevision }),
      ...(info.templateDate === undefined ? {} : { templateDate: info.templateDate }),
      inputs,
      outputs: [],
      startedAt,
      timings: {}
    }
    yield* RunDir.writeManifest(info.runDir, base)
    const elapsed = Effect.map(Clock.currentTimeMillis, (now) => ({ totalMs: now - startMs }))
    // A finalizer, so that interruption (Ctrl-C) also records its status for the next run to resume from.
    const recordFailure = (exit: Exit.Exit<void, StageFailed>) =>
      Exit.isSuccess(exit)
        ? Effect.void
        : Effect.gen(function* () {
            const status = Cause.hasInterruptsOnly(exit.cause) ? ("interrupted" as const) : ("failed" as const)
            yield* RunDir.writeManifest(info.runDir, {
              ...base,
              status,
              finishedAt: yield* isoNow,
              timings: yield* elapsed
            })
          }).pipe(
            Effect.catch((e) => Effect.logWarning(`could not record the status of stage ${stage.name}: ${e.message}`))
          )
    yield* stage
      .run({
        runDir: info.runDir,
        stageDir,
        config,
        seed: info.seed,
        progress: info.progress ?? (() => Effect.void)
      })
      .pipe(Effect.onExit(recordFailure))
    const finishedAt = yield* isoNow
    const timings = yield* elapsed
    const outputs: Array<RunManifest.FileHash> = []
    for (const output of stage.outputs(config)) {
      const full = path.join(stageDir, output)
      if (!(yield* fs.exists(full))) {
        yield* RunDir.writeManifest(info.runDir, { ...base, status: "failed", finishedAt, timings })
        return yield* new StageFailed({ stage: stage.name, detail: `finished without writing its output ${output}` })
      }
      outputs.push(yield* Hash.hashFile(full, output))
    }
    yield* RunDir.writeManifest(info.runDir, { ...base, status: "complete", outputs, finishedAt, timings })
    return "ran" as StageOutcome
  }).pipe(Effect.withSpan(`stage/${stage.name}`, { attributes: { implementation: stage.implementation } }))
