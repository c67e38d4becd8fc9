/** The README's examples, run as tests so they keep working (imports by package name, as a user writes them). */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import {
  Batches,
  BuiltinTokenizer,
  Export,
  Llama2c,
  Llama2cTokenizer,
  ModelConfig,
  ModelSize,
  Policy,
  Pretrained,
  ReferenceModel,
  Sampling,
  Tokenizer,
  Weights
} from "@realm-lm/lm"
import { readFileSync } from "node:fs"
import { tempDir } from "./support.ts"

const data = SharedData.sharedDataDir()
const named = (name: string) => (data === undefined ? `${name} (${SharedData.missingReason("shared data")})` : name)

// README: "Load, convert and generate"
const storiesExample = (dataDir: string, outDir: string) =>
  Effect.gen(function* () {
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
  Effect.gen(function* () {
    const qwen = yield* Tokenizer.load(qwenDir) // offline: transformers.js never touches the network
    const prompt = yield* qwen.applyChatTemplate([{ role: "user", content: "What is 2+3?" }])
    const ids = qwen.encode(prompt)
    // A from-scratch tokenizer, saved in the same format and loadable by transformers.js.
    const own = BuiltinTokenizer.train(["Tom has 3 apples. 3 + 4 = 7.\n", "Ana has 5 pears."], {
      ...BuiltinTokenizer.defaultTrainConfig,
      vocabSize: 280
    })
    yield* BuiltinTokenizer.save(outDir, own)
    const reloaded = yield* Tokenizer.load(outDir)
    return {
      prompt,
      ids,
      same: reloaded.encode("Tom has 7 apples.").join() === BuiltinTokenizer.encode(own, "Tom has 7 apples.").join()
    }
  })

// README: begin from-scratch
const fromScratch = (workDir: string) =>
  Effect.gen(function* () {
    // A byte-level BPE tokenizer (ids 0 <|endoftext|>, 1 <|im_start|>, 2 <|im_end|> = EOS) and a tiny Llama sized to it.
    const sums = ["3+4=7", "2+5=7", "1+1=2", "4+4=8", "6+3=9", "5+0=5"]
    const tok = BuiltinTokenizer.train(sums, { ...BuiltinTokenizer.defaultTrainConfig, vocabSize: 300 })
    yield* BuiltinTokenizer.save(`${workDir}/tokenizer`, tok)
    const config = yield* ModelConfig.llama({
      vocabSize: tok.tokens.length,
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      maxContext: 64,
      bosTokenId: 0,
      eosTokenIds: [2],
      padTokenId: 0
    })
    const policy = yield* Policy.make({
      config,
      weights: Weights.init(config, Rng.Rng.make(1)),
      tokenizer: yield* Tokenizer.load(`${workDir}/tokenizer`),
      tokenizerDir: `${workDir}/tokenizer`
    })
    // SFT: loss on completion tokens only ("7<|im_end|>" after "3+4=").
    const examples = sums.map((s) => ({
      prompt: [0, ...BuiltinTokenizer.encode(tok, s.slice(0, 4))],
      completion: [...BuiltinTokenizer.encode(tok, s.slice(4)), 2]
    }))
    let sft = { loss: Number.NaN }
    for (let step = 0; step < 150; step++) sft = yield* policy.sftStep(Batches.tokenBatch(examples), { lr: 3e-3 })
    // RL: 8 samples of one prompt (one shared prefill), rewards, one clipped policy-gradient step.
    const prompt = examples[0]!.prompt
    const [group] = yield* policy.generate([{ prompt, samples: 8 }], {
      maxNewTokens: 4,
      sampling: Sampling.pure,
      seed: 7
    })
    const rewards: Array<number> = group!.map((c) => (c.text === "7" ? 1 : 0))
    const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length
    const rollouts = group!.map((c, i) => ({
      prompt,
      completion: c.tokens,
      advantage: rewards[i]! - mean,
      oldLogProbs: c.logProbs
    }))
    const rl = yield* policy.policyStep(Batches.policyBatch(rollouts), { lr: 1e-3 })
    // Scores (teacher forcing) of the same completions under the updated weights, e.g. for the next ratios.
    const scores = yield* policy.score(rollouts)
    // A Hugging Face directory with tokenizer files and onnx/model.onnx (transformers.js runs it).
    yield* policy.save(`${workDir}/model`)
    const greedy = (yield* policy.generate([{ prompt }], { maxNewTokens: 4 }))[0]?.[0]
    return { sftLoss: sft.loss, answer: greedy!.text, rewards, clipFraction: rl.metrics["clip_fraction"], scores }
  })
// README: end

// README: begin load-generate-score-export
const huggingFaceExample = (dataDir: string, workDir: string) =>
  Effect.gen(function* () {
    // Make a Hugging Face directory from llama2.c's stories260K (weights + converted tokenizer).
    const { config, weights } = yield* Llama2c.read(`${dataDir}/stories260K/stories260K.bin`)
    yield* Pretrained.save(`${workDir}/stories`, config, weights)
    yield* Llama2cTokenizer.saveHuggingFace(
      `${workDir}/stories`,
      yield* Llama2cTokenizer.read(`${dataDir}/stories260K/tok512.bin`, config.vocabSize)
    )
    // Load it like any Hugging Face checkpoint (config.json, safetensors, tokenizer.json).
    const policy = yield* Policy.load(`${workDir}/stories`)
    const story = (yield* policy.generate([{ prompt: "Once upon a time" }], {
      maxNewTokens: 40,
      stopTokens: [1]
    }))[0]?.[0]
    const [sampled] = yield* policy.generate([{ prompt: "Once upon a time", samples: 4 }], {
      maxNewTokens: 40,
      sampling: { temperature: 0.8, topK: 40, topP: 0.95 },
      seed: 42,
      stopTokens: [1]
    })
    // Teacher-forced log-probs of the sampled completions (equal to their sampling-time logProbs).
    const prompt = policy.tokenizer!.encode("Once upon a time", { addSpecialTokens: true })
    const scores = yield* policy.score(sampled!.map((c) => ({ prompt, completion: c.tokens })))
    // Export, then let transformers.js' text-generation pipeline run the ONNX model offline.
    yield* policy.save(`${workDir}/export`)
    const piped = yield* Export.transformersJsPipeline(`${workDir}/export`, "Once upon a time", 40)
    return {
      story: story!.text,
      piped,
      sampled: sampled!.map((c) => c.text),
      scores,
      logProbs: sampled!.map((c) => c.logProbs)
    }
  })
// README: end

describe("README examples", () => {
  it("every README code block between markers is verbatim in this file", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8")
    const self = readFileSync(import.meta.filename, "utf8")
    const blocks = [...self.matchAll(/\/\/ README: begin [\w-]+\n([\s\S]*?)\/\/ README: end/g)].map((m) => m[1]!)
    assert.strictEqual(blocks.length, 2)
    for (const block of blocks) assert.include(readme, block)
  })

  it.effect("from scratch: SFT, sampling with log-probs, a policy step, scoring and export", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const out = yield* fromScratch(dir)
      assert.isBelow(out.sftLoss, 0.05)
      assert.strictEqual(out.answer, "7")
      assert.isAbove(out.rewards.filter((r) => r === 1).length, 4)
      assert.strictEqual(out.scores.length, 8)
      assert.isTrue(typeof out.clipFraction === "number")
      assert.isTrue(readFileSync(join(dir, "model", "onnx", "model.onnx")).length > 1000)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.effect.skipIf(data === undefined)(
    named("load a Hugging Face directory, generate, score, export for transformers.js"),
    () =>
      Effect.gen(function* () {
        const out = yield* huggingFaceExample(data as string, tempDir())
        assert.isTrue(String(out.story).startsWith(", there was a little girl named Lily."), out.story)
        assert.strictEqual(out.piped, out.story)
        out.scores.forEach((s, i) => s.forEach((lp, k) => assert.approximately(lp, out.logProbs[i]![k]!, 1e-4)))
        assert.strictEqual(new Set(out.sampled).size, 4)
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.effect.skipIf(data === undefined)(named("load, convert and generate"), () =>
    Effect.gen(function* () {
      const out = yield* storiesExample(data as string, tempDir())
      assert.isTrue(out.greedy.startsWith("Once upon a time, there was a little girl named Lily."), out.greedy)
      assert.isTrue(out.sampled.startsWith("Once upon a time"))
      assert.isTrue(out.logProbs.every((lp) => lp < 0))
      assert.strictEqual(out.parameters, 260_032)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect.skipIf(data === undefined)(named("tokenizers and chat templates"), () =>
    Effect.gen(function* () {
      const out = yield* tokenizerExample(join(data as string, "tokenizers", "qwen2.5"), tempDir())
      assert.strictEqual(
        out.prompt,
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n"
      )
      assert.strictEqual(out.ids[0], 151644)
      assert.isTrue(out.same)
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
