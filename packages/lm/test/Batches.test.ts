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

describe("Batches.scoredWindow", () => {
  const rollouts = [
    { prompt: [1, 10, 3, 4], completion: [11, 12, 2], advantage: 1, oldLogProbs: [-1, -2, -3] },
    { prompt: [1, 20], completion: [19, 2], advantage: [0.5, -0.5], oldLogProbs: [-4, -5] }
  ]

  it("cuts every per-token array to the window at each row's completion; inputs stay whole", () => {
    const full = Batches.policyBatch(rollouts, 8, 0)
    assert.strictEqual(Batches.lossWindow(full), 3)
    const b = Batches.scoredWindow(full, 3)
    assert.strictEqual(b.window, 3)
    assert.deepStrictEqual([...b.inputs], [...full.inputs])
    // Row 0's completion targets sit at positions 3..5, row 1's at 1..2 (its window runs one past them).
    assert.deepStrictEqual([...b.scoredPositions!], [3, 4, 5, 9, 10, 11])
    assert.deepStrictEqual([...b.targets], [11, 12, 2, 19, 2, 0])
    assert.deepStrictEqual([...b.lossMask], [1, 1, 1, 1, 1, 0])
    assert.deepStrictEqual([...b.advantages], [1, 1, 1, 0.5, -0.5, 0])
    assert.deepStrictEqual([...b.oldLogProbs], [-1, -2, -3, -4, -5, 0])
    for (let i = 0; i < 6; i++) assert.strictEqual(b.targets[i], full.targets[b.scoredPositions![i]!])
  })

  it("moves a window that would run past the row back inside it, and starts an unmasked row at 0", () => {
    const full = Batches.policyBatch(
      [...rollouts, { prompt: [3], completion: [], advantage: 0, oldLogProbs: [] }],
      6,
      0
    )
    const b = Batches.scoredWindow(full, 4)
    // Row 0: targets at 3..5, window 2..5 (6 positions); row 1: 1..4; row 2 (padding, no loss): 0..3.
    assert.deepStrictEqual([...b.scoredPositions!], [2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14, 15])
    assert.deepStrictEqual([...b.lossMask], [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
  })

  it("refuses a window the loss does not fit, one longer than the rows, and a second cut", () => {
    const full = Batches.policyBatch(rollouts, 8, 0)
    assert.throws(() => Batches.scoredWindow(full, 2), /row 0 has loss on positions 3\.\.5, more than the window of 2/)
    assert.throws(() => Batches.scoredWindow(full, 9), /window 9 must be a whole number in \[1, 8\]/)
    assert.throws(() => Batches.scoredWindow(Batches.scoredWindow(full, 3), 3), /already scored/)
  })
})
