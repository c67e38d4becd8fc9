/**
 * Integrity on load, through `Pretrained.load` and `Policy.load` (the load of `eval` and `serve`): a NaN or ±Infinity
 * weight is rejected naming the tensor and position; where `trainer_state.json` records sha256s (as the trainer's
 * checkpoints do), a changed config, index or shard fails with the file and both hashes, and a weights file the
 * record lacks is refused; directories without a record load as before; and a `max_position_embeddings` beyond the
 * engine's int32 positions fails naming the field.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import { Hash } from "@realm-lm/core/node"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as Policy from "../src/Policy.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as Safetensors from "../src/Safetensors.ts"
import * as Weights from "../src/Weights.ts"
import { tempDir, tinyConfig } from "./support.ts"

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.provide(effect, NodeServices.layer)

/** Record every file of `dir` in `trainer_state.json` the way `@realm-lm/trainer`'s `Checkpoint.write` does. */
const record = (dir: string) =>
  Effect.gen(function* () {
    const names = readdirSync(dir)
      .filter((f) => f !== Pretrained.stateFile)
      .toSorted()
    const files = yield* Effect.forEach(names, (f) => Hash.hashFile(join(dir, f), f))
    writeFileSync(
      join(dir, Pretrained.stateFile),
      `${JSON.stringify({ version: 1, phase: "sft", step: 3, files }, null, 1)}\n`
    )
    return new Map(files.map((f) => [f.path, f.sha256]))
  })

type LoadError = Effect.Error<ReturnType<typeof Pretrained.load>>

/** The `tag` error loading `dir` fails with in `Pretrained.load`, after checking `Policy.load` fails with it too. */
const loadFailure = <Tag extends LoadError["_tag"]>(dir: string, tag: Tag) =>
  Effect.gen(function* () {
    const viaPolicy = yield* Effect.flip(Effect.scoped(Policy.load(dir)))
    assert.strictEqual(viaPolicy._tag, tag)
    const error = yield* Effect.flip(Pretrained.load(dir))
    if (error._tag !== tag) return assert.fail(`expected ${tag}, got ${error._tag}`)
    return error as Extract<LoadError, { readonly _tag: Tag }>
  })

const sha = (file: string) => Effect.map(Hash.hashFile(file), (h) => h.sha256)

/** A saved tiny model in a fresh directory. */
const saved = (seed: string, options: Pretrained.SaveOptions = {}, edit: (w: Weights.Weights) => void = () => {}) =>
  Effect.gen(function* () {
    const config = tinyConfig()
    const weights = Weights.init(config, Rng.Rng.make(seed))
    edit(weights)
    const dir = tempDir()
    yield* Pretrained.save(dir, config, weights, options)
    return { dir, config, weights }
  })

const upProj = Weights.layer(1).up

describe("non-finite weights", () => {
  it.effect("a NaN weight fails NonFiniteWeights naming tensor and position, in Pretrained.load and Policy.load", () =>
    run(
      Effect.gen(function* () {
        // up_proj is [24, 16]: flat index 5·16 + 3 = 83 is row 5, column 3.
        const { dir } = yield* saved("nan", {}, (w) => void (Weights.get(w, upProj).data[83] = Number.NaN))
        const error = yield* loadFailure(dir, "NonFiniteWeights")
        assert.strictEqual(error.tensor, upProj)
        assert.strictEqual(error.index, 83)
        assert.deepStrictEqual(error.at, [5, 3])
        assert.strictEqual(error.value, "NaN")
        assert.include(error.message, "Resume training from the previous checkpoint")
        assert.include(error.message, "re-export")
      })
    )
  )

  it.effect("±Infinity is caught after half-precision decoding (values beyond F16's range stored as F16)", () =>
    run(
      Effect.gen(function* () {
        const big = (w: Weights.Weights) => {
          Weights.get(w, Weights.finalNorm).data[2] = -1e6
        }
        // Stored as F32 the value is finite and loads; stored as F16 it becomes -Infinity.
        const f32 = yield* saved("inf", {}, big)
        assert.strictEqual(Weights.get((yield* Pretrained.load(f32.dir)).weights, Weights.finalNorm).data[2], -1e6)
        const f16 = yield* saved("inf", { dtype: "F16" }, big)
        const error = yield* Effect.flip(Pretrained.load(f16.dir))
        assert.strictEqual(error._tag, "NonFiniteWeights")
        if (error._tag === "NonFiniteWeights") {
          assert.strictEqual(error.tensor, Weights.finalNorm)
          assert.strictEqual(error.value, "-Infinity")
          assert.deepStrictEqual(error.at, [2])
        }
      })
    )
  )

  it("firstNonFinite finds the first NaN or ±Infinity and nothing else", () => {
    const data = new Float32Array(1000).map((_, i) => (i % 7) * 1e38 - 3e38)
    assert.strictEqual(Weights.firstNonFinite(data), -1)
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const copy = data.slice()
      copy[640] = bad
      copy[900] = bad
      assert.strictEqual(Weights.firstNonFinite(copy), 640)
    }
    assert.strictEqual(Weights.firstNonFinite(Float32Array.of(3.4028234663852886e38, -0, 1e-45)), -1)
  })
})

