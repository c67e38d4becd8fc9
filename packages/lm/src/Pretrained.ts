/**
 * A Hugging Face model directory on disk: `config.json` plus `model.safetensors` or shards listed in
 * `model.safetensors.index.json`. Loading checks every header against the config before reading any tensor data,
 * so a mismatched checkpoint fails in milliseconds whatever its size; saving writes the same layout back.
 *
 * Integrity on load: where a training checkpoint's `trainer_state.json` records the sha256 of its files, every file
 * the loader reads is checked against it (the weights are hashed as they stream in, so verification costs no second
 * read), and every loaded tensor is scanned once for NaN/±Infinity. Plain Hugging Face directories have no record
 * and are only scanned.
 */
import { createHash } from "node:crypto"
import { Hash } from "@realm-lm/core/node"
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect"
import * as ModelConfig from "./ModelConfig.ts"
import * as Safetensors from "./Safetensors.ts"
import * as Weights from "./Weights.ts"

/** Name of the shard index file. */
export const indexFile = "model.safetensors.index.json"
/** Name of the single-file checkpoint. */
export const singleFile = "model.safetensors"

/** The directory lacks a file we need. */
export class CheckpointFileMissing extends Schema.TaggedError<CheckpointFileMissing>()("CheckpointFileMissing", {
  dir: Schema.String,
  file: Schema.String,
  hint: Schema.String
}) {
  override get message(): string {
    return `${this.dir} has no ${this.file}: ${this.hint}`
  }
}

/** The model directory does not exist, or is a file. */
export class ModelDirNotFound extends Schema.TaggedError<ModelDirNotFound>()("ModelDirNotFound", {
  dir: Schema.String,
  /** `missing` or `not-a-directory`. */
  problem: Schema.Literals(["missing", "not-a-directory"])
}) {
  override get message(): string {
    return (
      `${this.dir} ${this.problem === "missing" ? "does not exist" : "is a file, not a directory"}: ` +
      "pass a Hugging Face model directory (config.json, safetensors weights, tokenizer.json), e.g. one that save_pretrained wrote or a run's <method>/final"
    )
  }
}

/** Succeed when `dir` is an existing directory; fail with `ModelDirNotFound` (before any file in it is looked for) otherwise. */
export const requireModelDir = (dir: string): Effect.Effect<void, ModelDirNotFound, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.option(fs.stat(dir))
    if (info._tag === "None") return yield* new ModelDirNotFound({ dir, problem: "missing" })
    if (info.value.type !== "Directory") return yield* new ModelDirNotFound({ dir, problem: "not-a-directory" })
  })

