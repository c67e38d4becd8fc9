/**
 * Export to a Hugging Face directory that transformers.js runs offline: its greedy tokens equal our engine's on the
 * committed fixtures (left-padded batch; one export with external data), `pipeline('text-generation', dir)` on a
 * from-scratch model with the built-in tokenizer, and stories260K with its converted tokenizer.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import * as BuiltinTokenizer from "../src/BuiltinTokenizer.ts"
import * as Export from "../src/Export.ts"
import * as Generator from "../src/Generator.ts"
import * as Llama2c from "../src/Llama2c.ts"
import * as Llama2cTokenizer from "../src/Llama2cTokenizer.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as Tokenizer from "../src/Tokenizer.ts"
import * as Weights from "../src/Weights.ts"
import { executorWith, fixtureDir, generateOne, tempDir, tinyConfig } from "./support.ts"

const stories = SharedData.sharedDataFile("stories260K", "stories260K.bin")

describe("Export for transformers.js", () => {
  for (const [name, externalDataBytes] of [
    ["tiny-llama", undefined],
    ["tiny-qwen2", 1]
  ] as const) {
    it.effect(
      `${name}${externalDataBytes === undefined ? "" : " (external data)"}: transformers.js greedy equals the engine's on a left-padded batch`,
      () =>
        Effect.gen(function* () {
          const { config, weights } = yield* Pretrained.load(fixtureDir(name))
          const dir = tempDir()
          yield* Export.save(dir, config, weights, externalDataBytes === undefined ? {} : { externalDataBytes })
          const hf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>
          assert.strictEqual(existsSync(join(dir, "onnx", "model.onnx_data")), externalDataBytes !== undefined)
          assert.strictEqual(hf["transformers.js_config"] !== undefined, externalDataBytes !== undefined)
          assert.deepStrictEqual(JSON.parse(readFileSync(join(dir, "generation_config.json"), "utf8")), {
            bos_token_id: 1,
            eos_token_id: 2,
            do_sample: false
          })
          const prompts = [
            [1, 5, 9],
            [1, 7, 3, 30, 12, 12, 5]
          ]
          const gen = yield* Generator.make(yield* executorWith(weights), config)
          const ours = yield* gen.generate(
            prompts.map((prompt) => ({ prompt })),
            { maxNewTokens: 24, stopTokens: [] }
          )
          const theirs = yield* Export.transformersJsGreedy(dir, prompts, 24)
          assert.deepStrictEqual(
            theirs,
            ours.map((g) => g[0]?.tokens)
          )
        }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
    )
  }

  it.effect(
    "pipeline('text-generation', dir) on a from-scratch model with the built-in tokenizer writes the engine's text",
    () =>
      Effect.gen(function* () {
        const tokDir = tempDir()
        const tok = BuiltinTokenizer.train(["Tom has 3 apples. 3 + 4 = 7.\n", "Ana has 5 pears. 5 + 1 = 6.\n"], {
          ...BuiltinTokenizer.defaultTrainConfig,
          vocabSize: 290
        })
        yield* BuiltinTokenizer.save(tokDir, tok)
        const config = tinyConfig({ vocabSize: tok.tokens.length, bosTokenId: 0, eosTokenIds: [2], maxContext: 64 })
        const weights = Weights.init(config, Rng.Rng.make("export-pipeline"), { std: 0.4 })
        const dir = tempDir()
        yield* Export.save(dir, config, weights, { tokenizerDir: tokDir })
        const text = "Tom has 3 apples."
        const prompt = BuiltinTokenizer.encode(tok, text)
        const gen = yield* Generator.make(yield* executorWith(weights), config)
        const c = yield* generateOne(gen, { prompt }, { maxNewTokens: 16, stopTokens: [] })
        const piped = yield* Export.transformersJsPipeline(dir, text, 16)
        assert.strictEqual(piped, BuiltinTokenizer.decode(tok, c.tokens, { skipSpecialTokens: true }))
        assert.isAbove(piped.length, 0)
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.effect.skipIf(stories === undefined)(
    `stories260K with its converted tokenizer: transformers.js and the engine agree for 200 tokens${stories === undefined ? ` (${SharedData.missingReason("stories260K")})` : ""}`,
    () =>
      Effect.gen(function* () {
        const { config, weights } = yield* Llama2c.read(stories as string)
        const tok = yield* Llama2cTokenizer.read(join(stories as string, "..", "tok512.bin"), config.vocabSize)
        const tokDir = tempDir()
        yield* Llama2cTokenizer.saveHuggingFace(tokDir, tok)
        const dir = tempDir()
        yield* Export.save(dir, config, weights, { tokenizerDir: tokDir })
        const prompt = Llama2cTokenizer.encode(tok, "Once upon a time")
        const gen = yield* Generator.make(yield* executorWith(weights), config)
        const c = yield* generateOne(gen, { prompt }, { maxNewTokens: 200, stopTokens: [] })
        const [theirs] = (yield* Export.transformersJsGreedy(dir, [prompt], 200)) as [Array<number>]
        assert.deepStrictEqual(theirs, c.tokens.slice(0, theirs.length))
        assert.isAtLeast(theirs.length, 100)
        const piped = yield* Export.transformersJsPipeline(dir, "Once upon a time", 40)
        const hfTok = yield* Tokenizer.load(dir)
        assert.strictEqual(piped, hfTok.decode(c.tokens.slice(0, 40), { skipSpecialTokens: true }))
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})
