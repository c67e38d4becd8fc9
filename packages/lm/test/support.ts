/** Shared test helpers: tiny configs and temporary directories. */
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ModelConfig from "../src/ModelConfig.ts"

/** A fresh temporary directory. */
export const tempDir = (prefix = "realm-lm-"): string => mkdtempSync(join(tmpdir(), prefix))

/** A 2-layer Llama-style config small enough for exhaustive checks; override any field. */
export const tinyConfig = (overrides: Partial<ModelConfig.ModelConfig> = {}): ModelConfig.ModelConfig =>
  Effect.runSync(ModelConfig.make({
    architecture: "LlamaForCausalLM",
    vocabSize: 32,
    hiddenSize: 16,
    intermediateSize: 24,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    maxContext: 64,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: null,
    tieWordEmbeddings: false,
    qkvBias: false,
    oBias: false,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: null,
    ...overrides
  }))