describe("recorded hashes (trainer_state.json)", () => {
  it.effect(
    "an intact checkpoint loads; a changed model.safetensors fails CheckpointHashMismatch with both hashes",
    () =>
      run(
        Effect.gen(function* () {
          const { dir, config, weights } = yield* saved("hash")
          const recorded = yield* record(dir)
          const loaded = yield* Pretrained.load(dir)
          assert.deepStrictEqual(Weights.get(loaded.weights, upProj).data, Weights.get(weights, upProj).data)
          // Same shapes, same size, one finite value changed: only the hash can tell.
          const changed = new Map(weights)
          const up = Weights.get(weights, upProj)
          changed.set(
            upProj,
            Weights.tensor(
              up.shape,
              up.data.map((x, i) => (i === 0 ? x + 1 : x))
            )
          )
          yield* Safetensors.write(join(dir, Pretrained.singleFile), yield* Weights.validate(config, changed))
          const error = yield* loadFailure(dir, "CheckpointHashMismatch")
          assert.strictEqual(error.file, Pretrained.singleFile)
          assert.strictEqual(error.expected, recorded.get(Pretrained.singleFile))
          assert.strictEqual(error.actual, yield* sha(join(dir, Pretrained.singleFile)))
          assert.include(error.message, "re-export the checkpoint, or resume training from the previous checkpoint")
        })
      )
  )

  it.effect("a recorded checkpoint overwritten with NaN fails on its hash", () =>
    run(
      Effect.gen(function* () {
        const { dir, config, weights } = yield* saved("overwrite")
        yield* record(dir)
        const nan = new Map(
          [...weights].map(([name, t]) => [
            name,
            Weights.tensor(t.shape, new Float32Array(t.data.length).fill(Number.NaN))
          ])
        )
        yield* Safetensors.write(join(dir, Pretrained.singleFile), yield* Weights.validate(config, nan))
        const error = yield* Effect.flip(Effect.scoped(Policy.load(dir)))
        assert.strictEqual(error._tag, "CheckpointHashMismatch")
      })
    )
  )

  it.effect(
    "config.json, the shard index and every shard are checked; a weights file the record lacks is refused",
    () =>
      run(
        Effect.gen(function* () {
          const { dir, config, weights } = yield* saved("shards", { maxShardBytes: 4096 })
          yield* record(dir)
          assert.strictEqual((yield* Pretrained.load(dir)).weights.size, weights.size)
          const touch = (file: string) => {
            const path = join(dir, file)
            const original = readFileSync(path)
            writeFileSync(path, Buffer.concat([original, Buffer.from(" ")]))
            return () => writeFileSync(path, original)
          }
          // JSON files: trailing whitespace parses the same, so only the hash notices.
          for (const file of ["config.json", Pretrained.indexFile]) {
            const restore = touch(file)
            const error = yield* Effect.flip(Pretrained.load(dir))
            assert.strictEqual(error._tag, "CheckpointHashMismatch", file)
            if (error._tag === "CheckpointHashMismatch") assert.strictEqual(error.file, file)
            restore()
          }
          const shards = readdirSync(dir)
            .filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f))
            .toSorted()
          const last = shards.at(-1) as string
          const part = yield* Safetensors.read(join(dir, last))
          const [name, t] = [...part][0] as [string, Weights.Tensor]
          part.set(
            name,
            Weights.tensor(
              t.shape,
              t.data.map((x) => -x)
            )
          )
          yield* Safetensors.write(join(dir, last), part)
          const shardError = yield* Effect.flip(Pretrained.load(dir))
          assert.strictEqual(shardError._tag, "CheckpointHashMismatch")
          if (shardError._tag === "CheckpointHashMismatch") assert.strictEqual(shardError.file, last)
          // Re-saved as one file after training: model.safetensors is not in the record.
          yield* Pretrained.save(dir, config, weights)
          const unrecorded = yield* Effect.flip(Pretrained.load(dir))
          assert.strictEqual(unrecorded._tag, "CheckpointFileNotRecorded")
          if (unrecorded._tag === "CheckpointFileNotRecorded")
            assert.strictEqual(unrecorded.file, Pretrained.singleFile)
        })
      )
  )

  it.effect("Policy.load also checks recorded tokenizer files", () =>
    run(
      Effect.gen(function* () {
        const { dir } = yield* saved("tokenizer")
        writeFileSync(join(dir, "tokenizer_config.json"), "{}\n")
        yield* record(dir)
        writeFileSync(join(dir, "tokenizer_config.json"), '{ "chat_template": "{{ \'pwned\' }}" }\n')
        const error = yield* Effect.flip(Effect.scoped(Policy.load(dir)))
        assert.strictEqual(error._tag, "CheckpointHashMismatch")
        if (error._tag === "CheckpointHashMismatch") assert.strictEqual(error.file, "tokenizer_config.json")
      })
    )
  )

  it.effect("without a files record a directory loads as before; a malformed record fails InvalidTrainerState", () =>
    run(
      Effect.gen(function* () {
        const { dir } = yield* saved("hf")
        // Hugging Face Trainer writes a trainer_state.json too, with no files record.
        writeFileSync(
          join(dir, Pretrained.stateFile),
          JSON.stringify({ global_step: 10, log_history: [{ loss: 1.5 }] })
        )
        assert.isDefined((yield* Pretrained.load(dir)).weights)
        for (const text of ['{ "files": [{ "path": "config.json" }] }', '{ "files": ']) {
          writeFileSync(join(dir, Pretrained.stateFile), text)
          const error = yield* Effect.flip(Pretrained.load(dir))
          assert.strictEqual(error._tag, "InvalidTrainerState", text)
        }
        // verifyHashes: false (the trainer's resume, right after verifying the directory) skips the record.
        yield* record(dir)
        writeFileSync(join(dir, "config.json"), `${readFileSync(join(dir, "config.json"), "utf8")} `)
        assert.strictEqual((yield* Effect.flip(Pretrained.load(dir)))._tag, "CheckpointHashMismatch")
        assert.isDefined((yield* Pretrained.load(dir, { verifyHashes: false })).weights)
      })
    )
  )
})

