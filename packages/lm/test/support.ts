/** Shared test helpers: tiny configs and temporary directories. */
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Executor } from "@realm-lm/graph"
import type * as Generator from "../src/Generator.ts"
import type * as Llama2c from "../src/Llama2c.ts"
import * as ModelConfig from "../src/ModelConfig.ts"
import type * as Weights from "../src/Weights.ts"

/** The header of llama2.c's stories260K checkpoint as SOURCES.md documents it (260,032 parameters, GQA 8/4). */
export const stories260KHeader: Llama2c.Llama2cHeader = {
  dim: 64,
  hiddenDim: 172,
  nLayers: 5,
  nHeads: 8,
  nKvHeads: 4,
  vocabSize: 512,
  seqLen: 512
}

/** A fresh temporary directory. */
export const tempDir = (prefix = "realm-lm-"): string => mkdtempSync(join(tmpdir(), prefix))

/** A 2-layer Llama-style config small enough for exhaustive checks; override any field. */
export const tinyConfig = (overrides: Partial<ModelConfig.ModelConfig> = {}): ModelConfig.ModelConfig =>
  Effect.runSync(
    ModelConfig.llama({
      vocabSize: 32,
      hiddenSize: 16,
      intermediateSize: 24,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 4,
      maxContext: 64,
      tieWordEmbeddings: false,
      bosTokenId: 1,
      eosTokenIds: [2],
      padTokenId: null,
      ...overrides
    })
  )

/** A Qwen2 config for float64 gradient checks (tied, q/k/v biases, vocabulary 20, width 8, one K/V head); override any field. */
export const tinyQwen2Config = (overrides: Partial<ModelConfig.ModelConfig> = {}): ModelConfig.ModelConfig =>
  tinyConfig({
    architecture: "Qwen2ForCausalLM",
    qkvBias: true,
    tieWordEmbeddings: true,
    vocabSize: 20,
    hiddenSize: 8,
    intermediateSize: 12,
    numHeads: 2,
    numKvHeads: 1,
    headDim: 4,
    ...overrides
  })

/** A config wide enough (vocabulary 24, width 32, 4 heads over 2 K/V heads) for a few SFT steps to visibly lower the loss. */
export const learnableConfig = (): ModelConfig.ModelConfig =>
  tinyConfig({ vocabSize: 24, hiddenSize: 32, intermediateSize: 64, numHeads: 4, numKvHeads: 2, headDim: 8 })

/** A CPU executor whose state holds `weights` by Hugging Face name (wrapped, not copied). */
export const executorWith = (weights: Weights.Weights) =>
  Effect.map(Executor.make({ device: "cpu" }), (exec) => {
    for (const [name, t] of weights) exec.state.setData(name, t.data, t.shape)
    return exec
  })

/** Largest |a − b| / max(1, |b|) over two equally long arrays. */
export const maxRelError = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new RangeError(`maxRelError: lengths ${a.length} and ${b.length} differ`)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)))
  return worst
}

/** The one completion of a single request with one sample. */
export const generateOne = (
  gen: Generator.Generator,
  request: Generator.Request,
  options: Generator.GenerateOptions
): Effect.Effect<Generator.Completion, Generator.GenerateError> =>
  Effect.map(gen.generate([request], options), (out) => out[0]![0]!)

/** The committed fixture directories. */
export const fixtureDir = (name: string): string => join(import.meta.dirname, "fixtures", name)
