import { describe, expect, it } from "vitest"
import { bucketFor, bucketize, makeBatch } from "../src/Batching.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"

describe("Batching", () => {
  it("shifts targets by one and masks the loss to completion tokens only", () => {
    const b = makeBatch([{ prompt: [1, 2, 3], completion: [4, 5] }], 6, 0)
    expect([...b.inputs]).toEqual([1, 2, 3, 4, 0, 0])
    expect([...b.targets]).toEqual([2, 3, 4, 5, 0, 0])
    expect([...b.lossMask]).toEqual([0, 0, 1, 1, 0, 0])
    expect(b.lossTokens).toBe(2)
  })

  it("truncates the prompt from the left, keeping the completion", () => {
    const b = makeBatch([{ prompt: [1, 2, 3, 4, 5], completion: [6, 7] }], 4, 0)
    expect([...b.inputs]).toEqual([3, 4, 5, 6])
    expect([...b.targets]).toEqual([4, 5, 6, 7])
    expect([...b.lossMask]).toEqual([0, 0, 1, 1])
  })

  it("assigns examples to the smallest bucket that fits and reports ones that fit none", () => {
    expect(bucketFor(9, [32, 8, 16])).toBe(16)
    const { byBucket, tooLong } = bucketize(
      [
        { prompt: [1, 2], completion: [3] },
        { prompt: Array.from({ length: 20 }, () => 1), completion: [2] },
        { prompt: Array.from({ length: 40 }, () => 1), completion: [2] }
      ],
      [8, 32]
    )
    expect([...byBucket.entries()]).toEqual([
      [8, [0]],
      [32, [1]]
    ])
    expect(tooLong).toEqual([2])
  })
})

describe("the default micro-batch token budget follows the vocabulary", () => {
  const defaults = TrainerConfig.decodeSync({}).batching
  const gib = 1024 * 1024 * 1024

  it("is left unset by default, with a 1 GiB logits budget (vocab × tokens × 4 bytes × 3)", () => {
    expect(defaults.microBatchTokens).toBeUndefined()
    expect(defaults.logitsMemoryMB).toBe(1024)
    expect(TrainerConfig.logitsBytes(1000, 10)).toBe(1000 * 10 * 4 * 3)
  })

  it("keeps 4096 tokens for small vocabularies and lowers it for large ones to what fits the budget", () => {
    expect(TrainerConfig.microBatchTokensFor(defaults, 320)).toBe(4096)
    expect(TrainerConfig.microBatchTokensFor(defaults, 21_845)).toBe(4096)
    expect(TrainerConfig.microBatchTokensFor(defaults, 32_000)).toBe(2752)
    // Llama 3.2 (128,256 ids): 4096 tokens would be 6.3 GB of logits, gradient and softmax; 640 tokens is 0.98 GB.
    expect(TrainerConfig.microBatchTokensFor(defaults, 128_256)).toBe(640)
    expect(TrainerConfig.microBatchTokensFor(defaults, 151_936)).toBe(576) // Qwen2.5
    for (const vocab of [32_000, 49_152, 128_256, 151_936, 262_144]) {
      const tokens = TrainerConfig.microBatchTokensFor(defaults, vocab)
      expect(tokens % 64).toBe(0)
      expect(TrainerConfig.logitsBytes(vocab, tokens)).toBeLessThanOrEqual(gib)
      expect(TrainerConfig.logitsBytes(vocab, tokens + 64)).toBeGreaterThan(gib)
    }
    expect(TrainerConfig.microBatchTokensFor(defaults, 10_000_000)).toBe(64)
  })

  it("scales with logitsMemoryMB, and an explicit microBatchTokens wins", () => {
    expect(TrainerConfig.microBatchTokensFor({ logitsMemoryMB: 4096 }, 128_256)).toBe(2752)
    expect(TrainerConfig.microBatchTokensFor({ logitsMemoryMB: 1024, microBatchTokens: 4096 }, 128_256)).toBe(4096)
    const explicit = TrainerConfig.decodeSync({ batching: { microBatchTokens: 1000 } }).batching
    expect(TrainerConfig.microBatchTokensFor(explicit, 128_256)).toBe(1000)
  })
})

describe("memory.recompute", () => {
  it("defaults to false; true or a list of 0-based layer indices decode as given", () => {
    expect(TrainerConfig.decodeSync({}).memory.recompute).toBe(false)
    expect(TrainerConfig.decodeSync({ memory: { recompute: true } }).memory.recompute).toBe(true)
    expect(TrainerConfig.decodeSync({ memory: { recompute: [0, 3] } }).memory.recompute).toEqual([0, 3])
  })
  it("rejects negative, fractional or repeated indices and other values, at the field path", () => {
    for (const bad of [[-1], [1.5], [2, 2], "all", 3]) {
      expect(() => TrainerConfig.decodeSync({ memory: { recompute: bad } }), JSON.stringify(bad)).toThrow(/recompute/)
    }
  })
})

describe("memory.vocabChunk: the chunked LM head and the budget it leaves", () => {
  const chunkOf = (input: unknown, vocab: number) =>
    TrainerConfig.vocabChunkFor(TrainerConfig.decodeSync({ memory: { vocabChunk: input } }).memory, vocab)

  it("auto (the default) chunks by 8192 above 16,384 ids and leaves small vocabularies whole", () => {
    expect(TrainerConfig.decodeSync({}).memory.vocabChunk).toBe("auto")
    const auto = TrainerConfig.decodeSync({}).memory
    expect(TrainerConfig.vocabChunkFor(auto, 384)).toBeUndefined()
    expect(TrainerConfig.vocabChunkFor(auto, 16_384)).toBeUndefined()
    expect(TrainerConfig.vocabChunkFor(auto, 16_385)).toBe(8192)
    expect(TrainerConfig.vocabChunkFor(auto, 49_152)).toBe(8192) // SmolLM2
    expect(TrainerConfig.vocabChunkFor(auto, 151_936)).toBe(8192) // Qwen2.5
  })

  it("off keeps the full logits; a number is used as given, and at or above the vocabulary it means off", () => {
    expect(chunkOf("off", 151_936)).toBeUndefined()
    expect(chunkOf(4096, 49_152)).toBe(4096)
    expect(chunkOf(64, 100)).toBe(64)
    expect(chunkOf(49_152, 49_152)).toBeUndefined()
  })

  it("rejects anything else with the field path and the accepted values", () => {
    for (const bad of [0, 63, 100.5, "on", -8192]) {
      expect(() => TrainerConfig.decodeSync({ memory: { vocabChunk: bad } }), String(bad)).toThrow(/vocabChunk/)
    }
    expect(() => TrainerConfig.decodeSync({ memory: { vocabChunk: 32 } })).toThrow(/at least 64 vocabulary rows/)
  })

  it("does not enlarge the default micro-batch: the budget counts the full vocabulary whether or not the head is chunked", () => {
    const config = TrainerConfig.decodeSync({})
    expect(TrainerConfig.vocabChunkFor(config.memory, 151_936)).toBe(8192)
    expect(TrainerConfig.microBatchTokensFor(config.batching, 151_936)).toBe(576)
  })
})
