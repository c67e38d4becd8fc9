/**
 * Training checkpoints: a Hugging Face model directory plus `optimizer.safetensors` (AdamW moments) and
 * `trainer_state.json` (step, data position, RNG states, curriculum snapshot, config, metrics, and the sha256 of
 * every other file). A checkpoint is written into a temporary sibling and renamed into place, so a crash leaves the
 * old one or the new one, never half of one; loading re-hashes every file (with `@realm-lm/lm`'s
 * `Pretrained.verifyFile`, the check `eval` and `serve` apply to the files they read), so a damaged checkpoint fails
 * with a typed error naming the file, and the optimizer moments are scanned for NaN/±Infinity when read.
 * `<outDir>/checkpoints/step-NNNNNNNN` are rotated (keep the last K and the best).
 */
import type { Rng } from "@realm-lm/core"
import { Hash, RunDir } from "@realm-lm/core/node"
import { Pretrained, Safetensors, Weights } from "@realm-lm/lm"
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect"
import { CheckpointCorrupted, CheckpointMismatch, Phase } from "./TrainerErrors.ts"

/** Name of the state file. */
export const stateFile = Pretrained.stateFile
/** Name of the optimizer-state file. */
export const optimizerFile = "optimizer.safetensors"
/** Folder of periodic checkpoints inside an output directory. */
export const checkpointsDir = "checkpoints"
/** File naming the best checkpoint, inside `checkpointsDir`. */
export const bestFile = "best.json"

const FileEntry = Schema.Struct({ path: Schema.String, sha256: Schema.String, bytes: Schema.Int })
const RngStateSchema = Schema.Struct({
  seed: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number, Schema.Number]),
  state: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number, Schema.Number])
})

/** `trainer_state.json`. */
export const TrainerState = Schema.Struct({
  version: Schema.Literal(1),
  phase: Phase,
  /** Completed steps of the phase (RL steps for `rl`, optimizer steps otherwise). */
  step: Schema.Int,
  /** Optimizer updates applied (AdamW bias correction resumes from here). */
  optimizerStep: Schema.Int,
  totalSteps: Schema.Int,
  /** sha256 of the canonical config JSON the run started with. */
  configHash: Schema.String,
  config: Schema.Json,
  /** Where the data stream stands (phase-specific). */
  data: Schema.Json,
  /** Named RNG streams (core `Rng.state()`). */
  rng: Schema.Record(Schema.String, RngStateSchema),
  /** The curriculum's snapshot (RL only). */
  curriculum: Schema.optionalKey(Schema.Json),
  /** Metrics of the last step. */
  metrics: Schema.Record(Schema.String, Schema.Number),
  /** Running counters (skipped steps, dropped groups, ...). */
  counters: Schema.Record(Schema.String, Schema.Number),
  /** Every other file of the checkpoint with its hash. */
  files: Schema.Array(FileEntry)
})
export type TrainerState = typeof TrainerState.Type

/** What a checkpoint holds, before it is written. */
export interface Contents extends Omit<TrainerState, "version" | "files"> {
  /** AdamW slots by state name (`<param>::m`, `<param>::v`), float32. */
  readonly optimizer: ReadonlyMap<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }>
}

/** A loaded checkpoint (files verified). */
export interface Loaded {
  readonly dir: string
  readonly state: TrainerState
  /** Reads the optimizer slots (only when needed: the weights are loaded by the model loader). */
  readonly optimizer: Effect.Effect<
    Map<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }>,
    CheckpointCorrupted | PlatformError.PlatformError,
    FileSystem.FileSystem
  >
}

/** Directory name of the periodic checkpoint at `step`. */
export const stepName = (step: number): string => `step-${String(step).padStart(8, "0")}`

const encodeState = Schema.encodeSync(TrainerState)
const decodeState = Schema.decodeUnknownResult(TrainerState)

/** Convert core RNG streams for the state file. */
export const rngStates = (streams: Readonly<Record<string, Rng.Rng>>): Record<string, Rng.RngState> =>
  Object.fromEntries(Object.entries(streams).map(([k, r]) => [k, r.state()]))

/**
 * Write a checkpoint to `dir` atomically. `writeModel(tmp)` writes the Hugging Face files into the temporary
 * directory; then the optimizer file and the state file (with every file's hash) are added and the directory is
 * renamed over `dir` (an existing `dir` is replaced).
 */
