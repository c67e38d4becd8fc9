/**
 * GRPO on a toy verifiable task (each key has a gold digit): after a short SFT that makes the tiny model answer
 * with a uniformly random digit, RL raises the truth accuracy well above chance within a CI-sized budget; metrics
 * carry every logged quantity; rescue groups are sampled on the rescue prompt.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Curriculum } from "@realm-lm/core"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as FixedCurriculum from "../src/FixedCurriculum.ts"
import * as Metrics from "../src/Metrics.ts"
import * as Rl from "../src/Rl.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import { base, weakPriorModel } from "./fixtures/prior.ts"
import * as Toy from "./fixtures/toy.ts"

describe("Rl", () => {
  it.effect("GRPO raises the truth accuracy on a toy verifiable task", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(2)
      const config = TrainerConfig.decodeSync({
        ...base,
        rl: {
          steps: 40,
          batchSize: 32,
          groupSize: 16,
          lr: { peak: 3e-3, decay: "constant" },
          evalEvery: 10,
          evalProblems: 2
        }
      })
      yield* Rl.train({ init, corpus, outDir: join(dir, "rl"), resume: false }, config).pipe(
        Effect.provide(FixedCurriculum.layer(FixedCurriculum.never()))
      )
      const lines = Metrics.parse(readFileSync(join(dir, "rl", Metrics.metricsFile), "utf8"))
      const acc = lines.map((l) => l["truth_accuracy"] as number)
      assert.isUndefined(lines[0]?.["kl"], "no reference, no KL")
      for (const key of [
        "reward_mean",
        "reward_std",
        "reward/answer",
        "reward/format",
        "truth_accuracy",
        "entropy",
        "clip_fraction",
        "advantage_mean",
        "advantage_std",
        "zero_variance_fraction",
        "strength",
        "tokens_per_second",
        "time_rollout",
        "time_scoring",
        "time_update",
        "peak_rss_mib"
      ]) {
        assert.isDefined(lines[0]?.[key], key)
      }
      const rss = lines.map((l) => l["peak_rss_mib"] as number)
      assert.isAbove(rss[0]!, 10, "peak RSS in MiB, not bytes or KiB")
      assert.isBelow(rss[0]!, 64 * 1024, "peak RSS in MiB, not bytes or KiB")
      for (let i = 1; i < rss.length; i++) assert.isAtLeast(rss[i]!, rss[i - 1]!, "a peak never falls")
      const evals = lines.flatMap((l) => (typeof l["eval_accuracy"] === "number" ? [l["eval_accuracy"]] : []))
      assert.strictEqual(evals.length, 4)
      const mean = (xs: Array<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
      assert.isBelow(mean(acc.slice(0, 5)), 0.4)
      assert.isAbove(mean(acc.slice(-5)), mean(acc.slice(0, 5)) + 0.25)
    }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, Toy.verifierLayer)))
  )

  it.effect("tells the curriculum its horizon (rl.steps) before the first step", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(2)
      const config = TrainerConfig.decodeSync({ ...base, rl: { steps: 2, batchSize: 32, groupSize: 16 } })
      const told: Array<number> = []
      let decidedBeforeStart = false
      const fixed = FixedCurriculum.make(FixedCurriculum.never())
      const curriculum = Curriculum.Curriculum.of({
        ...fixed,
        decide: (step, problems) =>
          Effect.suspend(() => {
            if (told.length === 0) decidedBeforeStart = true
            return fixed.decide(step, problems)
          }),
        start: ({ totalSteps }) => Effect.sync(() => void told.push(totalSteps))
      })
      yield* Rl.train({ init, corpus, outDir: join(dir, "rl"), resume: false }, config).pipe(
        Effect.provideService(Curriculum.Curriculum, curriculum)
      )
      assert.deepStrictEqual(told, [2])
      assert.isFalse(decidedBeforeStart)
    }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, Toy.verifierLayer)))
  )

  it.effect("β > 0 loads the frozen initial policy as reference: KL starts at 0 and grows", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(2)
      const config = TrainerConfig.decodeSync({
        ...base,
        rl: { steps: 3, batchSize: 32, groupSize: 16, klCoef: 0.1, lr: { peak: 1e-2, decay: "constant" } }
      })
      yield* Rl.train({ init, corpus, outDir: join(dir, "rl"), resume: false }, config).pipe(
        Effect.provide(FixedCurriculum.layer(FixedCurriculum.never()))
      )
      const kl = Metrics.parse(readFileSync(join(dir, "rl", Metrics.metricsFile), "utf8")).map((l) => l["kl"] as number)
      assert.closeTo(kl[0]!, 0, 1e-6)
      assert.isAbove(kl[2]!, 1e-4)
    }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, Toy.verifierLayer)))
  )

  it.effect(
    "a prompt's prefill is part of the reply the verifier scores, and the policy writes only what follows it",
    () =>
      Effect.gen(function* () {
        const { dir, init, corpus } = yield* weakPriorModel(2)
        const completions: Array<string> = []
        // Hint prompts start the reply with the gold digit: every reply is right, whatever the policy writes after it.
        const prefilled = Toy.verifierLayerWith({
          prompt: (request) =>
            Effect.map(Toy.verifier.prompt(request), (prompt) =>
              request.decision.hintFraction > 0
                ? {
                    ...prompt,
                    guidance: { ...prompt.guidance, mode: "hint" as const, hint: request.problem.gold },
                    prefill: `${request.problem.gold} `
                  }
                : prompt
            ),
          score: (request) => {
            completions.push(request.completion)
            return Toy.verifier.score(request)
          }
        })
        const config = TrainerConfig.decodeSync({
          ...base,
          rl: { steps: 2, batchSize: 8, groupSize: 4, lr: { peak: 1e-3, decay: "constant" } }
        })
        yield* Rl.train({ init, corpus, outDir: join(dir, "rl"), resume: false }, config).pipe(
          Effect.provide(Layer.mergeAll(prefilled, FixedCurriculum.layer({ routeCount: 0, hintFraction: 1, seed: 0 })))
        )
        const lines = Metrics.parse(readFileSync(join(dir, "rl", Metrics.metricsFile), "utf8"))
        assert.deepStrictEqual(
          lines.map((l) => l["truth_accuracy"]),
          [1, 1]
        )
        assert.strictEqual(completions.length, 16)
        assert.isTrue(
          completions.every((c) => /^\d /.test(c)),
          "every scored reply starts with its prefill"
        )
      }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect(
    "route traces: a group whose completions all failed gets the verifier's target for its prompt while the curriculum guides, none without guidance",
    () =>
      Effect.gen(function* () {
        const { dir, init, corpus } = yield* weakPriorModel(4)
        // Right only for the exact target (a lone gold digit), so most sampled groups fail and get a trace.
        const strict = Toy.verifierLayerWith({
          score: (request) =>
            Effect.map(Toy.verifier.score(request), (reward) =>
              request.completion.trim() === request.problem.gold
                ? reward
                : { total: 0, components: { answer: 0, format: 0 }, correct: false }
            )
        })
        const config = TrainerConfig.decodeSync({
          ...base,
          rl: { steps: 3, batchSize: 16, groupSize: 4, routeTraces: true, lr: { peak: 1e-3, decay: "constant" } }
        })
        const run = (name: string, strength: number) => {
          const fixed = FixedCurriculum.make(FixedCurriculum.never())
          return Effect.map(
            Rl.train({ init, corpus, outDir: join(dir, name), resume: false }, config).pipe(
              Effect.provide(
                Layer.mergeAll(strict, Layer.succeed(Curriculum.Curriculum, { ...fixed, strength: () => strength }))
              )
            ),
            () => Metrics.parse(readFileSync(join(dir, name, Metrics.metricsFile), "utf8"))
          )
        }
        const guided = yield* run("guided", 1)
        const traces = guided.map((l) => l["route_traces"] as number)
        assert.isAbove(
          traces.reduce((a, b) => a + b, 0),
          0,
          "failed groups got traces"
        )
        for (const l of guided) {
          assert.strictEqual(l["route_traces_skipped"], 0)
          if ((l["route_traces"] as number) > 0) assert.closeTo(l["route_trace_reward"] as number, 1.1, 1e-9)
          assert.isTrue(Number.isFinite(l["loss"] as number), "traces' old log-probs are scored before the update")
          // Every trace turns a failed group into one with a right completion, so none of them is dropped.
          assert.isAtLeast(l["trained_completions"] as number, 5 * (l["route_traces"] as number))
        }
        const unguided = yield* run("unguided", 0)
        assert.deepStrictEqual(
          unguided.map((l) => l["route_traces"]),
          [0, 0, 0],
          "no trace when the curriculum does not guide"
        )
      }).pipe(Effect.provide(NodeServices.layer))
  )
})
