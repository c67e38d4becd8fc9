import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as Safetensors from "../src/Safetensors.ts"
import * as Weights from "../src/Weights.ts"
import { fixtureWeights, tinyFixtures } from "./fixtures/make-tiny.ts"
import { tempDir, tinyConfig } from "./support.ts"

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.provide(effect, NodeServices.layer)
const fixtures = join(import.meta.dirname, "fixtures")

const assertSameWeights = (a: Weights.Weights, b: Weights.Weights) => {
  assert.deepStrictEqual([...a.keys()], [...b.keys()])
  for (const [name, t] of a) {
    assert.deepStrictEqual(b.get(name)?.shape, t.shape, name)
    assert.deepStrictEqual(b.get(name)?.data, t.data, name)
  }
}

describe("Pretrained", () => {
  it.effect("loads the committed fixtures (F32 Llama, BF16 tied Qwen2) and they equal their generator", () =>
    run(
      Effect.gen(function* () {
        for (const f of tinyFixtures) {
          const { config, weights } = yield* Pretrained.load(join(fixtures, f.dir))
          assert.deepStrictEqual(config, yield* ModelConfig.make(f.config))
          const expected = fixtureWeights(config, f.seed)
          if (f.dtype === "F32") assertSameWeights(weights, expected)
          else {
            // BF16 storage: each value within half a BF16 ulp of the generated float32.
            for (const [name, t] of expected) {
              const got = weights.get(name)?.data ?? new Float32Array()
              t.data.forEach((x, i) => assert.isTrue(Math.abs(got[i]! - x) <= Math.abs(x) * 2 ** -8, name))
            }
          }
          assert.notInclude([...weights.keys()], f.config.tieWordEmbeddings ? "lm_head.weight" : "(none)")
        }
      })
    )
  )

  it.effect("save then load round-trips config and weights", () =>
    run(
      Effect.gen(function* () {
        const config = tinyConfig({ architecture: "Qwen2ForCausalLM", qkvBias: true, tieWordEmbeddings: true })
        const weights = Weights.init(config, Rng.Rng.make("pretrained"))
        const dir = tempDir()
        yield* Pretrained.save(dir, config, weights)
        const back = yield* Pretrained.load(dir)
        assert.deepStrictEqual(back.config, config)
        assertSameWeights(back.weights, weights)
      })
    )
  )

  it.effect("shards above maxShardBytes, writes the index, and loads the shards back", () =>
    run(
      Effect.gen(function* () {
        const config = tinyConfig()
        const weights = Weights.init(config, Rng.Rng.make("shards"))
        const dir = tempDir()
        yield* Pretrained.save(dir, config, weights, { maxShardBytes: 4096 })
        const shards = readdirSync(dir).filter((f) => f.endsWith(".safetensors"))
        assert.isAbove(shards.length, 2)
        assert.isTrue(shards.every((s) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(s)))
        const index = JSON.parse(readFileSync(join(dir, Pretrained.indexFile), "utf8")) as {
          metadata: { total_size: number }
          weight_map: Record<string, string>
        }
        assert.strictEqual(index.metadata.total_size, 4 * Weights.count(weights))
        assert.strictEqual(Object.keys(index.weight_map).length, weights.size)
        assertSameWeights((yield* Pretrained.load(dir)).weights, weights)
      })
    )
  )

  it.effect("rejects an index that disagrees with its shards, or points outside the directory", () =>
    run(
      Effect.gen(function* () {
        const config = tinyConfig()
        const dir = tempDir()
        yield* Pretrained.save(dir, config, Weights.init(config, Rng.Rng.make("idx")), { maxShardBytes: 4096 })
        const indexPath = join(dir, Pretrained.indexFile)
        const index = JSON.parse(readFileSync(indexPath, "utf8")) as { weight_map: Record<string, string> }
        const shards = [...new Set(Object.values(index.weight_map))]
        const edits: ReadonlyArray<readonly [Record<string, string>, string]> = [
          [{ ...index.weight_map, "model.norm.weight": shards[0]! }, "model.norm.weight"],
          [{ ...index.weight_map, "model.norm.weight": "../evil.safetensors" }, "same directory"],
          [
            Object.fromEntries(Object.entries(index.weight_map).filter(([k]) => k !== "model.norm.weight")),
            "model.norm.weight"
          ]
        ]
        for (const [map, fragment] of edits) {
          writeFileSync(indexPath, JSON.stringify({ weight_map: map }))
          const error = yield* Effect.flip(Pretrained.load(dir))
          assert.strictEqual(error._tag, "InvalidShardIndex")
          assert.include(error.message, fragment)
        }
      })
    )
  )

  it.effect("a checkpoint that disagrees with config.json fails naming the tensor, before reading data", () =>
    run(
      Effect.gen(function* () {
        const config = tinyConfig()
        const dir = tempDir()
        yield* Pretrained.save(dir, config, Weights.init(config, Rng.Rng.make("mismatch")))
        // Wider intermediate_size in config.json: the first MLP weight no longer matches.
        writeFileSync(join(dir, "config.json"), JSON.stringify({ ...ModelConfig.toHf(config), intermediate_size: 28 }))
        const shape = yield* Effect.flip(Pretrained.load(dir))
        assert.strictEqual(shape._tag, "WeightShapeMismatch")
        assert.include(shape.message, "model.layers.0.mlp.gate_proj.weight")
        // Untied in the config but no lm_head in the file.
        const tiedConfig = tinyConfig({ tieWordEmbeddings: true })
        yield* Pretrained.save(dir, tiedConfig, Weights.init(tiedConfig, Rng.Rng.make("tied")))
        writeFileSync(join(dir, "config.json"), JSON.stringify(ModelConfig.toHf(config)))
        const missing = yield* Effect.flip(Pretrained.load(dir))
        assert.strictEqual(missing._tag, "MissingWeight")
        assert.include(missing.message, "lm_head.weight")
        // An extra tensor the architecture has no place for.
        const extra = new Map(Weights.init(config, Rng.Rng.make("x")))
        extra.set("model.layers.0.mlp.extra.weight", Weights.tensor([2]))
        yield* Safetensors.write(join(dir, Pretrained.singleFile), extra)
        const unexpected = yield* Effect.flip(Pretrained.load(dir))
        assert.strictEqual(unexpected._tag, "UnexpectedWeight")
      })
    )
  )

  it.effect("ignores rotary inv_freq buffers and a redundant lm_head on tied models", () =>
    run(
      Effect.gen(function* () {
        const config = tinyConfig({ tieWordEmbeddings: true })
        const weights = Weights.init(config, Rng.Rng.make("ignore"))
        const withExtras = new Map(weights)
        withExtras.set("lm_head.weight", weights.get(Weights.embedTokens) as Weights.Tensor)
        withExtras.set("model.layers.0.self_attn.rotary_emb.inv_freq", Weights.tensor([2]))
        const dir = tempDir()
        yield* Pretrained.save(dir, config, weights)
        yield* Safetensors.write(join(dir, Pretrained.singleFile), withExtras)
        assertSameWeights((yield* Pretrained.load(dir)).weights, weights)
      })
    )
  )

  it.effect("reports a missing config.json or model.safetensors with a hint", () =>
    run(
      Effect.gen(function* () {
        const dir = tempDir()
        const noConfig = yield* Effect.flip(Pretrained.load(dir))
        assert.strictEqual(noConfig._tag, "CheckpointFileMissing")
        writeFileSync(join(dir, "config.json"), JSON.stringify(ModelConfig.toHf(tinyConfig())))
        const noWeights = yield* Effect.flip(Pretrained.load(dir))
        assert.strictEqual(noWeights._tag, "CheckpointFileMissing")
        assert.include(noWeights.message, "pytorch_model.bin")
        assert.isFalse(existsSync(join(dir, Pretrained.singleFile)))
      })
    )
  )

  it.effect("a directory that does not exist (or is a file) says so, not that a file in it is missing", () =>
    run(
      Effect.gen(function* () {
        const dir = tempDir()
        const missing = yield* Effect.flip(Pretrained.load(join(dir, "nope")))
        assert.strictEqual(missing._tag, "ModelDirNotFound")
        assert.match(missing.message, /nope does not exist: pass a Hugging Face model directory/)
        writeFileSync(join(dir, "file"), "")
        const file = yield* Effect.flip(Pretrained.load(join(dir, "file")))
        assert.match(file.message, /file is a file, not a directory/)
      })
    )
  )
})
