/**
 * The core `PolicyTrainer` stage: RFT keeps only self-generated correct completions (as the answer judge decides) and
 * its sampled accuracy rises over rounds; SFT mixes verifier warm-start examples at the configured ratio; the phases'
 * typed errors arrive as core `TrainerError`s; the fixed curriculum drives the always-routes baseline.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { PolicyTrainer as Core } from "@realm-lm/core"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as FixedCurriculum from "../src/FixedCurriculum.ts"
import * as Metrics from "../src/Metrics.ts"
import * as PolicyTrainer from "../src/PolicyTrainer.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import { base, weakPriorModel } from "./fixtures/prior.ts"
import * as Toy from "./fixtures/toy.ts"

const stage = (config: TrainerConfig.TrainerConfig, curriculum = FixedCurriculum.never()) =>
  PolicyTrainer.layerConfig(config).pipe(
    Layer.provide(
      Layer.mergeAll(NodeServices.layer, Toy.verifierLayer, Toy.judgeLayer, FixedCurriculum.layer(curriculum))
    )
  )

const lines = (outDir: string) => Metrics.parse(readFileSync(join(outDir, Metrics.metricsFile), "utf8"))

describe("PolicyTrainer", () => {
  it.effect("RFT trains on its own correct answers and gets more of them right", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(2).pipe(Effect.provide(NodeServices.layer))
      const config = TrainerConfig.decodeSync({
        ...base,
        rft: {
          rounds: 3,
          samples: 16,
          keepPerProblem: 1,
          train: { steps: 8, batchSize: 2, lr: { peak: 1e-2, decay: "constant" } }
        }
      })
      const trainer = yield* Effect.provide(Effect.service(Core.PolicyTrainer), stage(config))
      const ref = yield* trainer.rft({ init, corpus, outDir: join(dir, "rft"), resume: false })
      assert.strictEqual(ref.kind, "rft")
      assert.strictEqual(ref.step, 24)
      const log = lines(join(dir, "rft"))
      const rounds = log.filter((l) => typeof l["rft_sample_accuracy"] === "number")
      assert.strictEqual(rounds.length, 3)
      assert.isTrue(
        rounds.every((l) => (l["rft_kept"] as number) <= 2),
        "at most keepPerProblem per problem"
      )
      const kept = readFileSync(join(dir, "rft", "rft", "round-0.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { problemId: string; completion: string })
      const gold = new Map(Toy.problems(2).map((p) => [p.id, p.gold]))
      assert.isTrue(
        kept.every((k) => k.completion.includes(gold.get(k.problemId) as string)),
        "only correct completions are kept"
      )
      assert.isAbove(rounds[2]?.["rft_sample_accuracy"] as number, rounds[0]?.["rft_sample_accuracy"] as number)
    })
  )

  it.effect("SFT mixes warm-start examples from Verifier.example at the configured ratio", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* Toy.modelAndCorpus(30)
      const config = TrainerConfig.decodeSync({
        ...base,
        sft: { steps: 10, batchSize: 30, heldOutFraction: 0, warmStart: { ratio: 0.5, minRoutes: 1, maxRoutes: 2 } }
      })
      const trainer = yield* Effect.provide(Effect.service(Core.PolicyTrainer), stage(config))
      yield* trainer.sft({ init: init, corpus, outDir: join(dir, "sft"), resume: false })
      const log = lines(join(dir, "sft"))
      assert.strictEqual(log[0]?.["train_examples"], 45)
      const warm = log.reduce((s, l) => s + (l["warm_fraction"] as number), 0) / log.length
      assert.closeTo(warm, 1 / 3, 0.01)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("phase errors arrive as core TrainerError with the reason", () =>
    Effect.gen(function* () {
      const dir = Toy.tempDir()
      const ps = Toy.problems(2)
      yield* Toy.tinyModel(join(dir, "init"), ps)
      const pairs = Toy.writeCorpus(
        join(dir, "sft.jsonl"),
        ps.map((p) => ({ problemId: p.id, prompt: p.question, completion: p.gold }))
      )
      const trainer = yield* Effect.provide(Effect.service(Core.PolicyTrainer), stage(TrainerConfig.decodeSync(base)))
      const error = yield* Effect.flip(
        trainer.rl({ init: join(dir, "init"), corpus: pairs, outDir: join(dir, "rl"), resume: false })
      )
      assert.strictEqual(error._tag, "TrainerError")
      assert.strictEqual(error.phase, "rl")
      assert.strictEqual(error.reason, "TrainingDataError")
      assert.match(error.detail, /only SftExample lines/)
      const missing = yield* Effect.flip(
        trainer.sft({ init: join(dir, "nope"), corpus: pairs, outDir: join(dir, "sft"), resume: false })
      )
      assert.strictEqual(missing.reason, "EngineFailed")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("the always-routes curriculum puts routes in every RL prompt", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(2).pipe(Effect.provide(NodeServices.layer))
      const config = TrainerConfig.decodeSync({ ...base, rl: { steps: 2, batchSize: 16, groupSize: 8 } })
      const trainer = yield* Effect.provide(
        Effect.service(Core.PolicyTrainer),
        stage(config, FixedCurriculum.alwaysRoutes(1))
      )
      yield* trainer.rl({ init, corpus, outDir: join(dir, "rl"), resume: false })
      const log = lines(join(dir, "rl"))
      assert.deepStrictEqual(
        log.map((l) => [l["guided_fraction"], l["routes_shown"], l["strength"]]),
        [
          [1, 1, 1],
          [1, 1, 1]
        ]
      )
    })
  )
})
