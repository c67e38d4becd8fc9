/**
 * A Hugging Face model directory on disk: `config.json` plus `model.safetensors` or shards listed in
 * `model.safetensors.index.json`. Loading checks every header against the config before reading any tensor data,
 * so a mismatched checkpoint fails in milliseconds whatever its size; saving writes the same layout back.
 */
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

/** `model.safetensors.index.json` is malformed or disagrees with the shards. */
export class InvalidShardIndex extends Schema.TaggedError<InvalidShardIndex>()("InvalidShardIndex", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** Everything `load` can fail with. */
export type LoadError =
  | CheckpointFileMissing
  | InvalidShardIndex
  | ModelConfig.UnsupportedModel
  | ModelConfig.InvalidModelConfig
  | Safetensors.ReadError
  | Weights.WeightsMismatch
  | PlatformError.PlatformError

const shardName = /^[\w.-]+\.safetensors$/

/** Read `config.json` of a directory into a `ModelConfig`. */
export const readConfig = (
  dir: string,
  options: ModelConfig.FromHfOptions = {}
): Effect.Effect<
  ModelConfig.ModelConfig,
  CheckpointFileMissing | ModelConfig.UnsupportedModel | ModelConfig.InvalidModelConfig | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dir, "config.json")
    if (!(yield* fs.exists(file))) {
      return yield* new CheckpointFileMissing({ dir, file: "config.json", hint: "a Hugging Face model directory needs its config.json beside the weights" })
    }
    const text = yield* fs.readFileString(file)
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new ModelConfig.InvalidModelConfig({ field: "(file)", detail: `${file} is not JSON: ${String(e)}` })
    })
    return yield* ModelConfig.fromHf(json, options)
  })

/** The shard map `tensor name → shard file` of a sharded directory, or `undefined` for a single-file checkpoint. */
export const readIndex = (dir: string): Effect.Effect<ReadonlyMap<string, string> | undefined, InvalidShardIndex | PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dir, indexFile)
    if (!(yield* fs.exists(file))) return undefined
    const text = yield* fs.readFileString(file)
    const bad = (detail: string) => new InvalidShardIndex({ path: file, detail })
    const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => bad(`not JSON (${String(e)})`) })
    const map = (json as { weight_map?: unknown } | null)?.weight_map
    if (typeof map !== "object" || map === null || Array.isArray(map)) return yield* bad("weight_map must be an object of tensor name → shard file")
    const out = new Map<string, string>()
    for (const [name, shard] of Object.entries(map)) {
      if (typeof shard !== "string" || !shardName.test(shard) || shard.includes("..")) {
        return yield* bad(`weight_map.${name} must name a .safetensors file in the same directory, got ${JSON.stringify(shard)}`)
      }
      out.set(name, shard)
    }
    return out
  })

/**
 * Load and validate the weights of a directory for `config`: every shard header is validated and checked against
 * the config (names and shapes) before any tensor data is read; tensors then stream in one at a time.
 */
export const loadWeights = (
  dir: string,
  config: ModelConfig.ModelConfig
): Effect.Effect<Weights.Weights, LoadError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const index = yield* readIndex(dir)
    const shards = index === undefined ? [singleFile] : [...new Set(index.values())].toSorted()
    const shapes = new Map<string, ReadonlyArray<number>>()
    for (const shard of shards) {
      const file = path.join(dir, shard)
      if (!(yield* fs.exists(file))) {
        return yield* new CheckpointFileMissing({
          dir,
          file: shard,
          hint: index === undefined ? "only safetensors checkpoints are read; convert pytorch_model.bin first" : `${indexFile} lists it`
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
        if (shapes.has(t.name)) return yield* new InvalidShardIndex({ path: file, detail: `tensor ${t.name} appears in more than one shard` })
        shapes.set(t.name, t.shape)
      }
    }
    if (index !== undefined) {
      for (const [name, shard] of index) {
        if (!shapes.has(name)) return yield* new InvalidShardIndex({ path: path.join(dir, indexFile), detail: `weight_map lists ${name} in ${shard}, which does not contain it` })
      }
    }
    yield* Weights.checkShapes(config, shapes, dir)
    const all = new Map<string, Weights.Tensor>()
    for (const shard of shards) {
      const part = yield* Safetensors.read(path.join(dir, shard), { include: (name) => !Weights.isIgnorable(config, name) })
      for (const [name, t] of part) all.set(name, t)
    }
    return yield* Weights.validate(config, all, dir)
  })

/** Load a Hugging Face directory: its config and validated float32 weights. */
export const load = (
  dir: string,
  options: ModelConfig.FromHfOptions = {}
): Effect.Effect<{ readonly config: ModelConfig.ModelConfig; readonly weights: Weights.Weights }, LoadError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const config = yield* readConfig(dir, options)
    return { config, weights: yield* loadWeights(dir, config) }
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
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const valid = yield* Weights.validate(config, weights)
    yield* fs.makeDirectory(dir, { recursive: true })
    const torchDtype = options.dtype === "BF16" ? "bfloat16" : options.dtype === "F16" ? "float16" : "float32"
    yield* fs.writeFileString(path.join(dir, "config.json"), `${JSON.stringify(ModelConfig.toHf(config, { torchDtype }), null, 2)}\n`)
    const bytesPer = Safetensors.dtypeSizes[options.dtype ?? "F32"] as number
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
      ;(groups[groups.length - 1] as Map<string, Weights.Tensor>).set(name, t)
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