/** `model.safetensors.index.json` is malformed or disagrees with the shards. */
export class InvalidShardIndex extends Schema.TaggedError<InvalidShardIndex>()("InvalidShardIndex", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** Name of the training state file; its `files` list records each checkpoint file's sha256 (see `@realm-lm/trainer`). */
export const stateFile = "trainer_state.json"

const fixHint = "re-export the checkpoint, or resume training from the previous checkpoint"

/** A file differs from the sha256 that `trainer_state.json` recorded when training wrote the checkpoint. */
export class CheckpointHashMismatch extends Schema.TaggedError<CheckpointHashMismatch>()("CheckpointHashMismatch", {
  dir: Schema.String,
  file: Schema.String,
  /** sha256 recorded in `trainer_state.json`. */
  expected: Schema.String,
  /** sha256 of the file now. */
  actual: Schema.String,
  /** Size recorded. */
  expectedBytes: Schema.Int,
  /** Size now. */
  actualBytes: Schema.Int
}) {
  override get message(): string {
    return (
      `${this.dir}: ${this.file} changed after training wrote it (sha256 ${this.actual.slice(0, 12)}…, ${this.actualBytes} bytes; ` +
      `${stateFile} records ${this.expected.slice(0, 12)}…, ${this.expectedBytes} bytes): ${fixHint}`
    )
  }
}

/** `trainer_state.json` records file hashes but not this file, which the loader needs: it was added or replaced later. */
export class CheckpointFileNotRecorded extends Schema.TaggedError<CheckpointFileNotRecorded>()(
  "CheckpointFileNotRecorded",
  {
    dir: Schema.String,
    file: Schema.String
  }
) {
  override get message(): string {
    return `${this.dir}: ${this.file} is not among the files ${stateFile} records, so it was added or replaced after training wrote the checkpoint: ${fixHint}`
  }
}

/** `trainer_state.json` exists but its `files` record cannot be read. */
export class InvalidTrainerState extends Schema.TaggedError<InvalidTrainerState>()("InvalidTrainerState", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}; the checkpoint cannot be verified: ${fixHint} (or delete ${stateFile} to load it unverified)`
  }
}

/** Why a checkpoint failed its integrity checks. */
export type IntegrityError =
  | CheckpointHashMismatch
  | CheckpointFileNotRecorded
  | InvalidTrainerState
  | Weights.NonFiniteWeights

/** Everything `load` can fail with. */
export type LoadError =
  | ModelDirNotFound
  | CheckpointFileMissing
  | InvalidShardIndex
  | ModelConfig.UnsupportedModel
  | ModelConfig.InvalidModelConfig
  | Safetensors.ReadError
  | Weights.WeightsMismatch
  | IntegrityError
  | PlatformError.PlatformError

/** A file's recorded sha256 (hex) and size. */
export interface RecordedFile {
  readonly sha256: string
  readonly bytes: number
}

/** Recorded files by path relative to the checkpoint directory. */
export type RecordedHashes = ReadonlyMap<string, RecordedFile>

/** Options for `load`, `readConfig` and `loadWeights`. */
export interface LoadOptions extends ModelConfig.FromHfOptions {
  /**
   * Check the files read against the sha256s `trainer_state.json` records, when it records them (default true).
   * Only a caller that has just verified the same directory (the trainer's resume) turns this off.
   */
  readonly verifyHashes?: boolean
}

const Sha256 = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/))
// Only the `files` record matters here; Hugging Face Trainer writes a `trainer_state.json` without one.
const StateFiles = Schema.Struct({
  files: Schema.optionalKey(Schema.Array(Schema.Struct({ path: Schema.String, sha256: Sha256, bytes: Schema.Int })))
})
const decodeStateFiles = Schema.decodeUnknownResult(StateFiles)

/**
 * The sha256s `trainer_state.json` records for the files of `dir`, or `undefined` when there is no such file or it
 * has no `files` record (a plain Hugging Face directory, or a Hugging Face Trainer checkpoint).
 */
export const recordedHashes = (
  dir: string
): Effect.Effect<
  RecordedHashes | undefined,
  InvalidTrainerState | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const file = path.join(dir, stateFile)
    const json = yield* readJson(
      file,
      Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)),
      (e) => new InvalidTrainerState({ path: file, detail: `not JSON (${String(e)})` })
    )
    if (json === undefined) return undefined
    const decoded = decodeStateFiles(json)
    if (decoded._tag === "Failure")
      return yield* new InvalidTrainerState({
        path: file,
        detail: `malformed files record: ${decoded.failure.message}`
      })
    const files = decoded.success.files
    return files === undefined ? undefined : new Map(files.map((f) => [f.path, { sha256: f.sha256, bytes: f.bytes }]))
  })

/** Compare a file's hash and size (however they were computed) with the record, which must list the file. */
export const checkRecorded = (
  dir: string,
  file: string,
  recorded: RecordedHashes,
  actual: RecordedFile
): Effect.Effect<void, CheckpointHashMismatch | CheckpointFileNotRecorded> => {
  const entry = recorded.get(file)
  if (entry === undefined) return Effect.fail(new CheckpointFileNotRecorded({ dir, file }))
  return entry.sha256 === actual.sha256 && entry.bytes === actual.bytes
    ? Effect.void
    : Effect.fail(
        new CheckpointHashMismatch({
          dir,
          file,
          expected: entry.sha256,
          actual: actual.sha256,
          expectedBytes: entry.bytes,
          actualBytes: actual.bytes
        })
      )
}

/**
 * Verify one file of `dir` against `recorded`, hashing it as a stream (constant memory). For files the caller does
 * not read itself (tokenizer files, the optimizer state); the weights loader hashes shards while it reads them.
 */
export const verifyFile = (
  dir: string,
  file: string,
  recorded: RecordedHashes
): Effect.Effect<
  void,
  CheckpointHashMismatch | CheckpointFileNotRecorded | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    yield* checkRecorded(dir, file, recorded, yield* Hash.hashFile(path.join(dir, file), file))
  })

/**
 * Verify those of `files` that `trainer_state.json` records (when it records any), streamed: for files read by
 * something other than this module, such as the tokenizer files transformers.js reads.
 */
export const verifyRecorded = (
  dir: string,
  files: Iterable<string>
): Effect.Effect<
  void,
  CheckpointHashMismatch | CheckpointFileNotRecorded | InvalidTrainerState | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const recorded = yield* recordedHashes(dir)
    if (recorded === undefined) return
    for (const file of files) if (recorded.has(file)) yield* verifyFile(dir, file, recorded)
  })

const recordedFor = (dir: string, options: { readonly verifyHashes?: boolean }) =>
  options.verifyHashes === false ? Effect.succeed(undefined) : recordedHashes(dir)

/** Read a small file as text, checking its bytes against the record when there is one. */
const readVerified = (dir: string, file: string, recorded: RecordedHashes | undefined) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const bytes = yield* fs.readFile(path.join(dir, file))
    if (recorded !== undefined) {
      yield* checkRecorded(dir, file, recorded, { sha256: Hash.sha256(bytes), bytes: bytes.length })
    }
    return new TextDecoder().decode(bytes)
  })

/**
 * The small JSON file at `file`, its text read by `read` (as it is, or checked against a record), or `undefined` when
 * there is no such file; `notJson` makes the error for text that does not parse.
 */
const readJson = <E, R, E2>(file: string, read: Effect.Effect<string, E, R>, notJson: (e: unknown) => E2) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(file))) return undefined
    const text = yield* read
    return yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: notJson })
  })

const shardName = /^[\w.-]+\.safetensors$/

/** Read `config.json` of a directory into a `ModelConfig` (checked against `trainer_state.json`'s record, if any). */
export const readConfig = (dir: string, options: LoadOptions = {}) =>
  Effect.flatMap(recordedFor(dir, options), (recorded) => {
    const { verifyHashes: _, ...hf } = options
    return readConfigWith(dir, hf, recorded)
  })

const readConfigWith = (
  dir: string,
  options: ModelConfig.FromHfOptions,
  recorded: RecordedHashes | undefined
): Effect.Effect<
  ModelConfig.ModelConfig,
  | CheckpointFileMissing
  | ModelConfig.UnsupportedModel
  | ModelConfig.InvalidModelConfig
  | CheckpointHashMismatch
  | CheckpointFileNotRecorded
  | InvalidTrainerState
  | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const file = path.join(dir, "config.json")
    const json = yield* readJson(
      file,
      readVerified(dir, "config.json", recorded),
      (e) => new ModelConfig.InvalidModelConfig({ field: "(file)", detail: `${file} is not JSON: ${String(e)}` })
    )
    if (json === undefined) {
      return yield* new CheckpointFileMissing({
        dir,
        file: "config.json",
        hint: "a Hugging Face model directory needs its config.json beside the weights"
      })
    }
    return yield* ModelConfig.fromHf(json, options)
  })

/**
 * The shard map `tensor name → shard file` of a sharded directory, or `undefined` for a single-file checkpoint.
 * With `recorded`, the index file is checked against it.
 */
export const readIndex = (
  dir: string,
  recorded?: RecordedHashes
): Effect.Effect<
  ReadonlyMap<string, string> | undefined,
  InvalidShardIndex | CheckpointHashMismatch | CheckpointFileNotRecorded | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const file = path.join(dir, indexFile)
    const bad = (detail: string) => new InvalidShardIndex({ path: file, detail })
    const json = yield* readJson(file, readVerified(dir, indexFile, recorded), (e) => bad(`not JSON (${String(e)})`))
    if (json === undefined) return undefined
    const map = (json as { weight_map?: unknown } | null)?.weight_map
    if (typeof map !== "object" || map === null || Array.isArray(map))
      return yield* bad("weight_map must be an object of tensor name → shard file")
    const out = new Map<string, string>()
    for (const [name, shard] of Object.entries(map)) {
      if (typeof shard !== "string" || !shardName.test(shard) || shard.includes("..")) {
        return yield* bad(
          `weight_map.${name} must name a .safetensors file in the same directory, got ${JSON.stringify(shard)}`
        )
      }
      out.set(name, shard)
    }
    return out
  })

/**
 * Load and validate the weights of a directory for `config`: every shard header is validated and checked against
 * the config (names and shapes) before any tensor data is read; tensors then stream in one at a time. Each shard
 * is hashed as it streams in and checked against `trainer_state.json`'s record when there is one
 * (`CheckpointHashMismatch`), and each tensor is scanned once for NaN/±Infinity (`NonFiniteWeights`).
 */
export const loadWeights = (
  dir: string,
  config: ModelConfig.ModelConfig,
  options: { readonly verifyHashes?: boolean } = {}
): Effect.Effect<Weights.Weights, LoadError, FileSystem.FileSystem | Path.Path> =>
  Effect.flatMap(recordedFor(dir, options), (recorded) => loadWeightsWith(dir, config, recorded))

const loadWeightsWith = (
  dir: string,
  config: ModelConfig.ModelConfig,
  recorded: RecordedHashes | undefined
): Effect.Effect<Weights.Weights, LoadError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const index = yield* readIndex(dir, recorded)
    const shards = index === undefined ? [singleFile] : [...new Set(index.values())].toSorted()
    const shapes = new Map<string, ReadonlyArray<number>>()
    for (const shard of shards) {
      const file = path.join(dir, shard)
      if (!(yield* fs.exists(file))) {
        return yield* new CheckpointFileMissing({
          dir,
          file: shard,
          hint:
            index === undefined
              ? "only safetensors checkpoints are read; convert pytorch_model.bin first"
              : `${indexFile} lists it`
        })
      }
      const header = yield* Safetensors.readHeader(file)
      for (const t of header.tensors) {
        if (index !== undefined && index.get(t.name) !== shard) {
          return yield* new InvalidShardIndex({
            path: path.join(dir, indexFile),
            detail: `tensor ${t.name} is stored in ${shard} but weight_map says ${JSON.stringify(index.get(t.name) ?? null)}`
          })
        }
        if (shapes.has(t.name))
          return yield* new InvalidShardIndex({ path: file, detail: `tensor ${t.name} appears in more than one shard` })
        shapes.set(t.name, t.shape)
      }
    }
    if (index !== undefined) {
      for (const [name, shard] of index) {
        if (!shapes.has(name))
          return yield* new InvalidShardIndex({
            path: path.join(dir, indexFile),
            detail: `weight_map lists ${name} in ${shard}, which does not contain it`
          })
      }
    }
    yield* Weights.checkShapes(config, shapes, dir)
    const all = new Map<string, Weights.Tensor>()
    for (const shard of shards) {
      const file = path.join(dir, shard)
      // Fail before reading a shard the record lacks (`checkRecorded` below would, after reading it).
      if (recorded !== undefined && !recorded.has(shard))
        return yield* new CheckpointFileNotRecorded({ dir, file: shard })
      const hash = recorded === undefined ? undefined : createHash("sha256")
      let bytes = 0
      const part = yield* Safetensors.read(file, {
        include: (name) => !Weights.isIgnorable(config, name),
        ...(hash === undefined
          ? {}
          : {
              onBytes: (chunk: Uint8Array) => {
                hash.update(chunk)
                bytes += chunk.length
              }
            })
      })
      if (recorded !== undefined && hash !== undefined)
        yield* checkRecorded(dir, shard, recorded, { sha256: hash.digest("hex"), bytes })
      for (const [name, t] of part) {
        const bad = Weights.nonFinite(name, t, file)
        if (bad !== undefined) return yield* bad
        all.set(name, t)
      }
    }
    return yield* Weights.validate(config, all, dir)
  })

/**
 * Load a Hugging Face directory: its config and validated, finite float32 weights, every file read checked against
 * `trainer_state.json`'s sha256 record when the directory has one (see the module comment).
 */
export const load = (
  dir: string,
  options: LoadOptions = {}
): Effect.Effect<
  { readonly config: ModelConfig.ModelConfig; readonly weights: Weights.Weights },
  LoadError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    yield* requireModelDir(dir)
    const recorded = yield* recordedFor(dir, options)
    const { verifyHashes: _, ...hf } = options
    const config = yield* readConfigWith(dir, hf, recorded)
    return { config, weights: yield* loadWeightsWith(dir, config, recorded) }
  })

/** Options for `save`. */
export interface SaveOptions extends Safetensors.WriteOptions {
  /** Largest shard in bytes (default 5 GB, as transformers); bigger models are split into `model-0000i-of-0000n`. */
  readonly maxShardBytes?: number
}

/** Write `config.json` and the weights (one file, or shards plus `model.safetensors.index.json`) into `dir`. */
export const save = (
  dir: string,
  config: ModelConfig.ModelConfig,
  weights: Weights.Weights,
  options: SaveOptions = {}
): Effect.Effect<void, Weights.WeightsMismatch | PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const valid = yield* Weights.validate(config, weights)
    yield* fs.makeDirectory(dir, { recursive: true })
    const torchDtype = options.dtype === "BF16" ? "bfloat16" : options.dtype === "F16" ? "float16" : "float32"
    yield* fs.writeFileString(
      path.join(dir, "config.json"),
      `${JSON.stringify(ModelConfig.toHf(config, { torchDtype }), null, 2)}\n`
    )
    const bytesPer = Safetensors.dtypeSizes[options.dtype ?? "F32"]!
    const max = options.maxShardBytes ?? 5_000_000_000
    const groups: Array<Map<string, Weights.Tensor>> = [new Map()]
    let current = 0
    let total = 0
    for (const [name, t] of valid) {
      const size = t.data.length * bytesPer
      if (current > 0 && current + size > max) {
        groups.push(new Map())
        current = 0
      }
      groups[groups.length - 1]!.set(name, t)
      current += size
      total += size
    }
    if (groups.length === 1) {
      yield* Safetensors.write(path.join(dir, singleFile), valid, options)
      if (yield* fs.exists(path.join(dir, indexFile))) yield* fs.remove(path.join(dir, indexFile))
      return
    }
    const pad = (i: number) => String(i).padStart(5, "0")
    const weightMap: Record<string, string> = {}
    for (const [i, group] of groups.entries()) {
      const shard = `model-${pad(i + 1)}-of-${pad(groups.length)}.safetensors`
      yield* Safetensors.write(path.join(dir, shard), group, options)
      for (const name of group.keys()) weightMap[name] = shard
    }
    const index = { metadata: { total_size: total }, weight_map: weightMap }
    yield* fs.writeFileString(path.join(dir, indexFile), `${JSON.stringify(index, null, 2)}\n`)
    if (yield* fs.exists(path.join(dir, singleFile))) yield* fs.remove(path.join(dir, singleFile))
  })
