/**
 * LoRA adapters: settings errors name the valid targets; the decoder's gradients with adapters (and trained norms)
 * against float64 finite differences; only adapters (and norms) are trainable; `merge` reproduces the adapted
 * model's logits; PEFT directories round-trip with PEFT's names and shapes; a policy with adapters learns while its
 * base weights stay bit-identical, and its merged export runs in transformers.js with the adapted model's tokens.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import { GradCheck, Graph, Training } from "@realm-lm/graph"
import * as Batches from "../src/Batches.ts"
import * as Export from "../src/Export.ts"
import * as Lora from "../src/Lora.ts"
import * as Model from "../src/Model.ts"
import type * as ModelConfig from "../src/ModelConfig.ts"
import * as ModelSize from "../src/ModelSize.ts"
import * as Objectives from "../src/Objectives.ts"
import * as Peft from "../src/Peft.ts"
import * as Policy from "../src/Policy.ts"
import * as Safetensors from "../src/Safetensors.ts"
import * as Weights from "../src/Weights.ts"
import { executorWith, learnableConfig, maxRelError, tempDir, tinyConfig, tinyQwen2Config } from "./support.ts"

const decode = Schema.decodeUnknownResult(Lora.LoraConfig)
const errorOf = (input: unknown): string => {
  const r = decode(input)
  return r._tag === "Failure" ? r.failure.message : "decoded"
}

/** Adapters with B ≠ 0 (so the adapter term matters), A and B of order 0.3. */
const randomAdapters = (config: ModelConfig.ModelConfig, seed: string): Weights.Weights => {
  const rng = Rng.Rng.make(seed)
  return new Map(
    Lora.adapted(config)
      .flatMap((x) => [x.a, x.b])
      .map((p) => [
        p.name,
        Weights.tensor(
          p.shape,
          Float32Array.from({ length: Weights.numel(p.shape) }, () => 0.3 * rng.normal())
        )
      ])
  )
}

describe("Lora settings", () => {
  it("a bad target names the valid ones; rank, alpha and duplicates are checked", () => {
    assert.match(
      errorOf({ rank: 4, alpha: 8, targets: ["q_proj", "qkv"] }),
      /unknown LoRA target "qkv"; valid targets: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/
    )
    assert.match(errorOf({ rank: 0, alpha: 8, targets: ["q_proj"] }), /rank must be a positive integer/)
    assert.match(errorOf({ rank: 2.5, alpha: 8, targets: ["q_proj"] }), /rank/)
    assert.match(errorOf({ rank: 4, alpha: 0, targets: ["q_proj"] }), /alpha must be positive/)
    assert.match(errorOf({ rank: 4, alpha: 8, targets: [] }), /at least one projection; valid targets: q_proj/)
    assert.match(errorOf({ rank: 4, alpha: 8, targets: ["v_proj", "v_proj"] }), /"v_proj" more than once/)
    const ok = decode({ rank: 4, alpha: 8, targets: ["v_proj"] })
    assert.deepStrictEqual(ok._tag === "Success" ? ok.success : undefined, {
      rank: 4,
      alpha: 8,
      targets: ["v_proj"],
      trainNorms: false
    })
  })

  it("adapter shapes follow PEFT: A [rank, in], B [out, rank], for every layer and target", () => {
    const config = {
      ...tinyConfig(),
      lora: { rank: 3, alpha: 6, targets: ["o_proj", "q_proj", "down_proj"], trainNorms: false }
    }
    const all = Lora.adapted(config)
    assert.strictEqual(all.length, 2 * 3)
    const q = all.find((x) => x.weight === "model.layers.1.self_attn.q_proj.weight") as Lora.Adapted
    assert.deepStrictEqual(
      [q.a.name, q.a.shape, q.b.name, q.b.shape],
      [
        "model.layers.1.self_attn.q_proj.lora_A.weight",
        [3, 16],
        "model.layers.1.self_attn.q_proj.lora_B.weight",
        [16, 3]
      ]
    )
    const down = all.find((x) => x.weight.endsWith("0.mlp.down_proj.weight")) as Lora.Adapted
    assert.deepStrictEqual(
      [down.a.shape, down.b.shape],
      [
        [3, 24],
        [16, 3]
      ]
    )
    assert.strictEqual(Lora.scale(config.lora), 2)
  })

  it("memory estimate: gradients and AdamW moments for the adapters only (SmolLM2-135M, rank 8, all targets: 2,442,240)", () => {
    const smol = tinyConfig({
      vocabSize: 49152,
      hiddenSize: 576,
      intermediateSize: 1536,
      numLayers: 30,
      numHeads: 9,
      numKvHeads: 3,
      headDim: 64,
      tieWordEmbeddings: true
    })
    const config = { ...smol, lora: { rank: 8, alpha: 16, targets: all, trainNorms: false } }
    // Per layer: q, o 2·8·576; k, v 8·576 + 192·8; gate, up, down 8·576 + 1536·8.
    assert.strictEqual(ModelSize.trainableCount(config), 30 * (2 * 9216 + 2 * 6144 + 3 * 16896))
    const full = ModelSize.memory(smol, { batch: 2, seq: 256 })
    const lora = ModelSize.memory(config, { batch: 2, seq: 256 })
    assert.strictEqual(lora.parameters, full.parameters)
    assert.strictEqual(lora.adamState, 8 * 2442240)
    assert.strictEqual(lora.gradients, 4 * 2442240)
    assert.strictEqual(lora.weights, full.weights + 4 * 2442240)
    assert.strictEqual(
      ModelSize.trainableCount({ ...config, lora: { ...config.lora, trainNorms: true } }),
      2442240 + 61 * 576
    )
  })
})

