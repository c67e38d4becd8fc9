/**
 * Estimated memory of a training run per model size, from `@realm-lm/lm`'s `ModelSize.memory` (float32 weights,
 * gradients, AdamW moments, activations of a plain reverse-mode graph, KV cache): the RL footprint (training
 * micro-batch + generation cache + optional frozen reference) and the largest micro-batch of 512-token rows that
 * fits in 24 GB of CPU RAM and on an 80 GB GPU. Estimates, not measurements: ORT's arena and temporaries come on top.
 *
 *   node packages/trainer/bench/memory.ts
 */
import { Effect } from "effect"
import { ModelConfig, ModelSize } from "@realm-lm/lm"

const hf = (name: string, h: number, ffn: number, layers: number, heads: number, kv: number, vocab: number, qwen = false) =>
  [name, Effect.runSync(ModelConfig.make({
    architecture: qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM",
    vocabSize: vocab,
    hiddenSize: h,
    intermediateSize: ffn,
    numLayers: layers,
    numHeads: heads,
    numKvHeads: kv,
    headDim: h / heads,
    maxContext: 4096,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    ropeScaling: null,
    tieWordEmbeddings: true,
    qkvBias: qwen,
    oBias: false,
    bosTokenId: null,
    eosTokenIds: [0],
    padTokenId: null
  }))] as const

// Published config.json values (hidden, intermediate, layers, heads, kv heads, vocab).
const models = [
  hf("demo S (Scratch defaults)", 96, 256, 4, 4, 2, 384),
  hf("demo M", 192, 512, 4, 6, 2, 384),
  hf("SmolLM2-135M", 576, 1536, 30, 9, 3, 49152),
  hf("SmolLM2-360M", 960, 2560, 32, 15, 5, 49152),
  hf("Qwen2.5-0.5B", 896, 4864, 24, 14, 2, 151936, true),
  hf("Qwen2.5-1.5B", 1536, 8960, 28, 12, 2, 151936, true)
]

const seq = 512
const genRows = 64
const gib = (b: number) => (b / 2 ** 30 < 0.01 ? (b / 2 ** 30).toFixed(3) : (b / 2 ** 30).toFixed(2))
const footprint = (config: ModelConfig.ModelConfig, rows: number, reference: boolean) => {
  const t = ModelSize.memory(config, { batch: rows, seq })
  const g = ModelSize.memory(config, { batch: genRows, seq })
  return t.training + g.kvCache + (reference ? t.weights : 0)
}
const largest = (config: ModelConfig.ModelConfig, budget: number) => {
  let best = 0
  for (let rows = 1; rows <= 256; rows *= 2) if (footprint(config, rows, true) <= budget) best = rows
  return best === 0 ? "does not fit" : String(best)
}

console.log(`| model | params | weights + grads + AdamW (GiB) | activations 8×${seq} (GiB) | KV cache ${genRows}×${seq} (GiB) | RL total, micro-batch 8, with reference (GiB) | largest micro-batch in 24 GB | in 80 GB |`)
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for (const [name, config] of models) {
  const t = ModelSize.memory(config, { batch: 8, seq })
  const g = ModelSize.memory(config, { batch: genRows, seq })
  console.log(`| ${name} | ${(t.parameters / 1e6).toFixed(2)}M | ${gib(t.weights + t.gradients + t.adamState)} | ${gib(t.activations)} | ${gib(g.kvCache)} | ${gib(footprint(config, 8, true))} | ${largest(config, 24e9)} | ${largest(config, 80e9)} |`)
}
