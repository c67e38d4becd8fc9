/**
 * Training objectives: gradients of the whole decoder + loss against central finite differences in float64, and
 * loss values against a plain-TypeScript computation from ReferenceModel log-probs (completion-only SFT; the
 * clipped policy objective with separate clip bounds, k3 KL, token and sequence aggregation, clip fraction), also
 * with the LM head on a scored window of positions only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Rng } from "@realm-lm/core"
import { Graph, GradCheck, Session } from "@realm-lm/graph"
import type * as ModelConfig from "../src/ModelConfig.ts"
import * as Batches from "../src/Batches.ts"
import * as Objectives from "../src/Objectives.ts"
import type { PolicyBatch } from "../src/Policy.ts"
import * as ReferenceModel from "../src/ReferenceModel.ts"
import * as Sampling from "../src/Sampling.ts"
import * as Weights from "../src/Weights.ts"
import { executorWith, tinyConfig, tinyQwen2Config } from "./support.ts"

const B = 2
const L = 5
const inputs = Int32Array.of(1, 7, 3, 19, 4, 1, 12, 0, 0, 0)
const targets = Int32Array.of(7, 3, 19, 4, 11, 12, 9, 0, 0, 0)
/** Completion tokens: positions 1.. of row 0, positions 0..1 of row 1 (the rest is padding). */
const mask = Uint8Array.of(0, 1, 1, 1, 1, 1, 1, 0, 0, 0)

const gradConfigs: ReadonlyArray<readonly [string, ModelConfig.ModelConfig]> = [
  [
    "Llama, untied, GQA",
    tinyConfig({ vocabSize: 20, hiddenSize: 8, intermediateSize: 12, numHeads: 4, numKvHeads: 2, headDim: 2 })
  ],
  [
    "Qwen2, tied, q/k/v biases, llama3 RoPE",
    tinyQwen2Config({
      ropeScaling: { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8 }
    })
  ]
]

/** The SFT loss's tensors in `g`: `inputs`/`targets` fed, the completion mask a constant. */
const sftTensors = (g: Graph.Graph) => ({
  inputs: g.input("inputs", "int32", [B, L]),
  targets: g.input("targets", "int32", [B, L]),
  mask: g.constant(mask, [B, L], "bool")
})

/** The policy loss's tensors: the SFT ones, advantages and old log-probs, and reference log-probs with `withRef`. */
const policyTensors = (g: Graph.Graph, withRef = false) => ({
  ...sftTensors(g),
  advantages: g.input("adv", "float64", [B, L]),
  oldLogProbs: g.input("old", "float64", [B, L]),
  ...(withRef ? { refLogProbs: g.input("ref", "float64", [B, L]) } : {})
})

/** Old and reference log-probs near -3, advantages standard normal, weights small. */
const sample = (name: string, rng: Rng.Rng) =>
  name === "old" || name === "ref" ? -3 + 0.6 * rng.normal() : name === "adv" ? rng.normal() : 0.5 * rng.normal()

/** Checks the gradients of `loss` against finite differences on the shared feeds: all agree, over `atLeast` checked. */
const assertGradients = (loss: (g: Graph.Graph) => Graph.Tensor, atLeast = 200) =>
  Effect.gen(function* () {
    const report = yield* GradCheck.check(loss, { feeds: { inputs, targets }, sample })
    assert.isTrue(report.ok, JSON.stringify(report.failures.slice(0, 3)))
    assert.isAbove(report.checked, atLeast)
  })

describe("Objectives: gradients against finite differences (float64)", () => {
  for (const [name, config] of gradConfigs) {
    it.effect(`SFT loss, ${name}`, () => assertGradients((g) => Objectives.sftLoss(config, sftTensors(g))))
    for (const aggregate of ["token", "sequence"] as const) {
      it.effect(`policy loss (clip 0.2/0.28, β 0.1, ${aggregate} aggregation), ${name}`, () =>
        assertGradients(
          (g) =>
            Objectives.policyLoss(config, policyTensors(g, true), {
              clipLow: 0.2,
              clipHigh: 0.28,
              klCoef: 0.1,
              aggregate
            }).loss
        )
      )
    }
  }
})

describe("Objectives: vocabulary-chunked head (chunks of 7 of 20 ids), gradients against finite differences", () => {
  for (const [name, config] of gradConfigs) {
    it.effect(`SFT and policy loss, ${name}`, () =>
      Effect.gen(function* () {
        yield* assertGradients((g) => Objectives.sftLoss(config, sftTensors(g), { vocabChunk: 7 }))
        yield* assertGradients(
          (g) =>
            Objectives.policyLoss(config, policyTensors(g), { clipLow: 0.2, clipHigh: 0.28 }, { vocabChunk: 7 }).loss
        )
      })
    )
  }
})

/** A scored window of 4 positions per row: row 0's loss at positions 1..4, row 1's at 0..1 (flat indices into B · L). */
const W = 4
const scoredPositions = Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8)
const scoredTargets = Int32Array.from(scoredPositions, (i) => targets[i]!)
const scoredMask = Uint8Array.from(scoredPositions, (i) => mask[i]!)