const B = 2
const L = 5
const inputs = Int32Array.of(1, 7, 3, 19, 4, 1, 12, 0, 0, 0)
const targets = Int32Array.of(7, 3, 19, 4, 11, 12, 9, 0, 0, 0)
const mask = Uint8Array.of(0, 1, 1, 1, 1, 1, 1, 0, 0, 0)
const all = [...Lora.targets]

describe("Lora gradients against finite differences (float64)", () => {
  const cases: ReadonlyArray<readonly [string, ModelConfig.ModelConfig, number | undefined]> = [
    [
      "Llama, untied, every target, trained norms",
      {
        ...tinyConfig({ vocabSize: 20, hiddenSize: 8, intermediateSize: 12, numHeads: 4, numKvHeads: 2, headDim: 2 }),
        lora: { rank: 2, alpha: 3, targets: all, trainNorms: true }
      },
      undefined
    ],
    [
      "Qwen2, tied, q/k/v biases, q/v only, chunked head",
      {
        ...tinyQwen2Config(),
        lora: { rank: 3, alpha: 4, targets: ["q_proj", "v_proj"], trainNorms: false }
      },
      7
    ]
  ]
  for (const [name, config, vocabChunk] of cases) {
    it.effect(`SFT loss, ${name}`, () =>
      Effect.gen(function* () {
        const report = yield* GradCheck.check(
          (g) =>
            Objectives.sftLoss(
              config,
              {
                inputs: g.input("inputs", "int32", [B, L]),
                targets: g.input("targets", "int32", [B, L]),
                mask: g.constant(mask, [B, L], "bool")
              },
              { vocabChunk }
            ),
          {
            feeds: { inputs, targets },
            sample: (_, rng) => 0.5 * rng.normal()
          }
        )
        assert.isTrue(report.ok, JSON.stringify(report.failures.slice(0, 3)))
        // Every float input is checked (base weights too); the adapters alone are 2 tensors per target and layer.
        assert.isAbove(report.checked, 24 * 2 * Lora.adapted(config).length)
      })
    )
  }

  it("training graphs: only the adapters (and norms with trainNorms) are trainable, so only they get updates and AdamW moments", () => {
    const base = tinyConfig()
    for (const trainNorms of [false, true]) {
      const config = { ...base, lora: { rank: 2, alpha: 2, targets: ["q_proj", "up_proj"], trainNorms } }
      const model = Objectives.sftModel(config)
      const specs = Training.paramSpecs(model, { batch: 1, length: 4 })
      const trainable = Training.trainableNames(specs)
      assert.deepStrictEqual(trainable.toSorted(), Lora.trainableNames(config).toSorted())
      const step = Training.build("step", model, { batch: 1, length: 4 }, { optimizer: { kind: "adamw" } })
      const updated = step.stateUpdates.map((u) => u.state)
      assert.deepStrictEqual(updated.filter((s) => !s.includes("::")).toSorted(), trainable.toSorted())
      assert.isFalse(
        updated.some((s) => s.startsWith(Weights.embedTokens) || (s.endsWith("q_proj.weight") && !s.includes("lora")))
      )
    }
  })
})

