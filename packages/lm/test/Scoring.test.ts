/**
 * Teacher-forced scoring: equal to the generator's sampling log-probs for the same tokens and to ReferenceModel,
 * across length buckets and chunks; malformed requests fail with InvalidScoreRequest.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Generator from "../src/Generator.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as ReferenceModel from "../src/ReferenceModel.ts"
import * as Sampling from "../src/Sampling.ts"
import * as Scoring from "../src/Scoring.ts"
import { executorWith, fixtureDir } from "./support.ts"

describe("Scoring", () => {
  it.effect("equals the generator's log-probs (within 1e-4) and the reference's, over buckets and chunks", () =>
    Effect.gen(function* () {
      const { config, weights } = yield* Pretrained.load(fixtureDir("tiny-qwen2"))
      const exec = yield* executorWith(weights)
      const gen = yield* Generator.make(exec, config)
      // A small logits budget forces several runs per length bucket.
      const scorer = yield* Scoring.make(exec, config, { lengthBuckets: [8, 16, 32, 64], logitBudget: 16 * 48 * 3 })
      const prompts = [[1, 4], [1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 3], [1]]
      const completions = yield* gen.generate(
        prompts.map((prompt) => ({ prompt, samples: 3 })),
        { maxNewTokens: 40, sampling: Sampling.pure, seed: 11, stopTokens: [2] }
      )
      const requests = completions.flatMap((group, i) =>
        group.map((c) => ({ prompt: prompts[i]!, completion: c.tokens }))
      )
      const scores = yield* scorer.score(requests)
      const ref = ReferenceModel.make(config, weights)
      const sampled = completions.flat()
      requests.forEach((r, i) => {
        const s = scores[i]!
        assert.strictEqual(s.length, r.completion.length)
        const logits = ReferenceModel.logits(ref, [...r.prompt, ...r.completion])
        s.forEach((lp, k) => {
          assert.approximately(lp, sampled[i]!.logProbs[k]!, 1e-4, `request ${i} token ${k}`)
          const row = logits.subarray(
            (r.prompt.length - 1 + k) * config.vocabSize,
            (r.prompt.length + k) * config.vocabSize
          )
          assert.approximately(lp, Sampling.logProb(row, r.completion[k]!), 1e-4)
        })
      })
      assert.isTrue(
        new Set(requests.map((r) => r.prompt.length + r.completion.length)).size > 2,
        "lengths span buckets"
      )
      const empty = yield* scorer.score([{ prompt: [1], completion: [] }])
      assert.strictEqual(empty[0]?.length, 0)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.effect("rejects an empty prompt, out-of-vocabulary tokens and sequences longer than the context", () =>
    Effect.gen(function* () {
      const { config, weights } = yield* Pretrained.load(fixtureDir("tiny-llama"))
      const scorer = yield* Scoring.make(yield* executorWith(weights), config)
      const fail = (r: Scoring.ScoreRequest) => Effect.flip(scorer.score([r]))
      assert.match((yield* fail({ prompt: [], completion: [1] })).message, /prompt is empty/)
      assert.match((yield* fail({ prompt: [1], completion: [99] })).message, /outside/)
      assert.match(
        (yield* fail({ prompt: Array.from({ length: 100 }, () => 1), completion: Array.from({ length: 30 }, () => 1) }))
          .message,
        /exceed the context 128/
      )
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})