/** The policy loss's tensors with the head at the scored positions only: per-token tensors `[B, W]`. */
const scoredPolicyTensors = (g: Graph.Graph) => ({
  inputs: g.input("inputs", "int32", [B, L]),
  targets: g.input("scored_targets", "int32", [B, W]),
  mask: g.constant(scoredMask, [B, W], "bool"),
  scored: g.input("scored", "int32", [B, W]),
  advantages: g.input("adv", "float64", [B, W]),
  oldLogProbs: g.input("old", "float64", [B, W])
})

describe("Objectives: LM head on scored positions only, gradients against finite differences", () => {
  for (const [name, config] of gradConfigs) {
    for (const vocabChunk of [undefined, 7]) {
      it.effect(
        `policy loss, window of ${W} of ${L}, ${vocabChunk === undefined ? "full" : "chunked"} head, ${name}`,
        () =>
          Effect.gen(function* () {
            const report = yield* GradCheck.check(
              (g) =>
                Objectives.policyLoss(config, scoredPolicyTensors(g), { clipLow: 0.2, clipHigh: 0.28 }, { vocabChunk })
                  .loss,
              { feeds: { inputs, scored_targets: scoredTargets, scored: scoredPositions }, sample }
            )
            assert.isTrue(report.ok, JSON.stringify(report.failures.slice(0, 3)))
            assert.isAbove(report.checked, 200)
          })
      )
    }
  }
})

describe("Objectives: recomputed decoder layers (Recompute.checkpoint), gradients against finite differences", () => {
  for (const [name, config] of gradConfigs) {
    it.effect(`SFT loss, every layer recomputed, chunked head, ${name}`, () =>
      assertGradients((g) => Objectives.sftLoss(config, sftTensors(g), { vocabChunk: 7, recompute: true }))
    )
    it.effect(`policy loss, layer 1 recomputed, ${name}`, () =>
      assertGradients(
        (g) =>
          Objectives.policyLoss(config, policyTensors(g), { clipLow: 0.2, clipHigh: 0.28 }, { recompute: [1] }).loss
      )
    )
  }
  it.effect("SFT loss with LoRA adapters on every projection, every layer recomputed", () => {
    const base = gradConfigs[1]![1]
    const config = {
      ...base,
      lora: {
        rank: 2,
        alpha: 3,
        targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        trainNorms: true
      }
    }
    return assertGradients((g) => Objectives.sftLoss(config, sftTensors(g), { recompute: true }), 400)
  })
  it("a layer index outside the model is an InvalidGraph error naming it", () => {
    const config = gradConfigs[0]![1]
    const g = Graph.make("bad", { float: "float64" })
    assert.throws(
      () => Objectives.sftLoss(config, sftTensors(g), { recompute: [2] }),
      /layer 2 does not exist \(the model has layers 0\.\.1\)/
    )
  })
})