export const write = <E, R>(
  dir: string,
  contents: Contents,
  writeModel: (tmp: string) => Effect.Effect<void, E, R>
): Effect.Effect<void, E | PlatformError.PlatformError, R | FileSystem.FileSystem | Path.Path> =>
  Effect.uninterruptible(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const parent = path.dirname(dir)
      yield* fs.makeDirectory(parent, { recursive: true })
      const tmp = path.join(parent, `.tmp-${path.basename(dir)}-${process.pid}`)
      yield* fs.remove(tmp, { recursive: true, force: true })
      yield* fs.makeDirectory(tmp, { recursive: true })
      yield* writeModel(tmp)
      const { optimizer, ...rest } = contents
      yield* Safetensors.write(path.join(tmp, optimizerFile), optimizer)
      const files = yield* listFiles(tmp)
      const hashes = yield* Effect.forEach(
        files.filter((f) => f !== stateFile),
        (f) => Hash.hashFile(path.join(tmp, f), f)
      )
      const state: TrainerState = { version: 1, ...rest, files: hashes }
      yield* fs.writeFileString(path.join(tmp, stateFile), `${JSON.stringify(encodeState(state), null, 1)}\n`)
      const old = `${tmp}-old`
      if (yield* fs.exists(dir)) yield* fs.rename(dir, old)
      yield* fs.rename(tmp, dir)
      yield* fs.remove(old, { recursive: true, force: true })
    })
  )

/** Relative paths of the files under `dir` (recursively), sorted. */
const listFiles = (
  dir: string
): Effect.Effect<Array<string>, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const entries = yield* fs.readDirectory(dir, { recursive: true })
    const files: Array<string> = []
    for (const e of entries) if ((yield* fs.stat(path.join(dir, e))).type === "File") files.push(e)
    return files.toSorted()
  })

/**
 * Read and verify a checkpoint: the state file parses and every recorded file exists with its recorded hash; the
 * optimizer moments, when read, must be finite.
 */
export const load = (dir: string): Effect.Effect<Loaded, CheckpointCorrupted, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const corrupted = (file: string, detail: string) => new CheckpointCorrupted({ dir, file, detail })
    const text = yield* fs
      .readFileString(path.join(dir, stateFile))
      .pipe(Effect.mapError((e) => corrupted(stateFile, e.message)))
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (e) {
      return yield* corrupted(stateFile, `not JSON (${e instanceof Error ? e.message : String(e)})`)
    }
    const decoded = decodeState(json)
    if (decoded._tag === "Failure") return yield* corrupted(stateFile, decoded.failure.message)
    const state = decoded.success
    const recorded: Pretrained.RecordedHashes = new Map(
      state.files.map((f) => [f.path, { sha256: f.sha256, bytes: f.bytes }])
    )
    for (const f of state.files) {
      yield* Pretrained.verifyFile(dir, f.path, recorded).pipe(
        Effect.mapError((e) =>
          corrupted(
            f.path,
            e._tag === "CheckpointHashMismatch"
              ? `sha256 ${e.actual.slice(0, 12)}… differs from the recorded ${e.expected.slice(0, 12)}… (${e.actualBytes} bytes, recorded ${e.expectedBytes})`
              : e.message
          )
        )
      )
    }
    const optimizer = Safetensors.read(path.join(dir, optimizerFile)).pipe(
      Effect.mapError((e) => (e._tag === "PlatformError" ? e : corrupted(optimizerFile, e.message))),
      Effect.flatMap((slots) => {
        for (const [name, t] of slots) {
          const bad = Weights.nonFinite(name, t, optimizerFile)
          if (bad !== undefined)
            return Effect.fail(
              corrupted(optimizerFile, `optimizer slot ${name} holds ${bad.value} at [${bad.at.join(", ")}]`)
            )
        }
        return Effect.succeed(
          slots as Map<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }>
        )
      })
    )
    return { dir, state, optimizer }
  })

/** Periodic checkpoint directories in `outDir`, oldest first, with their steps. */
export const list = (
  outDir: string
): Effect.Effect<
  Array<{ readonly dir: string; readonly step: number }>,
  PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.join(outDir, checkpointsDir)
    if (!(yield* fs.exists(root))) return []
    const names = yield* fs.readDirectory(root)
    return names
      .flatMap((n) => {
        const m = /^step-(\d+)$/.exec(n)
        return m === null ? [] : [{ dir: path.join(root, n), step: Number(m[1]) }]
      })
      .toSorted((a, b) => a.step - b.step)
  })