describe("max_position_embeddings", () => {
  const withPositions = (value: unknown) =>
    Effect.gen(function* () {
      const { dir, config } = yield* saved("positions")
      writeFileSync(
        join(dir, "config.json"),
        JSON.stringify({ ...ModelConfig.toHf(config), max_position_embeddings: value })
      )
      return dir
    })

  it.effect("beyond the engine's int32 positions fails UnsupportedModel naming the field; a maxContext cap loads", () =>
    run(
      Effect.gen(function* () {
        for (const value of [2 ** 31, 1e300]) {
          const dir = yield* withPositions(value)
          const error = yield* Effect.flip(Pretrained.load(dir))
          assert.strictEqual(error._tag, "UnsupportedModel", String(value))
          if (error._tag !== "UnsupportedModel") continue
          assert.strictEqual(error.field, "max_position_embeddings")
          assert.include(error.message, `at most ${ModelConfig.maxSupportedContext} positions`)
          assert.include(error.message, "int32")
          assert.strictEqual((yield* Pretrained.load(dir, { maxContext: 4096 })).config.maxContext, 4096)
          const tooBigCap = yield* Effect.flip(Pretrained.load(dir, { maxContext: 2 ** 31 }))
          assert.strictEqual(tooBigCap._tag, "InvalidModelConfig")
          assert.include(tooBigCap.message, `must be an integer in [1, ${ModelConfig.maxSupportedContext}]`)
        }
        const edge = yield* withPositions(ModelConfig.maxSupportedContext)
        assert.strictEqual((yield* Pretrained.load(edge)).config.maxContext, 2 ** 31 - 1)
      })
    )
  )

  it.effect("zero, negative, fractional and non-numeric values fail InvalidModelConfig naming the field", () =>
    run(
      Effect.gen(function* () {
        for (const value of [0, -4096, 4096.5, "4096"]) {
          const error = yield* Effect.flip(Pretrained.load(yield* withPositions(value)))
          assert.strictEqual(error._tag, "InvalidModelConfig", String(value))
          if (error._tag === "InvalidModelConfig") {
            assert.strictEqual(error.field, "max_position_embeddings")
            assert.include(error.message, "positive integer")
          }
        }
      })
    )
  )
})
