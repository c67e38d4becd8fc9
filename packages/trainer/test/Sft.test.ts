/**
 * SFT end to end on a tiny from-scratch model: held-out loss falls, every trainable parameter changes, the final
 * checkpoint is a complete Hugging Face directory, warm-start examples are mixed in at the configured ratio, and
 * bad config fails before any work with the field path.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { CorpusRecord } from "@realm-lm/core"
import { Pretrained, Safetensors, Weights } from "@realm-lm/lm"
import * as Metrics from "../src/Metrics.ts"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import * as Toy from "./fixtures/toy.ts"

const layers = Layer.mergeAll(NodeServices.layer, Toy.verifierLayer)

/** A 4-step SFT on the toy corpus (steps of 8, no checkpoints but the final one) with `settings` over it. */
const fourSteps = (settings: Record<string, unknown>) =>
  TrainerConfig.decodeSync({
    runtime: { intraOpThreads: 1 },
    generation: { maxPromptTokens: 40, maxNewTokens: 16 },
    checkpoint: { every: 0, onnx: "never" },
    log: { tensorboard: false },
    sft: { steps: 4, batchSize: 8, lr: { peak: 1e-2 }, heldOutFraction: 0 },
    ...settings
  })

/** A fresh 2-layer toy model and corpus, and `sft(out, settings)`: `fourSteps(settings)` into `out`, its metrics lines. */
const twoLayerRuns = Effect.map(Toy.modelAndCorpus(16, { layers: 2 }), ({ dir, corpus }) => ({
  dir,
  sft: (out: string, settings: Record<string, unknown>) => Toy.sftMetrics(dir, corpus, out, fourSteps(settings))
}))

