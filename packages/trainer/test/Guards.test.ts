/**
 * Guards and validation: a non-finite loss stops the run with a typed error naming the step and the tensor (or is
 * skipped and counted until `maxSkips`), and bad config fails while decoding with the field path, before any work.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Hash } from "@realm-lm/core/node"
import { Pretrained, Weights } from "@realm-lm/lm"
import * as Metrics from "../src/Metrics.ts"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import * as Toy from "./fixtures/toy.ts"

/**
 * A tiny model whose final RMSNorm gain is 3e38 (finite, so it passes the load's NaN/Infinity scan, which rejects
 * a NaN weight outright): the normed activations overflow to ±Infinity and the loss of every batch is NaN.
 */
const poisoned = (dir: string) =>
  Effect.gen(function* () {
    const ps = Toy.problems(8)
    yield* Toy.tinyModel(join(dir, "clean"), ps)
    const { config, weights } = yield* Pretrained.load(join(dir, "clean"))
    const norm = Weights.get(weights, "model.norm.weight")
    norm.data.fill(3e38)
    yield* Pretrained.save(join(dir, "clean"), config, weights)
    return { init: join(dir, "clean"), corpus: Toy.writeCorpus(join(dir, "corpus.jsonl"), Toy.records(ps)) }
  })

const settings = (guards: object) =>
  TrainerConfig.decodeSync({
    runtime: { intraOpThreads: 1 },
    batching: { buckets: [32, 64], microBatch: 4 },
    generation: { maxPromptTokens: 40, maxNewTokens: 16 },
    checkpoint: { every: 0, onnx: "never" },
    log: { tensorboard: false },
    guards,
    sft: { steps: 10, batchSize: 8, heldOutFraction: 0 }
  })

describe("guards", () => {
  it.effect("a non-finite loss fails with NonFiniteValue naming step and tensor", () =>
    Effect.gen(function* () {
      const dir = Toy.tempDir()
      const { init, corpus } = yield* poisoned(dir)
      const error = yield* Effect.flip(
        Sft.train({ init, corpus, outDir: join(dir, "out"), resume: false }, settings({}))
      )
      assert.strictEqual(error._tag, "NonFiniteValue")
      if (error._tag === "NonFiniteValue") {
        assert.strictEqual(error.step, 1)
        assert.strictEqual(error.tensor, "loss")
        assert.strictEqual(error.phase, "sft")
        assert.match(error.message, /non-finite loss .* at step 1/)
      }
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, Toy.verifierLayer)))
  )

  it.effect("skip mode withholds the updates, counts them and fails after maxSkips", () =>
    Effect.gen(function* () {
      const dir = Toy.tempDir()
      const { init, corpus } = yield* poisoned(dir)
      const error = yield* Effect.flip(
        Sft.train(
          { init, corpus, outDir: join(dir, "out"), resume: false },
          settings({ nonFinite: "skip", maxSkips: 3 })
        )
      )
      assert.strictEqual(error._tag, "NonFiniteValue")
      if (error._tag === "NonFiniteValue") {
        assert.strictEqual(error.step, 4)
        assert.strictEqual(error.skipped, 3)
      }
      const lines = Metrics.parse(readFileSync(join(dir, "out", Metrics.metricsFile), "utf8"))
      assert.deepStrictEqual(
        lines.map((l) => l["skipped_steps"]),
        [1, 2, 3]
      )
      assert.isTrue(lines.every((l) => l["loss"] === null))
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, Toy.verifierLayer)))
  )
})

