/** The README's examples, run as tests so they keep working (imports by package name, as a user writes them). */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { Rng, SharedData } from "@realm-lm/core"
import { BuiltinTokenizer, Llama2c, Llama2cTokenizer, ModelSize, Pretrained, ReferenceModel, Tokenizer } from "@realm-lm/lm"
import { tempDir } from "./support.ts"

const data = SharedData.sharedDataDir()
const named = (name: string) => (data === undefined ? `${name} (${SharedData.missingReason("shared data")})` : name)

// README: "Load, convert and generate"
const storiesExample = (dataDir: string, outDir: string) =>
  Effect.gen(function*() {
    // A llama2.c checkpoint becomes a Hugging Face directory (config.json + model.safetensors) ...
    const imported = yield* Llama2c.read(join(dataDir, "stories260K", "stories260K.bin"))
    yield* Pretrained.save(outDir, imported.config, imported.weights)
    // ... which loads like any Hugging Face model directory.
    const { config, weights } = yield* Pretrained.load(outDir)
    const parameters = ModelSize.parameterCount(config) // 260032
    const tok = yield* Llama2cTokenizer.read(join(dataDir, "stories260K", "tok512.bin"), config.vocabSize)
    const model = ReferenceModel.make(config, weights)
    const prompt = Llama2cTokenizer.encode(tok, "Once upon a time") // [1, 403, 407, 261, 378]
    const greedy = ReferenceModel.generate(model, prompt, { maxNewTokens: 30, stopTokens: [Llama2cTokenizer.bos] })
    const sampled = ReferenceModel.generate(model, prompt, {
      maxNewTokens: 30,
      sampling: { temperature: 0.8, topK: 40, topP: 0.9 },
      rng: Rng.Rng.make(42, "readme"),
      stopTokens: [Llama2cTokenizer.bos]
    })
    return {
      parameters,
      greedy: Llama2cTokenizer.decode(tok, [...prompt, ...greedy.tokens]),
      sampled: Llama2cTokenizer.decode(tok, [...prompt, ...sampled.tokens]),
      logProbs: greedy.logProbs // per generated token, under the model's full distribution
    }
  })

// README: "Tokenizers and chat templates"
const tokenizerExample = (qwenDir: string, outDir: string) =>
  Effect.gen(function*() {
    const qwen = yield* Tokenizer.load(qwenDir) // offline: transformers.js never touches the network
    const prompt = yield* qwen.applyChatTemplate([{ role: "user", content: "What is 2+3?" }])
    const ids = qwen.encode(prompt)
    // A from-scratch tokenizer, saved in the same format and loadable by transformers.js.
    const own = BuiltinTokenizer.train(["Tom has 3 apples. 3 + 4 = 7.\n", "Ana has 5 pears."], { ...BuiltinTokenizer.defaultTrainConfig, vocabSize: 280 })
    yield* BuiltinTokenizer.save(outDir, own)
    const reloaded = yield* Tokenizer.load(outDir)
    return { prompt, ids, same: reloaded.encode("Tom has 7 apples.").join() === BuiltinTokenizer.encode(own, "Tom has 7 apples.").join() }
  })

describe("README examples", () => {
  it.effect.skipIf(data === undefined)(named("load, convert and generate"), () =>
    Effect.gen(function*() {
      const out = yield* storiesExample(data as string, tempDir())
      assert.isTrue(out.greedy.startsWith("Once upon a time, there was a little girl named Lily."), out.greedy)
      assert.isTrue(out.sampled.startsWith("Once upon a time"))
      assert.isTrue(out.logProbs.every((lp) => lp < 0))
      assert.strictEqual(out.parameters, 260_032)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect.skipIf(data === undefined)(named("tokenizers and chat templates"), () =>
    Effect.gen(function*() {
      const out = yield* tokenizerExample(join(data as string, "tokenizers", "qwen2.5"), tempDir())
      assert.strictEqual(out.prompt, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n")
      assert.strictEqual(out.ids[0], 151644)
      assert.isTrue(out.same)
    }).pipe(Effect.provide(NodeServices.layer)))
})
