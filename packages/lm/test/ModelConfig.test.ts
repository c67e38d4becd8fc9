import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as ModelSize from "../src/ModelSize.ts"
import * as Weights from "../src/Weights.ts"

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "configs", `${name}.json`), "utf8")) as Record<
    string,
    unknown
  >

const parse = (json: unknown, options?: ModelConfig.FromHfOptions) => Effect.runSync(ModelConfig.fromHf(json, options))
const parseError = (json: unknown, options?: ModelConfig.FromHfOptions) =>
  Effect.runSync(Effect.flip(ModelConfig.fromHf(json, options)))

// Published parameter totals (safetensors metadata on the Hugging Face Hub) for each fixture config.
const published: ReadonlyArray<readonly [string, number, ModelConfig.FromHfOptions]> = [
  ["SmolLM2-135M", 134_515_008, {}],
  ["SmolLM2-360M", 361_821_120, {}],
  ["Qwen2.5-0.5B", 494_032_768, {}],
  ["Qwen2.5-1.5B", 1_543_714_304, {}],
  ["TinyLlama-1.1B-Chat-v1.0", 1_100_048_384, {}],
  ["Llama-3.2-1B", 1_235_814_400, {}],
  ["Mistral-7B-v0.1", 7_241_732_096, { maxContext: 4096 }]
]