describe("Sft", () => {
  it.effect("lowers the held-out loss and changes every trainable parameter", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* Toy.modelAndCorpus(40)
      const config = TrainerConfig.decodeSync({
        runtime: { intraOpThreads: 1 },
        batching: { buckets: [32, 64], microBatch: 8 },
        generation: { maxPromptTokens: 40, maxNewTokens: 16 },
        checkpoint: { every: 10 },
        sft: { steps: 30, batchSize: 16, lr: { peak: 1e-2, warmupSteps: 3 }, heldOutFraction: 0.25, evalEvery: 10 }
      })
      const ref = yield* Sft.train({ init: init, corpus, outDir: join(dir, "out"), resume: false }, config)
      const lines = Metrics.parse(readFileSync(join(dir, "out", Metrics.metricsFile), "utf8"))
      assert.strictEqual(lines.length, 30)
      const held = lines.flatMap((l) => (typeof l["heldout_loss"] === "number" ? [l["heldout_loss"]] : []))
      assert.strictEqual(held.length, 3)
      assert.isBelow(held.at(-1) as number, held[0]! * 0.8, `held-out loss ${held.join(" → ")}`)
      assert.isBelow(lines.at(-1)?.["loss"] as number, lines[0]?.["loss"] as number)
      assert.strictEqual(ref.kind, "sft")
      assert.strictEqual(ref.step, 30)
      assert.strictEqual(ref.path, join(dir, "out", "final"))
      for (const f of [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "onnx/model.onnx",
        "trainer_state.json",
        "optimizer.safetensors"
      ]) {
        assert.isTrue(existsSync(join(ref.path, f)), f)
      }
      const before = (yield* Pretrained.load(init)).weights
      const after = (yield* Pretrained.load(ref.path)).weights
      for (const [name, t] of before) {
        assert.isTrue(
          t.data.some((v, i) => v !== Weights.get(after, name).data[i]),
          `${name} changed`
        )
      }
    }).pipe(Effect.provide(layers))
  )

  it.effect(
    "memory.recompute (every layer, or a list) logs the same losses as keeping activations; a missing layer fails",
    () =>
      Effect.gen(function* () {
        const { sft } = yield* twoLayerRuns
        const losses = (recompute: boolean | ReadonlyArray<number>, out: string) =>
          sft(out, { batching: { buckets: [32, 64], microBatch: 8 }, memory: { recompute } }).pipe(
            Effect.map((lines) => lines.map((l) => l["loss"] as number))
          )
        const kept = yield* losses(false, "kept")
        assert.strictEqual(kept.length, 4)
        for (const [recompute, out] of [
          [true, "all"],
          [[1], "layer1"]
        ] as const) {
          const got = yield* losses(recompute, out)
          got.forEach((l, i) => assert.approximately(l, kept[i]!, 1e-5, `${out} step ${i + 1}`))
        }
        // The setting reaches the training graph: a layer the 2-layer model lacks fails there, named.
        const error = yield* Effect.flip(losses([2], "missing"))
        assert.strictEqual(error._tag, "EngineFailed")
        assert.match(error.message, /layer 2 does not exist/)
      }).pipe(Effect.provide(layers))
  )

  it.effect(
    "memory.optimizer: host logs the losses and saves the weights and AdamW moments of the in-graph optimizer",
    () =>
      Effect.gen(function* () {
        const { dir, sft } = yield* twoLayerRuns
        const run = (optimizer: "graph" | "host") =>
          sft(optimizer, {
            batching: { buckets: [32, 64], microBatch: 4 },
            memory: { optimizer },
            optimizer: { clipNorm: 0.5 }
          }).pipe(Effect.map((lines) => lines.map((l) => [l["loss"] as number, l["grad_norm"] as number])))
        assert.strictEqual(TrainerConfig.decodeSync({}).memory.optimizer, "graph")
        const [graph, host] = [yield* run("graph"), yield* run("host")]
        assert.strictEqual(host.length, 4)
        host.forEach(([loss, norm], i) => {
          assert.approximately(loss!, graph[i]![0]!, 1e-5, `loss, step ${i + 1}`)
          assert.approximately(norm!, graph[i]![1]!, 1e-4, `grad norm, step ${i + 1}`)
        })
        // Micro-batches of 4 in steps of 8: the host placement's accumulation path, with clipping.
        const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
          assert.strictEqual(a.length, b.length)
          let d = 0
          for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!))
          return d
        }
        const weights = (out: string) => Effect.map(Pretrained.load(join(dir, out, "final")), (l) => l.weights)
        const [wg, wh] = [yield* weights("graph"), yield* weights("host")]
        for (const [name, t] of wg) assert.isBelow(maxDiff(Weights.get(wh, name).data, t.data), 1e-5, name)
        const moments = (out: string) => Safetensors.read(join(dir, out, "final", "optimizer.safetensors"))
        const [mg, mh] = [yield* moments("graph"), yield* moments("host")]
        assert.deepStrictEqual([...mh.keys()].toSorted(), [...mg.keys()].toSorted())
        assert.isAbove(mg.size, 0)
        for (const [name, t] of mg) assert.isBelow(maxDiff(mh.get(name)!.data, t.data), 1e-6, name)
      }).pipe(Effect.provide(layers))
  )

  it.effect("warmStart.redraw: the first epoch trains on the fixed draw, later epochs on new draws", () =>
    Effect.gen(function* () {
      const { dir, corpus } = yield* Toy.modelAndCorpus(16)
      const losses = (redraw: boolean, out: string) =>
        Toy.sftMetrics(dir, corpus, out, Toy.warmStartConfig({ epochs: 3 }, { ratio: 1, redraw }))
      const fixed = yield* losses(false, "fixed")
      const redrawn = yield* losses(true, "redrawn")
      assert.strictEqual(fixed[0]?.["train_examples"], 32)
      assert.deepStrictEqual(
        redrawn.map((l) => l["step"]),
        fixed.map((l) => l["step"])
      )
      assert.strictEqual(redrawn.length, 6)
      // Steps 1-2 are epoch 0 (32 examples, 16 a step): the same examples, so the same losses; then they part.
      for (const i of [0, 1])
        assert.approximately(redrawn[i]?.["loss"] as number, fixed[i]?.["loss"] as number, 1e-6, `step ${i + 1}`)
      assert.isTrue(
        [2, 3, 4, 5].some((i) => Math.abs((redrawn[i]?.["loss"] as number) - (fixed[i]?.["loss"] as number)) > 1e-4),
        "later epochs differ"
      )
    }).pipe(Effect.provide(layers))
  )

  /** A 2-step SFT run on `records` from a model directory that does not exist; the error it fails with. */
  const failedSft = (records: ReadonlyArray<CorpusRecord.CorpusRecord>, heldOutFraction: number) =>
    Effect.gen(function* () {
      const dir = Toy.tempDir()
      const init = join(dir, "missing")
      const corpus = Toy.writeCorpus(join(dir, "corpus.jsonl"), records)
      const config = TrainerConfig.decodeSync({ sft: { steps: 2, heldOutFraction } })
      const error = yield* Effect.flip(Sft.train({ init, corpus, outDir: join(dir, "out"), resume: false }, config))
      return { init, corpus, error }
    })

  it.effect("a corpus with no positive route fails saying so, before the model is loaded", () =>
    Effect.gen(function* () {
      const negativesOnly = Toy.records(Toy.problems(6)).map((r) => ({
        ...r,
        routes: r.routes.filter((x) => x.label === "negative")
      }))
      // No model directory exists: the data check must come first.
      const { corpus, error } = yield* failedSft(negativesOnly, 0)
      assert.strictEqual(error._tag, "TrainingDataError")
      assert.include(
        error.message,
        `${corpus}: the corpus has no positive routes: none of its 6 routes over 6 problems reached the gold answer`
      )
      assert.include(error.message, "rebuild the corpus")
      assert.notInclude(error.message, "largest bucket")
    }).pipe(Effect.provide(layers))
  )

  it.effect("positives that all fall in the held-out fraction are named, with the setting to change", () =>
    Effect.gen(function* () {
      const { error } = yield* failedSft(Toy.records(Toy.problems(3)), 1)
      assert.strictEqual(error._tag, "TrainingDataError")
      assert.include(
        error.message,
        "all 3 problems with a positive route fell in the held-out fraction (sft.heldOutFraction 1)"
      )
    }).pipe(Effect.provide(layers))
  )

  it.effect("an --init directory that does not exist is named as missing (not as lacking tokenizer.json)", () =>
    Effect.gen(function* () {
      const { init, error } = yield* failedSft(Toy.records(Toy.problems(4)), 0)
      assert.strictEqual(error._tag, "EngineFailed")
      assert.include(error.message, `${init} does not exist: pass a Hugging Face model directory`)
      assert.notInclude(error.message, "has no tokenizer.json")
    }).pipe(Effect.provide(layers))
  )
})