describe("loading", () => {
  it.effect("an initial model with a NaN weight is refused at load, naming the tensor, before any step", () =>
    Effect.gen(function* () {
      const dir = Toy.tempDir()
      const ps = Toy.problems(8)
      yield* Toy.tinyModel(join(dir, "clean"), ps)
      const { config, weights } = yield* Pretrained.load(join(dir, "clean"))
      Weights.get(weights, "model.norm.weight").data[3] = Number.NaN
      yield* Pretrained.save(join(dir, "clean"), config, weights)
      const corpus = Toy.writeCorpus(join(dir, "corpus.jsonl"), Toy.records(ps))
      const error = yield* Effect.flip(
        Sft.train({ init: join(dir, "clean"), corpus, outDir: join(dir, "out"), resume: false }, settings({}))
      )
      assert.strictEqual(error._tag, "EngineFailed")
      assert.match(error.message, /model\.norm\.weight holds NaN at \[3\]/)
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, Toy.verifierLayer)))
  )

  it.effect("an initial model whose tokenizer or weights differ from its trainer_state.json record is refused", () =>
    Effect.gen(function* () {
      const dir = Toy.tempDir()
      const ps = Toy.problems(8)
      const init = join(dir, "init")
      yield* Toy.tinyModel(init, ps)
      const files = yield* Effect.forEach(readdirSync(init).toSorted(), (f) => Hash.hashFile(join(init, f), f))
      writeFileSync(join(init, Pretrained.stateFile), JSON.stringify({ version: 1, files }))
      const corpus = Toy.writeCorpus(join(dir, "corpus.jsonl"), Toy.records(ps))
      const train = Effect.flip(Sft.train({ init, corpus, outDir: join(dir, "out"), resume: false }, settings({})))
      const tokenizerConfig = readFileSync(join(init, "tokenizer_config.json"))
      appendFileSync(join(init, "tokenizer_config.json"), " ")
      const tokenizerError = yield* train
      assert.strictEqual(tokenizerError._tag, "EngineFailed")
      assert.match(tokenizerError.message, /load tokenizer: .*tokenizer_config\.json changed after training wrote it/)
      writeFileSync(join(init, "tokenizer_config.json"), tokenizerConfig)
      // Same size, one finite weight changed (the low exponent bit of the last float): only the hash can tell.
      const model = readFileSync(join(init, Pretrained.singleFile))
      model[model.length - 1] = model[model.length - 1]! ^ 1
      writeFileSync(join(init, Pretrained.singleFile), model)
      const weightsError = yield* train
      assert.match(weightsError.message, /load weights: .*model\.safetensors changed after training wrote it/)
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, Toy.verifierLayer)))
  )
})

describe("TrainerConfig", () => {
  const issue = (input: unknown): string => {
    try {
      TrainerConfig.decodeSync(input)
    } catch (e) {
      return String(e)
    }
    return "decoded"
  }

  it("defaults decode from an empty object", () => {
    const c = TrainerConfig.decodeSync({})
    assert.strictEqual(c.rl.batchSize % c.rl.groupSize, 0)
    assert.strictEqual(c.sft.lr.decay, "cosine")
    assert.strictEqual(c.checkpoint.onnx, "final")
  })

  it("batch not divisible by the group size fails with the field path", () => {
    const message = issue({ rl: { batchSize: 30, groupSize: 8 } })
    assert.match(message, /batchSize \(30\) must be divisible by groupSize \(8\)/)
    assert.match(message, /\["rl"\]\["batchSize"\]/)
  })

  it("other cross-field and range errors name their paths", () => {
    assert.match(issue({ batching: { buckets: [64, 32] } }), /\["batching"\]\["buckets"\]/)
    assert.match(
      issue({ generation: { maxPromptTokens: 1000, maxNewTokens: 100 }, batching: { buckets: [256] } }),
      /largest bucket \(256\)/
    )
    assert.match(issue({ rl: { groupSize: 1 } }), /\["rl"\]\["groupSize"\]/)
    assert.match(
      issue({ sft: { warmStart: { minRoutes: 3, maxRoutes: 1 } } }),
      /\["sft"\]\["warmStart"\]\["minRoutes"\]/
    )
    assert.match(issue({ runtime: { device: "tpu" } }), /\["runtime"\]\["device"\]/)
  })

  it("round-trips through its encoded form", () => {
    const c = TrainerConfig.decodeSync({ rl: { steps: 7 } })
    assert.deepStrictEqual(TrainerConfig.decodeSync(Schema.encodeSync(TrainerConfig.TrainerConfig)(c)), c)
  })
})