describe("ModelConfig.fromHf", () => {
  it("reads SmolLM2 (Llama, tied, GQA 9/3, explicit head_dim)", () => {
    const c = parse(fixture("SmolLM2-135M"))
    assert.strictEqual(c.architecture, "LlamaForCausalLM")
    assert.deepStrictEqual(
      [c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.numLayers, c.vocabSize, c.maxContext],
      [576, 9, 3, 64, 30, 49152, 8192]
    )
    assert.strictEqual(c.ropeTheta, 100000)
    assert.strictEqual(c.rmsNormEps, 1e-5)
    assert.isTrue(c.tieWordEmbeddings)
    assert.isFalse(c.qkvBias)
    assert.deepStrictEqual(c.eosTokenIds, [0])
  })

  it("reads Qwen2.5 with q/k/v biases only, and ignores an inactive sliding window", () => {
    const c = parse(fixture("Qwen2.5-0.5B"))
    assert.strictEqual(c.architecture, "Qwen2ForCausalLM")
    assert.isTrue(c.qkvBias)
    assert.isFalse(c.oBias)
    assert.strictEqual(c.rmsNormEps, 1e-6)
    assert.strictEqual(c.ropeTheta, 1e6)
    const names = Weights.spec(c).map((p) => p.name)
    assert.include(names, "model.layers.0.self_attn.q_proj.bias")
    assert.notInclude(names, "model.layers.0.self_attn.o_proj.bias")
    assert.notInclude(names, "lm_head.weight")
  })

  it("reads TinyLlama with an untied head and Llama 3.2 with llama3 rope scaling", () => {
    const tiny = parse(fixture("TinyLlama-1.1B-Chat-v1.0"))
    assert.isFalse(tiny.tieWordEmbeddings)
    assert.include(
      Weights.spec(tiny).map((p) => p.name),
      "lm_head.weight"
    )
    const llama = parse(fixture("Llama-3.2-1B"))
    assert.deepStrictEqual(llama.ropeScaling, {
      type: "llama3",
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192
    })
  })

  it("parameterCount matches the published totals of seven real checkpoints, and the sum over Weights.spec", () => {
    for (const [name, total, options] of published) {
      const c = parse(fixture(name), options)
      assert.strictEqual(ModelSize.parameterCount(c), total, name)
      const specTotal = Weights.spec(c).reduce((n, p) => n + Weights.numel(p.shape), 0)
      assert.strictEqual(specTotal, total, `${name} spec`)
    }
  })

  it("Mistral's 4096-token sliding window is a typed error at 32k context and accepted when the context is capped", () => {
    const error = parseError(fixture("Mistral-7B-v0.1"))
    assert.strictEqual(error._tag, "UnsupportedModel")
    assert.strictEqual((error as ModelConfig.UnsupportedModel).field, "sliding_window")
    assert.include(error.message, "maxContext <= 4096")
    const ok = parse(fixture("Mistral-7B-v0.1"), { maxContext: 4096 })
    assert.strictEqual(ok.maxContext, 4096)
    assert.isFalse(ok.qkvBias)
    const nullWindow = parse({ ...fixture("Mistral-7B-v0.1"), sliding_window: null })
    assert.strictEqual(nullWindow.maxContext, 32768)
  })

  it("an active Qwen2 sliding window below the context is rejected", () => {
    const error = parseError({ ...fixture("Qwen2.5-0.5B"), use_sliding_window: true, sliding_window: 4096 })
    assert.strictEqual(error._tag, "UnsupportedModel")
    assert.strictEqual((error as ModelConfig.UnsupportedModel).field, "sliding_window")
  })

  it("names the field for unsupported model types and options", () => {
    const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
      [{ ...fixture("SmolLM2-135M"), architectures: ["GPT2LMHeadModel"], model_type: "gpt2" }, "architectures[0]"],
      [{ ...fixture("SmolLM2-135M"), architectures: undefined, model_type: "gemma" }, "model_type"],
      [{ ...fixture("SmolLM2-135M"), hidden_act: "gelu" }, "hidden_act"],
      [{ ...fixture("SmolLM2-135M"), mlp_bias: true }, "mlp_bias"],
      [{ ...fixture("SmolLM2-135M"), rope_scaling: { rope_type: "yarn", factor: 4 } }, "rope_scaling.rope_type"],
      [{ ...fixture("SmolLM2-135M"), rope_scaling: { type: "dynamic", factor: 2 } }, "rope_scaling.type"],
      [{ ...fixture("SmolLM2-135M"), quantization_config: { quant_method: "gptq" } }, "quantization_config"]
    ]
    for (const [json, field] of cases) {
      const error = parseError(json)
      assert.strictEqual(error._tag, "UnsupportedModel", field)
      assert.strictEqual((error as ModelConfig.UnsupportedModel).field, field)
      assert.include(error.message, field)
    }
  })

  it("names the field for missing, malformed and inconsistent values", () => {
    const { hidden_size: _drop, ...noHidden } = fixture("SmolLM2-135M")
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [noHidden, "hidden_size"],
      [{ ...fixture("SmolLM2-135M"), vocab_size: "49152" }, "vocab_size"],
      [{ ...fixture("SmolLM2-135M"), num_key_value_heads: 2 }, "num_key_value_heads"],
      [{ ...fixture("SmolLM2-135M"), model_type: "qwen2" }, "model_type"],
      [
        { ...fixture("SmolLM2-135M"), rope_scaling: { rope_type: "llama3", factor: 8 } },
        "rope_scaling.low_freq_factor"
      ],
      [{ ...fixture("SmolLM2-135M"), head_dim: 63, num_attention_heads: 9 }, "head_dim"],
      [{ ...fixture("SmolLM2-135M"), eos_token_id: [0, "x"] }, "eos_token_id"],
      [[1, 2, 3], "(root)"]
    ]
    for (const [json, field] of cases) {
      const error = parseError(json)
      assert.strictEqual(error._tag, "InvalidModelConfig", field)
      assert.strictEqual((error as ModelConfig.InvalidModelConfig).field, field)
    }
    const capped = parseError(fixture("SmolLM2-135M"), { maxContext: 9000 })
    assert.strictEqual((capped as ModelConfig.InvalidModelConfig).field, "max_position_embeddings")
  })

  it("a context beyond the engine's int32 positions is refused, from config.json and from code", () => {
    const fromJson = parseError({ ...fixture("SmolLM2-135M"), max_position_embeddings: 2 ** 31 })
    assert.strictEqual(fromJson._tag, "UnsupportedModel")
    assert.strictEqual((fromJson as ModelConfig.UnsupportedModel).field, "max_position_embeddings")
    const base = parse(fixture("SmolLM2-135M"))
    const fromCode = Effect.runSync(
      Effect.flip(ModelConfig.make({ ...base, maxContext: ModelConfig.maxSupportedContext + 1 }))
    )
    assert.strictEqual(fromCode.field, "max_position_embeddings")
    assert.strictEqual(
      Effect.runSync(ModelConfig.make({ ...base, maxContext: ModelConfig.maxSupportedContext })).maxContext,
      2 ** 31 - 1
    )
  })

  it("llama fills Llama's from-scratch defaults under the given sizes; a default given is kept; errors as make", () => {
    // SmolLM2-135M's sizes and token ids, with every default left out (its rope_theta is 100000, the default 10000).
    const smol = parse(fixture("SmolLM2-135M"))
    const sizes = Object.fromEntries(
      Object.entries(smol).filter(([key]) => !Object.hasOwn(ModelConfig.llamaDefaults, key))
    ) as ModelConfig.LlamaFields
    const made = Effect.runSync(ModelConfig.llama(sizes))
    assert.deepStrictEqual(made, { ...smol, ...ModelConfig.llamaDefaults })
    assert.strictEqual(made.ropeTheta, 10000)
    assert.strictEqual(Effect.runSync(ModelConfig.llama({ ...sizes, ropeTheta: smol.ropeTheta })).ropeTheta, 100000)
    assert.strictEqual(Effect.runSync(Effect.flip(ModelConfig.llama({ ...sizes, headDim: 3 }))).field, "head_dim")
  })

  it("accepts transformers v5 rope_parameters and Llama attention_bias (biases on q, k, v and o)", () => {
    const { rope_theta: _t, rope_scaling: _s, ...base } = fixture("Llama-3.2-1B")
    const c = parse({
      ...base,
      rope_parameters: {
        rope_type: "llama3",
        rope_theta: 500000,
        factor: 32,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192
      }
    })
    assert.strictEqual(c.ropeTheta, 500000)
    assert.strictEqual(c.ropeScaling?.type, "llama3")
    const biased = parse({ ...fixture("SmolLM2-135M"), attention_bias: true })
    assert.isTrue(biased.qkvBias && biased.oBias)
    assert.include(
      Weights.spec(biased).map((p) => p.name),
      "model.layers.29.self_attn.o_proj.bias"
    )
  })

  it("toHf round-trips through fromHf", () => {
    for (const [name, , options] of published) {
      const c = parse(fixture(name), options)
      assert.deepStrictEqual(parse(ModelConfig.toHf(c)), c, name)
    }
  })

  it("make rejects inconsistent hand-built configs naming the Hugging Face field", () => {
    const c = parse(fixture("SmolLM2-135M"))
    const error = Effect.runSync(Effect.flip(ModelConfig.make({ ...c, numKvHeads: 4 })))
    assert.strictEqual(error.field, "num_key_value_heads")
    const bias = Effect.runSync(Effect.flip(ModelConfig.make({ ...c, qkvBias: true, oBias: false })))
    assert.strictEqual(bias.field, "attention_bias")
  })
})

describe("ModelSize.memory", () => {
  it("counts weights, AdamW state and KV cache exactly and activations as the documented sum", () => {
    const c = parse(fixture("SmolLM2-135M"))
    const m = ModelSize.memory(c, { batch: 2, seq: 128 })
    assert.strictEqual(m.weights, 4 * 134_515_008)
    assert.strictEqual(m.adamState, 8 * 134_515_008)
    assert.strictEqual(m.kvCache, 4 * 2 * 30 * 2 * 128 * 3 * 64)
    assert.strictEqual(m.training, m.weights + m.gradients + m.adamState + m.activations)
    // Activations grow linearly in batch and super-linearly in sequence length (the seq² attention maps).
    const m2 = ModelSize.memory(c, { batch: 4, seq: 128 })
    assert.strictEqual(m2.activations, 2 * m.activations)
    const m3 = ModelSize.memory(c, { batch: 2, seq: 256 })
    assert.isAbove(m3.activations, 2 * m.activations)
  })
})
