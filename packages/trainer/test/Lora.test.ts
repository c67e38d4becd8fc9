/**
 * LoRA runs end to end on a tiny model: SFT lowers the loss while the base weights stay bit-identical (the saved merged
 * weights are exactly `merge(init, adapters)`), AdamW moments exist only for the adapters, the PEFT adapter directory
 * and the merged export load (the merged model scores completions as base + adapter does, and transformers.js runs
 * it), a few RL steps on the adapters complete, and a resumed run continues with the adapters' optimizer state exactly.
 * Bad settings fail at decoding, naming the valid targets.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { Export, Lora, Peft, Policy, Pretrained, Safetensors, Weights } from "@realm-lm/lm"
import * as Checkpoint from "../src/Checkpoint.ts"
import * as FixedCurriculum from "../src/FixedCurriculum.ts"
import * as Metrics from "../src/Metrics.ts"
import * as Progress from "../src/Progress.ts"
import * as Rl from "../src/Rl.ts"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import { base, weakPriorModel } from "./fixtures/prior.ts"
import * as Toy from "./fixtures/toy.ts"

const lora = {
  rank: 4,
  alpha: 8,
  targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
}
const sftConfig = (steps: number, every: number, trainNorms = false) =>
  TrainerConfig.decodeSync({
    ...base,
    lora: { ...lora, trainNorms },
    checkpoint: { every, onnx: "final" },
    sft: { steps, batchSize: 16, lr: { peak: 2e-2, decay: "constant" }, heldOutFraction: 0 }
  })

layer(Layer.mergeAll(NodeServices.layer, Toy.verifierLayer))("LoRA", (it) => {
  it("bad settings fail at decoding with the path and the valid targets", () => {
    assert.throws(
      () => TrainerConfig.decodeSync({ lora: { rank: 4, alpha: 8, targets: ["q_proj", "qproj"] } }),
      /unknown LoRA target "qproj"; valid targets: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj[\s\S]*lora/
    )
    assert.throws(
      () => TrainerConfig.decodeSync({ lora: { rank: 0, alpha: 8, targets: ["q_proj"] } }),
      /rank must be a positive integer/
    )
    assert.throws(
      () => TrainerConfig.decodeSync({ lora: { rank: 4, alpha: -1, targets: ["q_proj"] } }),
      /alpha must be positive/
    )
  })

  it.effect("a rank above a targeted projection's smallest dimension fails before any step, naming both", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* Toy.modelAndCorpus(4) // hidden 32, 2 KV heads of 8: k/v_proj are [16, 32]
      const config = TrainerConfig.decodeSync({
        ...base,
        lora: { rank: 20, alpha: 20, targets: ["q_proj", "v_proj"] },
        sft: { steps: 1, heldOutFraction: 0 }
      })
      const e = yield* Effect.flip(Sft.train({ init: init, corpus, outDir: join(dir, "out"), resume: false }, config))
      assert.strictEqual(e._tag, "EngineFailed")
      assert.match(e.message, /rank 20 exceeds the smallest dimension \(16\)/)
    })
  )

  it.effect(
    "SFT: loss falls, base bit-identical, moments only for adapters; the PEFT dir and the merged export load and agree with base + adapter",
    () =>
      Effect.gen(function* () {
        const { dir, init, corpus } = yield* weakPriorModel(4)
        const ref = yield* Sft.train({ init, corpus, outDir: join(dir, "lora"), resume: false }, sftConfig(16, 0))
        const lines = Metrics.parse(readFileSync(join(dir, "lora", Metrics.metricsFile), "utf8"))
        assert.isBelow(
          lines.at(-1)?.["loss"] as number,
          (lines[0]?.["loss"] as number) * 0.7,
          lines.map((l) => l["loss"]).join(" → ")
        )
        const baseModel = yield* Pretrained.load(init)
        const peft = yield* Peft.load(join(ref.path, "adapter"), baseModel.config)
        assert.deepStrictEqual(peft.config.lora, { ...lora, trainNorms: false })
        assert.strictEqual(peft.baseModel, init)
        assert.isTrue(
          [...peft.adapters].some(([n, t]) => n.endsWith("lora_B.weight") && t.data.some((v) => v !== 0)),
          "B moved"
        )
        // The merged file is exactly merge(init, adapters): the base the run trained on is the init's, bit for bit.
        const merged = (yield* Pretrained.load(ref.path)).weights
        const expected = Lora.merge(peft.config, baseModel.weights, peft.adapters)
        for (const [name, t] of expected) assert.deepStrictEqual(Weights.get(merged, name).data, t.data, name)
        for (const [name, t] of baseModel.weights) {
          if (!name.endsWith("proj.weight"))
            assert.deepStrictEqual(Weights.get(merged, name).data, t.data, `${name} untouched`)
        }
        const moments = [...(yield* Safetensors.read(join(ref.path, Checkpoint.optimizerFile))).keys()]
        assert.strictEqual(moments.length, 2 * Lora.adapted(peft.config).length * 2)
        assert.isTrue(
          moments.every((n) => n.includes(".lora_A.") || n.includes(".lora_B.")),
          moments.slice(0, 3).join(", ")
        )
        // Scores of the merged model (a plain directory) against base + adapter, and transformers.js on the merged export.
        const requests = [0, 1, 2, 3].map((i) => ({ prompt: [1, 5 + i, 9, 12], completion: [20 + i, 31, 7, 2] }))
        const mergedPolicy = yield* Policy.load(ref.path, { runtime: { intraOpThreads: 1 } })
        const adapted = yield* Policy.make(
          { config: peft.config, weights: baseModel.weights, adapters: peft.adapters },
          { runtime: { intraOpThreads: 1 } }
        )
        const a = yield* mergedPolicy.score(requests)
        const b = yield* adapted.score(requests)
        const plain = yield* (yield* Policy.make(baseModel, { runtime: { intraOpThreads: 1 } })).score(requests)
        const diff = (x: ReadonlyArray<Float64Array>, y: ReadonlyArray<Float64Array>) =>
          Math.max(...x.flatMap((r, i) => Array.from(r, (v, j) => Math.abs(v - y[i]![j]!))))
        assert.isBelow(diff(a, b), 1e-4)
        assert.isAbove(diff(a, plain), 1e-3, "the adapters changed the model")
        const prompts = requests.map((r) => r.prompt)
        const ours = yield* adapted.generate(
          prompts.map((prompt) => ({ prompt })),
          { maxNewTokens: 5 }
        )
        assert.deepStrictEqual(
          yield* Export.transformersJsGreedy(ref.path, prompts, 5),
          ours.map((g) => g[0]?.tokens)
        )
      }).pipe(Effect.scoped)
  )

  it.effect("RL: a few GRPO steps train the adapters only and save the PEFT adapter", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(2)
      const config = TrainerConfig.decodeSync({
        ...base,
        lora: { ...lora, trainNorms: true },
        rl: { steps: 3, batchSize: 16, groupSize: 8, lr: { peak: 1e-2, decay: "constant" } }
      })
      const ref = yield* Rl.train({ init, corpus, outDir: join(dir, "rl"), resume: false }, config).pipe(
        Effect.provide(FixedCurriculum.layer(FixedCurriculum.never()))
      )
      const lines = Metrics.parse(readFileSync(join(dir, "rl", Metrics.metricsFile), "utf8"))
      assert.strictEqual(lines.length, 3)
      assert.isTrue(lines.every((l) => Number.isFinite(l["reward_mean"])))
      const baseModel = yield* Pretrained.load(init)
      const peft = yield* Peft.load(join(ref.path, "adapter"), baseModel.config)
      assert.isTrue(peft.config.lora?.trainNorms)
      assert.strictEqual(peft.norms.size, Lora.normNames(baseModel.config).length)
      const moments = [...(yield* Safetensors.read(join(ref.path, Checkpoint.optimizerFile))).keys()]
      assert.isTrue(
        moments.every((n) => n.includes(".lora_") || n.includes("layernorm") || n.startsWith("model.norm")),
        moments.join(", ")
      )
      assert.isTrue(
        moments.some((n) => n.includes("layernorm")),
        "norm gains train with trainNorms"
      )
      assert.isTrue(existsSync(join(ref.path, "model.safetensors")))
    })
  )

  it.effect(
    "resume (with trained norms): adapters, norm gains and their AdamW moments come back from the checkpoint, the base from init; the run continues exactly",
    () =>
      Effect.gen(function* () {
        const { dir, init, corpus } = yield* weakPriorModel(4)
        const out = join(dir, "lora")
        yield* Sft.train({ init, corpus, outDir: out, resume: false }, sftConfig(6, 3, true))
        const whole = Metrics.parse(readFileSync(join(out, Metrics.metricsFile), "utf8")).map((l) => l["loss"])
        const finalAdapter = readFileSync(join(out, "final", "adapter", Peft.weightsFile))
        // Forget everything after step 3, as if the run had died there.
        rmSync(join(out, Checkpoint.checkpointsDir, Checkpoint.stepName(6)), { recursive: true })
        rmSync(join(out, "final"), { recursive: true })
        const done: Array<number> = []
        yield* Sft.train({ init, corpus, outDir: out, resume: true }, sftConfig(6, 3, true)).pipe(
          Effect.provide(Progress.layer((e) => Effect.sync(() => done.push(e.done))))
        )
        assert.deepStrictEqual(done, [4, 5, 6], "the run resumed after step 3")
        const resumed = Metrics.parse(readFileSync(join(out, Metrics.metricsFile), "utf8")).map((l) => l["loss"])
        assert.deepStrictEqual(resumed, whole)
        assert.isTrue(
          Buffer.compare(readFileSync(join(out, "final", "adapter", Peft.weightsFile)), finalAdapter) === 0,
          "same adapters and norms after the resumed steps"
        )
        // Other LoRA settings (norms frozen) cannot resume it either.
        assert.strictEqual(
          (yield* Effect.flip(Sft.train({ init, corpus, outDir: out, resume: true }, sftConfig(6, 3))))._tag,
          "CheckpointMismatch"
        )
        // A run without LoRA cannot resume a LoRA run's checkpoint.
        const full = TrainerConfig.decodeSync({
          ...base,
          checkpoint: { every: 3 },
          sft: { steps: 6, batchSize: 16, lr: { peak: 2e-2, decay: "constant" }, heldOutFraction: 0 }
        })
        const mismatch = yield* Effect.flip(Sft.train({ init, corpus, outDir: out, resume: true }, full))
        assert.strictEqual(mismatch._tag, "CheckpointMismatch")
      })
  )
})