describe("Objectives: values against a plain-TypeScript computation", () => {
  const config = tinyConfig()
  const weights = Weights.init(config, Rng.Rng.make("objectives"), { std: 0.3 })
  const ref = ReferenceModel.make(config, weights)
  const logp: Array<number> = []
  for (let b = 0; b < B; b++) {
    const logits = ReferenceModel.logits(ref, Array.from(inputs.subarray(b * L, (b + 1) * L)))
    for (let t = 0; t < L; t++)
      logp.push(
        Sampling.logProb(logits.subarray(t * config.vocabSize, (t + 1) * config.vocabSize), targets[b * L + t]!)
      )
  }
  const rng = Rng.Rng.make("objective-values")
  const old = Float32Array.from(logp, (x) => x + 0.5 * rng.normal())
  const refLp = Float32Array.from(logp, (x) => x + 0.3 * rng.normal())
  const adv = Float32Array.from(logp, () => rng.normal())
  const maskF = Float32Array.from(mask)

  /** Inputs, targets and a float32 mask, all fed. */
  const fedTensors = (g: Graph.Graph) => ({
    inputs: g.input("inputs", "int32", [B, L]),
    targets: g.input("targets", "int32", [B, L]),
    mask: g.input("mask", "float32", [B, L])
  })

  const evaluate = (
    model: (g: Graph.Graph) => Record<string, Graph.Tensor>,
    feeds: Record<string, Float32Array | Int32Array>
  ) =>
    Effect.scoped(
      Effect.gen(function* () {
        const exec = yield* executorWith(weights)
        const g = Graph.make("objective")
        for (const [n, t] of Object.entries(model(g))) g.output(n, t)
        const out = yield* (yield* exec.compile(g)).run(feeds)
        return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, Session.scalar(t)]))
      })
    )

  const expected = (aggregate: "token" | "sequence", lo: number, hi: number, beta: number) => {
    const perToken = logp.map((lp, i) => {
      const r = Math.exp(lp - old[i]!)
      const a = adv[i]!
      const d = refLp[i]! - lp
      return {
        value: -Math.min(r * a, Math.min(Math.max(r, 1 - lo), 1 + hi) * a) + beta * (Math.exp(d) - d - 1),
        clipped: Math.min(r * a, Math.min(Math.max(r, 1 - lo), 1 + hi) * a) !== r * a
      }
    })
    const m = Array.from(mask)
    const tokens = m.reduce((s, v) => s + v, 0)
    const clipFraction = perToken.reduce((s, p, i) => s + m[i]! * (p.clipped ? 1 : 0), 0) / tokens
    if (aggregate === "token")
      return { loss: perToken.reduce((s, p, i) => s + m[i]! * p.value, 0) / tokens, clipFraction }
    let sum = 0
    for (let b = 0; b < B; b++) {
      let s = 0
      let n = 0
      for (let t = 0; t < L; t++) {
        s += m[b * L + t]! * (perToken[b * L + t] as { value: number }).value
        n += m[b * L + t]!
      }
      sum += s / Math.max(n, 1)
    }
    return { loss: sum / B, clipFraction }
  }

  it.effect("SFT loss = mean −log π(target) over completion tokens", () =>
    Effect.gen(function* () {
      const out = yield* evaluate((g) => ({ loss: Objectives.sftLoss(config, fedTensors(g)) }), {
        inputs,
        targets,
        mask: maskF
      })
      const want = -logp.reduce((s, lp, i) => s + lp * mask[i]!, 0) / 6
      assert.approximately(out["loss"]!, want, 1e-5)
      // The vocabulary-chunked head (32 ids in chunks of 5: 6 full and one of 2) gives the same loss.
      const chunked = yield* evaluate((g) => ({ loss: Objectives.sftLoss(config, fedTensors(g), { vocabChunk: 5 }) }), {
        inputs,
        targets,
        mask: maskF
      })
      assert.approximately(chunked["loss"]!, want, 1e-5)
    })
  )

  for (const [aggregate, lo, hi, beta] of [
    ["token", 0.2, 0.28, 0],
    ["sequence", 0.1, 0.3, 0.05]
  ] as const) {
    it.effect(`policy loss and clip fraction (${aggregate}, ε ${lo}/${hi}, β ${beta})`, () =>
      Effect.gen(function* () {
        const out = yield* evaluate(
          (g) => {
            const r = Objectives.policyLoss(
              config,
              {
                ...fedTensors(g),
                advantages: g.input("adv", "float32", [B, L]),
                oldLogProbs: g.input("old", "float32", [B, L]),
                refLogProbs: g.input("ref", "float32", [B, L])
              },
              { clipLow: lo, clipHigh: hi, klCoef: beta, aggregate }
            )
            return { loss: r.loss, clip: r.clipFraction }
          },
          { inputs, targets, mask: maskF, adv, old, ref: refLp }
        )
        const want = expected(aggregate, lo, hi, beta)
        assert.approximately(out["loss"]!, want.loss, 1e-5)
        assert.approximately(out["clip"]!, want.clipFraction, 1e-6)
        assert.isTrue(want.clipFraction > 0 && want.clipFraction < 1, "both branches are exercised")
      })
    )

    it.effect(`the same policy loss and clip fraction with the head on a scored window (${aggregate})`, () =>
      Effect.gen(function* () {
        const full: PolicyBatch = {
          batch: B,
          length: L,
          inputs,
          targets,
          lossMask: maskF,
          advantages: adv,
          oldLogProbs: old,
          refLogProbs: refLp
        }
        const b = Batches.scoredWindow(full, Batches.lossWindow(full))
        const w = b.window!
        assert.isBelow(w, L)
        const out = yield* evaluate(
          (g) => {
            const r = Objectives.policyLoss(
              config,
              {
                inputs: g.input("inputs", "int32", [B, L]),
                targets: g.input("targets", "int32", [B, w]),
                mask: g.input("mask", "float32", [B, w]),
                scored: g.input("scored", "int32", [B, w]),
                advantages: g.input("adv", "float32", [B, w]),
                oldLogProbs: g.input("old", "float32", [B, w]),
                refLogProbs: g.input("ref", "float32", [B, w])
              },
              { clipLow: lo, clipHigh: hi, klCoef: beta, aggregate }
            )
            return { loss: r.loss, clip: r.clipFraction }
          },
          {
            inputs,
            targets: b.targets,
            mask: b.lossMask,
            scored: b.scoredPositions!,
            adv: b.advantages,
            old: b.oldLogProbs,
            ref: b.refLogProbs!
          }
        )
        const want = expected(aggregate, lo, hi, beta)
        assert.approximately(out["loss"]!, want.loss, 1e-5)
        assert.approximately(out["clip"]!, want.clipFraction, 1e-6)
      })
    )
  }

  it("klCoef > 0 without reference log-probs is rejected while building", () => {
    const g = Graph.make("bad")
    const t = {
      inputs: g.input("i", "int32", [1, 2]),
      targets: g.input("t", "int32", [1, 2]),
      mask: g.input("m", "float32", [1, 2])
    }
    assert.throws(
      () =>
        Objectives.policyLoss(
          config,
          { ...t, advantages: g.input("a", "float32", [1, 2]), oldLogProbs: g.input("o", "float32", [1, 2]) },
          { klCoef: 0.1 }
        ),
      /needs refLogProbs/
    )
  })
})