describe("Lora merge and PEFT files", () => {
  const config = { ...tinyConfig(), lora: { rank: 4, alpha: 8, targets: all, trainNorms: false } }
  const base = Weights.init(config, Rng.Rng.make("lora-base"), { std: 0.3 })
  const adapters = randomAdapters(config, "lora-adapters")

  const logits = (c: ModelConfig.ModelConfig, state: Weights.Weights) =>
    Effect.gen(function* () {
      const g = Graph.make("logits")
      const ids = g.input("input_ids", "int32", [B, L])
      g.output("logits", Model.sequenceLogits(c, ids))
      const session = yield* (yield* executorWith(state)).compile(g)
      return (yield* session.run({ input_ids: inputs }))["logits"]?.data as Float32Array
    })

  it.effect("merged weights W + (alpha/rank)·B·A give the adapted model's logits; B = 0 gives the base model's", () =>
    Effect.gen(function* () {
      const adaptedLogits = yield* logits(config, new Map([...base, ...adapters]))
      const mergedLogits = yield* logits(Lora.baseConfig(config), Lora.merge(config, base, adapters))
      const baseLogits = yield* logits(Lora.baseConfig(config), base)
      assert.isBelow(maxRelError(adaptedLogits, mergedLogits), 1e-4)
      assert.isAbove(maxRelError(adaptedLogits, baseLogits), 1e-2)
      const fresh = yield* logits(config, new Map([...base, ...Lora.init(config, Rng.Rng.make("fresh"))]))
      assert.deepStrictEqual(Array.from(fresh), Array.from(baseLogits))
    }).pipe(Effect.scoped)
  )

  it.effect(
    "PEFT directory: adapter_config.json and PEFT tensor names/shapes, read back exactly; bad directories are named",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const withNorms = { ...config, lora: { ...config.lora, trainNorms: true } }
        yield* Peft.save(dir, withNorms, adapters, { baseModel: "HuggingFaceTB/SmolLM2-135M", norms: base })
        const json = JSON.parse(readFileSync(join(dir, Peft.configFile), "utf8")) as Record<string, unknown>
        assert.deepInclude(json, {
          peft_type: "LORA",
          r: 4,
          lora_alpha: 8,
          base_model_name_or_path: "HuggingFaceTB/SmolLM2-135M",
          target_modules: all,
          modules_to_save: ["input_layernorm", "post_attention_layernorm", "norm"]
        })
        const header = yield* Safetensors.readHeader(join(dir, Peft.weightsFile))
        const shapes = new Map(header.tensors.map((t) => [t.name, t.shape]))
        assert.deepStrictEqual(shapes.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"), [4, 16])
        assert.deepStrictEqual(shapes.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"), [16, 4])
        assert.deepStrictEqual(shapes.get("base_model.model.model.norm.weight"), [16])
        const loaded = yield* Peft.load(dir, Lora.baseConfig(config))
        assert.deepStrictEqual(loaded.config.lora, withNorms.lora)
        assert.strictEqual(loaded.baseModel, "HuggingFaceTB/SmolLM2-135M")
        for (const [name, t] of adapters)
          assert.deepStrictEqual(Array.from(Weights.get(loaded.adapters, name).data), Array.from(t.data))
        assert.deepStrictEqual(
          Array.from(Weights.get(loaded.norms, Weights.finalNorm).data),
          Array.from(Weights.get(base, Weights.finalNorm).data)
        )
        // Another base model (wider hidden size) is refused, naming the tensor.
        const other = tinyConfig({ hiddenSize: 32, headDim: 8 })
        const refused = yield* Effect.flip(Peft.load(dir, other))
        assert.strictEqual(refused._tag, "InvalidAdapter")
        assert.match(refused.message, /q_proj\.lora_A\.weight.*another base model/)
      }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("Policy with LoRA", () => {
  const examples = [
    { prompt: [1, 10], completion: [11, 12, 13, 14, 2] },
    { prompt: [1, 20], completion: [19, 18, 17, 16, 2] }
  ]
  it.effect(
    "SFT steps: loss falls, base weights bit-identical, adapters move; the merged export runs in transformers.js with the adapted tokens",
    () =>
      Effect.gen(function* () {
        const base = learnableConfig()
        const config = { ...base, lora: { rank: 4, alpha: 8, targets: all, trainNorms: false } }
        // A frozen head of std 0.02 bounds the logits to ±0.7 whatever the adapters do: use a base with real scale.
        const weights = Weights.init(base, Rng.Rng.make("policy-lora"), { std: 0.2 })
        const copy = new Map([...weights].map(([n, t]) => [n, Float32Array.from(t.data)]))
        const policy = yield* Policy.make(
          { config, weights },
          { training: { optimizer: { kind: "adamw" }, clipNorm: 1 } }
        )
        const batch = Batches.tokenBatch(examples)
        const losses: Array<number> = []
        for (let i = 0; i < 60; i++) losses.push((yield* policy.sftStep(batch, { lr: 0.05 })).loss)
        assert.isBelow(losses.at(-1) as number, losses[0]! / 4)
        const after = yield* policy.weights
        for (const [name, data] of copy) assert.deepStrictEqual(Weights.get(after, name).data, data, name)
        const moments = policy.executor.state.names().filter((n) => n.includes("::"))
        assert.isTrue(moments.length > 0 && moments.every((n) => n.includes(".lora_")), moments.join(", "))
        const adapters = yield* policy.adapters
        assert.isTrue([...adapters].some(([n, t]) => n.endsWith("lora_B.weight") && t.data.some((v) => v !== 0)))
        const prompts = examples.map((e) => e.prompt)
        const ours = yield* policy.generate(
          prompts.map((prompt) => ({ prompt })),
          { maxNewTokens: 6 }
        )
        const dir = tempDir()
        yield* policy.save(dir)
        const theirs = yield* Export.transformersJsGreedy(dir, prompts, 6)
        assert.deepStrictEqual(
          theirs,
          ours.map((g) => g[0]?.tokens)
        )
        assert.deepStrictEqual(
          theirs,
          examples.map((e) => e.completion)
        ) // the adapted model learned the completions
        const failed = yield* Effect.flip(Export.save(tempDir(), config, after))
        assert.match(failed.message, /LoRA adapters: save Lora\.merge/)
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})
