/**
 * `sft.warmStart.drills`: SFT mixes in the verifier's practice examples (`Verifier.drills`), drawn once with the
 * trainer's seed and kept every epoch, beside redrawn warm starts; a verifier without drills is refused before the
 * model loads, naming the key.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import { Verifier } from "@realm-lm/core"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import * as Data from "../src/internal/data.ts"
import * as Toy from "./fixtures/toy.ts"

/** The toy verifier with drills: `n + n = 2n` lines in its own answer format. */
const drilling = Verifier.Verifier.of({
  ...Toy.verifier,
  drills: ({ count, seed }) =>
    Array.from({ length: count }, (_, i) => ({
      prompt: {
        problemId: `drill/${seed}/${i}`,
        messages: [{ role: "user" as const, content: `Q: ${i % 5}+${i % 5}\nSolve.` }],
        guidance: { mode: "autonomous" as const, strength: 0, routeIds: [] }
      },
      completion: String((2 * (i % 5)) % 10)
    }))
})

const config = (drills: number) => Toy.warmStartConfig({ epochs: 2 }, { ratio: 0.5, redraw: true, drills })

describe("SFT with sft.warmStart.drills", () => {
  it.effect("draws the drills once with the trainer's seed and trains on them beside plain and warm examples", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(Data.drillExamples(drilling, 3, 7), Data.drillExamples(drilling, 3, 7))
      assert.strictEqual(Data.drillExamples(drilling, 3, 7)?.[0]?.kind, "drill")
      assert.isUndefined(Data.drillExamples(Toy.verifier, 3, 7))
      const { dir, corpus } = yield* Toy.modelAndCorpus(16)
      const run = (drills: number, out: string) =>
        Toy.sftMetrics(dir, corpus, out, config(drills)).pipe(
          Effect.provide(Layer.succeed(Verifier.Verifier, drilling))
        )
      const without = yield* run(0, "without")
      const withDrills = yield* run(16, "with")
      // 16 plain + 8 warm starts, plus 16 drills: the ratio counts plain examples only.
      assert.strictEqual(without[0]?.["train_examples"], 24)
      assert.strictEqual(withDrills[0]?.["train_examples"], 40)
      const drillShare = withDrills.reduce((s, l) => s + (l["drill_fraction"] as number), 0) / withDrills.length
      assert.approximately(drillShare, 16 / 40, 0.05)
      assert.isTrue(without.every((l) => l["drill_fraction"] === 0))
    }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, Toy.judgeLayer, Toy.rescuingCurriculum)))
  )

  it.effect("drills do not stand in for a corpus: one without positive routes still fails saying so", () =>
    Effect.gen(function* () {
      const dir = Toy.tempDir()
      const negativesOnly = Toy.records(Toy.problems(6)).map((r) => ({
        ...r,
        routes: r.routes.filter((x) => x.label === "negative")
      }))
      const corpus = Toy.writeCorpus(join(dir, "corpus.jsonl"), negativesOnly)
      const error = yield* Effect.flip(
        Sft.train({ init: join(dir, "missing"), corpus, outDir: join(dir, "out"), resume: false }, config(4))
      )
      assert.strictEqual(error._tag, "TrainingDataError")
      assert.include(error.message, "the corpus has no positive routes")
    }).pipe(
      Effect.provide(Layer.mergeAll(NodeServices.layer, Layer.succeed(Verifier.Verifier, drilling), Toy.judgeLayer))
    )
  )

  it.effect("a verifier without drills is refused before the model loads, naming the key", () =>
    Toy.assertSftRefused(config(4), "sft.warmStart.drills is 4, but the verifier offers no drills")
  )

  it("is a config error where nothing reads it: inside rft.train, and in pre-training", () => {
    assert.throws(
      () => TrainerConfig.decodeSync({ rft: { train: { warmStart: { drills: 5 } } } }),
      /leave rft\.train\.warmStart out/
    )
    assert.deepStrictEqual(
      TrainerConfig.pretraining.check({ warmStart: { drills: 5 } }).map((i) => i.path),
      ["warmStart"]
    )
    assert.deepStrictEqual(TrainerConfig.pretraining.check({ warmStart: { ratio: 0 } }), [])
  })
})
