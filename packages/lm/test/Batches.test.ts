/**
 * Token batches with per-token loss weights: the mask carries each completion token's weight, and the SFT loss of
 * such a batch is the weighted mean of the completion tokens' −log π (checked against `score`).
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Rng } from "@realm-lm/core"
import * as Batches from "../src/Batches.ts"
import * as Policy from "../src/Policy.ts"
import * as Weights from "../src/Weights.ts"
import { learnableConfig } from "./support.ts"

const examples = [
  { prompt: [1, 10], completion: [11, 12, 13, 2], weights: [1, 5, 1, 1] },
  { prompt: [1, 20, 21], completion: [19, 18, 2], weights: [3, 1, 0.5] }
]

describe("Batches.tokenBatch with weights", () => {
  it("puts each completion token's weight on its target position, 0 on prompt and padding", () => {
    const b = Batches.tokenBatch(examples, 6, 0)
    assert.deepStrictEqual([...b.lossMask.subarray(0, 6)], [0, 1, 5, 1, 1, 0])
    assert.deepStrictEqual([...b.lossMask.subarray(6, 12)], [0, 0, 3, 1, 0.5, 0])
    const plain = Batches.tokenBatch(
      examples.map(({ prompt, completion }) => ({ prompt, completion })),
      6,
      0
    )
    assert.deepStrictEqual([...plain.lossMask.subarray(0, 6)], [0, 1, 1, 1, 1, 0])
    assert.deepStrictEqual([...plain.targets], [...b.targets])
  })

  it("refuses weights that do not match the completion", () => {
    assert.throws(
      () => Batches.tokenBatch([{ prompt: [1], completion: [4, 5], weights: [1] }]),
      /example 0 has 1 weights for 2 completion tokens/
    )
  })

  it.effect("the SFT loss is the weighted mean of the completion tokens' −log π", () =>
    Effect.gen(function* () {
      const config = learnableConfig()
      const policy = yield* Policy.make({ config, weights: Weights.init(config, Rng.Rng.make("batches-weights")) })
      const logProbs = yield* policy.score(examples)
      let num = 0
      let den = 0
      examples.forEach((e, i) =>
        e.weights.forEach((w, k) => {
          num -= w * logProbs[i]![k]!
          den += w
        })
      )
      const step = yield* policy.sftStep(Batches.tokenBatch(examples), { lr: 0 })
      assert.approximately(step.loss, num / den, 1e-5)
      const unweighted = -logProbs.reduce((s, lp) => s + lp.reduce((a, x) => a + x, 0), 0) / 7
      assert.isAbove(Math.abs(step.loss - unweighted), 1e-3, "the weights change the loss")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
