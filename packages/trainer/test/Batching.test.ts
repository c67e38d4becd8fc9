import { assert, describe, it } from "vitest"
import { bucketFor, bucketize, makeBatch } from "../src/Batching.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"

describe("Batching", () => {
  it("shifts targets by one and masks the loss to completion tokens only", () => {
    const b = makeBatch([{ prompt: [1, 2, 3], completion: [4, 5] }], 6, 0)
    assert.deepStrictEqual([...b.inputs], [1, 2, 3, 4, 0, 0])
    assert.deepStrictEqual([...b.targets], [2, 3, 4, 5, 0, 0])
    assert.deepStrictEqual([...b.lossMask], [0, 0, 1, 1, 0, 0])
    assert.strictEqual(b.lossTokens, 2)
  })

  it("truncates the prompt from the left, keeping the completion", () => {
    const b = makeBatch([{ prompt: [1, 2, 3, 4, 5], completion: [6, 7] }], 4, 0)
    assert.deepStrictEqual([...b.inputs], [3, 4, 5, 6])
    assert.deepStrictEqual([...b.targets], [4, 5, 6, 7])
    assert.deepStrictEqual([...b.lossMask], [0, 0, 1, 1])
  })

  it("assigns examples to the smallest bucket that fits and reports ones that fit none", () => {
    assert.strictEqual(bucketFor(9, [32, 8, 16]), 16)
    const { byBucket, tooLong } = bucketize(
      [
        { prompt: [1, 2], completion: [3] },
        { prompt: Array.from({ length: 20 }, () => 1), completion: [2] },
        { prompt: Array.from({ length: 40 }, () => 1), completion: [2] }
      ],
      [8, 32]
    )
    assert.deepStrictEqual(
      [...byBucket.entries()],
      [
        [8, [0]],
        [32, [1]]
      ]
    )
    assert.deepStrictEqual(tooLong, [2])
  })
})

describe("the default micro-batch token budget follows the vocabulary", () => {
  const defaults = TrainerConfig.decodeSync({}).batching
  const gib = 1024 * 1024 * 1024

  it("is left unset by default, with a 1 GiB logits budget (vocab × tokens × 4 bytes × 3)", () => {
    assert.isUndefined(defaults.microBatchTokens)
    assert.strictEqual(defaults.logitsMemoryMB, 1024)
    assert.strictEqual(TrainerConfig.logitsBytes(1000, 10), 1000 * 10 * 4 * 3)
  })

  it("keeps 4096 tokens for small vocabularies and lowers it for large ones to what fits the budget", () => {
    assert.strictEqual(TrainerConfig.microBatchTokensFor(defaults, 320), 4096)
    assert.strictEqual(TrainerConfig.microBatchTokensFor(defaults, 21_845), 4096)
    assert.strictEqual(TrainerConfig.microBatchTokensFor(defaults, 32_000), 2752)
    // Llama 3.2 (128,256 ids): 4096 tokens would be 6.3 GB of logits, gradient and softmax; 640 tokens is 0.98 GB.
    assert.strictEqual(TrainerConfig.microBatchTokensFor(defaults, 128_256), 640)
    assert.strictEqual(TrainerConfig.microBatchTokensFor(defaults, 151_936), 576) // Qwen2.5
    for (const vocab of [32_000, 49_152, 128_256, 151_936, 262_144]) {
      const tokens = TrainerConfig.microBatchTokensFor(defaults, vocab)
      assert.strictEqual(tokens % 64, 0)
      assert.isAtMost(TrainerConfig.logitsBytes(vocab, tokens), gib)
      assert.isAbove(TrainerConfig.logitsBytes(vocab, tokens + 64), gib)
    }
    assert.strictEqual(TrainerConfig.microBatchTokensFor(defaults, 10_000_000), 64)
  })

  it("scales with logitsMemoryMB, and an explicit microBatchTokens wins", () => {
    assert.strictEqual(TrainerConfig.microBatchTokensFor({ logitsMemoryMB: 4096 }, 128_256), 2752)
    assert.strictEqual(
      TrainerConfig.microBatchTokensFor({ logitsMemoryMB: 1024, microBatchTokens: 4096 }, 128_256),
      4096
    )
    const explicit = TrainerConfig.decodeSync({ batching: { microBatchTokens: 1000 } }).batching
    assert.strictEqual(TrainerConfig.microBatchTokensFor(explicit, 128_256), 1000)
  })
})

