/**
 * Wiring of the policy objective: the micro-batches built from rollouts (advantages and old log-probs placed on the
 * completion targets, padding rows, several micro-batches) give exactly the clipped-surrogate loss computed by hand
 * from the policy's own teacher-forced log-probs, in both aggregations, with ratios on both sides of the clip
 * range, with the LM head at every position or only in a window at the completions (`memory.headWindow`). The
 * objective's gradient itself is checked against float64 finite differences in @realm-lm/lm
 * (`Objectives.test.ts`, `GradCheck`); this checks that the trainer feeds it the right numbers.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import * as Engine from "../src/internal/engine.ts"
import * as Steps from "../src/internal/steps.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import * as Toy from "./fixtures/toy.ts"

const clipLow = 0.2
const clipHigh = 0.28

/** −min(r·A, clip(r)·A) per token. */
const surrogate = (logp: number, old: number, a: number): number => {
  const r = Math.exp(logp - old)
  return -Math.min(r * a, Math.min(Math.max(r, 1 - clipLow), 1 + clipHigh) * a)
}

describe("policy objective wiring", () => {
  for (const aggregate of ["token", "sequence"] as const) {
    for (const [microBatch, headWindow] of [
      [2, undefined],
      [4, undefined],
      [2, 4],
      [4, 2]
    ] as const) {
      const head = headWindow === undefined ? "every position" : `head window ${headWindow}`
      it.effect(
        `loss equals the hand-computed clipped surrogate (${aggregate}, micro-batch ${microBatch}, ${head})`,
        () =>
          Effect.scoped(
            Effect.gen(function* () {
              const dir = Toy.tempDir()
              yield* Toy.tinyModel(join(dir, "m"), Toy.problems(4))
              const config = TrainerConfig.decodeSync({
                runtime: { intraOpThreads: 1 },
                rl: { clipLow, clipHigh, aggregate }
              })
              const engine = yield* Engine.make({ init: join(dir, "m") }, config.runtime, config.optimizer, {
                kind: "policy",
                rl: config.rl
              })
              const base = [
                { prompt: [1, 40, 41, 42], completion: [50, 51, 52, 2], advantage: 1.5 },
                { prompt: [1, 60], completion: [70, 71, 2], advantage: -0.75 },
                { prompt: [1, 80, 81, 82, 83, 84], completion: [90, 2], advantage: 0.4 }
              ]
              const current = yield* engine.policy.score(base)
              // Old log-probs offset per token so ratios fall inside, above and below the clip range.
              const offsets = [0.05, -0.5, 0.4, -0.1]
              const rollouts = base.map((r, i) => ({
                ...r,
                oldLogProbs: Array.from(current[i]!, (l, k) => l - offsets[k % 4]!)
              }))
              const micro = Steps.policyMicroBatches(
                rollouts,
                [8, 16],
                microBatch,
                engine.pad,
                aggregate,
                Number.POSITIVE_INFINITY,
                headWindow
              )
              assert.strictEqual(micro.length, microBatch === 2 ? 2 : 1)
              // The longest completion has 4 tokens: a window of 2 widens to 4, still shorter than the 8-token rows.
              for (const m of micro) assert.strictEqual(m.bucket.window, headWindow === undefined ? undefined : 4)
              const loss = yield* Steps.evaluate(engine.trainer(), micro)
              const perToken = rollouts.map((r, i) =>
                Array.from(current[i]!, (l, k) => surrogate(l, r.oldLogProbs[k]!, r.advantage))
              )
              const expected =
                aggregate === "token"
                  ? perToken.flat().reduce((a, b) => a + b, 0) / perToken.flat().length
                  : perToken.map((xs) => xs.reduce((a, b) => a + b, 0) / xs.length).reduce((a, b) => a + b, 0) /
                    perToken.length
              assert.closeTo(loss, expected, 1e-5 * Math.max(1, Math.abs(expected)))
            })
          ).pipe(Effect.provide(NodeServices.layer))
      )
    }
  }

  it.effect("memory.optimizer reaches the engine's graph trainer (the in-graph optimizer by default)", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = Toy.tempDir()
        yield* Toy.tinyModel(join(dir, "m"), Toy.problems(4))
        for (const memory of [{}, { optimizer: "host" }, { optimizer: "graph" }]) {
          const config = TrainerConfig.decodeSync({ runtime: { intraOpThreads: 1 }, memory })
          const engine = yield* Engine.make(
            { init: join(dir, "m") },
            config.runtime,
            config.optimizer,
            { kind: "sft" },
            config.memory
          )
          assert.strictEqual(engine.trainer().optimizerOn, config.memory.optimizer, JSON.stringify(memory))
        }
      })
    ).pipe(Effect.provide(NodeServices.layer))
  )
})