/**
 * The newest periodic checkpoint of `outDir`, verified, or `undefined` when there is none. A damaged newest
 * checkpoint fails with `CheckpointCorrupted` naming the file and the newest earlier one that verifies; with
 * `fallback: true` that earlier one is returned instead (after a warning).
 */
export const latest = (
  outDir: string,
  options: { readonly fallback?: boolean } = {}
): Effect.Effect<
  Loaded | undefined,
  CheckpointCorrupted | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const all = yield* list(outDir)
    let firstError: CheckpointCorrupted | undefined
    for (const c of all.toReversed()) {
      const loaded = yield* Effect.result(load(c.dir))
      if (loaded._tag === "Success") {
        if (firstError === undefined) return loaded.success
        if (options.fallback === true) {
          yield* Effect.logWarning(`${firstError.message} Resuming from ${c.dir}.`)
          return loaded.success
        }
        return yield* new CheckpointCorrupted({
          dir: firstError.dir,
          file: firstError.file,
          detail: firstError.detail,
          previous: c.dir
        })
      }
      firstError ??= loaded.failure
    }
    if (firstError !== undefined) return yield* firstError
    return undefined
  })

/** Fail unless a checkpoint was written by `phase` with the same config hash. */
export const checkCompatible = (
  loaded: Loaded,
  phase: Phase,
  configHash: string
): Effect.Effect<void, CheckpointMismatch> =>
  loaded.state.phase !== phase
    ? Effect.fail(
        new CheckpointMismatch({ dir: loaded.dir, detail: `it was written by ${loaded.state.phase}, not ${phase}` })
      )
    : loaded.state.configHash !== configHash
      ? Effect.fail(
          new CheckpointMismatch({
            dir: loaded.dir,
            detail: "the trainer config differs from the one the run started with"
          })
        )
      : Effect.void

const BestRecord = Schema.Struct({ dir: Schema.String, step: Schema.Int, metric: Schema.String, value: Schema.Number })
type BestRecord = typeof BestRecord.Type

/** The recorded best checkpoint, if any. */
export const best = (outDir: string): Effect.Effect<BestRecord | undefined, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const text = yield* Effect.orElseSucceed(
      fs.readFileString(path.join(outDir, checkpointsDir, bestFile)),
      () => undefined
    )
    if (text === undefined) return undefined
    try {
      const r = Schema.decodeUnknownResult(BestRecord)(JSON.parse(text))
      return r._tag === "Success" ? r.success : undefined
    } catch {
      return undefined
    }
  })

/**
 * After writing the periodic checkpoint `dir` at `step`: record it as best when its `metric` beats the recorded best,
 * then delete periodic checkpoints beyond the newest `keepLast`, sparing the best.
 */
export const rotate = (
  outDir: string,
  written: { readonly dir: string; readonly step: number; readonly metrics: Readonly<Record<string, number>> },
  policy: { readonly keepLast: number; readonly bestMetric?: string | undefined; readonly maximize: boolean }
): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    let bestDir = (yield* best(outDir))?.dir
    const metric = policy.bestMetric
    const value = metric === undefined ? undefined : written.metrics[metric]
    if (metric !== undefined && value !== undefined && Number.isFinite(value)) {
      const current = yield* best(outDir)
      const better =
        current === undefined ||
        !(yield* fs.exists(current.dir)) ||
        (policy.maximize ? value > current.value : value < current.value)
      if (better) {
        yield* RunDir.writeFileAtomic(
          path.join(outDir, checkpointsDir, bestFile),
          `${JSON.stringify({ dir: written.dir, step: written.step, metric, value })}\n`
        )
        bestDir = written.dir
      }
    }
    const all = yield* list(outDir)
    const keep = new Set(all.slice(-policy.keepLast).map((c) => c.dir))
    for (const c of all) {
      if (!keep.has(c.dir) && c.dir !== bestDir && c.step < written.step)
        yield* fs.remove(c.dir, { recursive: true, force: true })
    }
  })

/** Make `hashJson` of a config available to callers (the compatibility key). */
export const configHash = (config: unknown): string => Hash.hashJson(config)