describe("memory.optimizer", () => {
  it("is graph by default, host when set, and host with runtime.device webgpu is refused at the field path", () => {
    assert.strictEqual(TrainerConfig.decodeSync({}).memory.optimizer, "graph")
    assert.strictEqual(TrainerConfig.decodeSync({ memory: { optimizer: "host" } }).memory.optimizer, "host")
    assert.throws(() => TrainerConfig.decodeSync({ memory: { optimizer: "adam" } }), /optimizer/)
    const both = () => TrainerConfig.decodeSync({ runtime: { device: "webgpu" }, memory: { optimizer: "host" } })
    assert.throws(both, /leave memory.optimizer at "graph" on WebGPU/)
    assert.throws(both, /at \["memory"\]\["optimizer"\]/)
  })
})

describe("memory.recompute", () => {
  it("defaults to false; true or a list of 0-based layer indices decode as given", () => {
    assert.isFalse(TrainerConfig.decodeSync({}).memory.recompute)
    assert.isTrue(TrainerConfig.decodeSync({ memory: { recompute: true } }).memory.recompute)
    assert.deepStrictEqual(TrainerConfig.decodeSync({ memory: { recompute: [0, 3] } }).memory.recompute, [0, 3])
  })
  it("rejects negative, fractional or repeated indices and other values, at the field path", () => {
    for (const bad of [[-1], [1.5], [2, 2], "all", 3]) {
      assert.throws(
        () => TrainerConfig.decodeSync({ memory: { recompute: bad } }),
        /recompute/,
        undefined,
        JSON.stringify(bad)
      )
    }
  })
})

describe("memory.vocabChunk: the chunked LM head and the budget it leaves", () => {
  const chunkOf = (input: unknown, vocab: number) =>
    TrainerConfig.vocabChunkFor(TrainerConfig.decodeSync({ memory: { vocabChunk: input } }).memory, vocab)

  it("auto (the default) chunks by 8192 above 16,384 ids and leaves small vocabularies whole", () => {
    assert.strictEqual(TrainerConfig.decodeSync({}).memory.vocabChunk, "auto")
    const auto = TrainerConfig.decodeSync({}).memory
    assert.isUndefined(TrainerConfig.vocabChunkFor(auto, 384))
    assert.isUndefined(TrainerConfig.vocabChunkFor(auto, 16_384))
    assert.strictEqual(TrainerConfig.vocabChunkFor(auto, 16_385), 8192)
    assert.strictEqual(TrainerConfig.vocabChunkFor(auto, 49_152), 8192) // SmolLM2
    assert.strictEqual(TrainerConfig.vocabChunkFor(auto, 151_936), 8192) // Qwen2.5
  })

  it("off keeps the full logits; a number is used as given, and at or above the vocabulary it means off", () => {
    assert.isUndefined(chunkOf("off", 151_936))
    assert.strictEqual(chunkOf(4096, 49_152), 4096)
    assert.strictEqual(chunkOf(64, 100), 64)
    assert.isUndefined(chunkOf(49_152, 49_152))
  })

  it("rejects anything else with the field path and the accepted values", () => {
    for (const bad of [0, 63, 100.5, "on", -8192]) {
      assert.throws(
        () => TrainerConfig.decodeSync({ memory: { vocabChunk: bad } }),
        /vocabChunk/,
        undefined,
        String(bad)
      )
    }
    assert.throws(() => TrainerConfig.decodeSync({ memory: { vocabChunk: 32 } }), /at least 64 vocabulary rows/)
  })

  it("does not enlarge the default micro-batch: the budget counts the full vocabulary whether or not the head is chunked", () => {
    const config = TrainerConfig.decodeSync({})
    assert.strictEqual(TrainerConfig.vocabChunkFor(config.memory, 151_936), 8192)
    assert.strictEqual(TrainerConfig.microBatchTokensFor(config.batching, 151_936), 576)
  })
})

describe("memory.headWindow: the RL update's LM head at the completions", () => {
  it("auto (the default) is maxNewTokens rounded up to a power of two; off is every position", () => {
    const auto = TrainerConfig.decodeSync({}).memory
    assert.strictEqual(auto.headWindow, "auto")
    assert.strictEqual(TrainerConfig.headWindowFor(auto, 32), 32)
    assert.strictEqual(TrainerConfig.headWindowFor(auto, 33), 64)
    assert.strictEqual(TrainerConfig.headWindowFor(auto, 160), 256)
    assert.strictEqual(TrainerConfig.headWindowFor(auto, 1), 1)
    const off = TrainerConfig.decodeSync({ memory: { headWindow: "off" } }).memory
    assert.isUndefined(TrainerConfig.headWindowFor(off, 32))
  })

  it("rejects anything else at its field", () => {
    for (const bad of ["on", 32, true]) {
      assert.throws(
        () => TrainerConfig.decodeSync({ memory: { headWindow: bad } }),
        /headWindow/,
        undefined,
        String(bad)
      )
    }
  })
})
