/**
 * The policy facade: one parameter state shared by training and generation (SFT loss falls and the very next
 * `generate` runs the new weights, with no copy), policy-gradient steps move log-probs the right way, micro-batches
 * equal one batch, the optimizer resets between objectives, and save → load round-trips a complete directory.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import * as Batches from "../src/Batches.ts"
import * as BuiltinTokenizer from "../src/BuiltinTokenizer.ts"
import * as Lora from "../src/Lora.ts"
import * as Policy from "../src/Policy.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as ReferenceModel from "../src/ReferenceModel.ts"
import * as Sampling from "../src/Sampling.ts"
import * as Tokenizer from "../src/Tokenizer.ts"
import * as Weights from "../src/Weights.ts"
import { fixtureDir, learnableConfig, tempDir, tinyConfig } from "./support.ts"

const examples = [
  { prompt: [1, 10], completion: [11, 12, 13, 14, 2] },
  { prompt: [1, 20], completion: [19, 18, 17, 16, 2] },
  { prompt: [1, 5], completion: [7, 9, 11, 13, 2] }
]

/**
 * Rollouts of `rows` whose old and reference log-probs sit near the policy's `current` ones (advantages −1, 0, 1, …),
 * so ratios straddle the clip bounds and the KL term is not zero.
 */
const rolloutsNear = (
  rows: ReadonlyArray<{ readonly prompt: ReadonlyArray<number>; readonly completion: ReadonlyArray<number> }>,
  current: ReadonlyArray<ArrayLike<number>>
) =>
  rows.map((e, i) => ({
    ...e,
    advantage: i - 1,
    oldLogProbs: Array.from(current[i]!, (x, k) => x + 0.3 * Math.sin(3 * i + k)),
    refLogProbs: Array.from(current[i]!, (x, k) => x - 0.2 * Math.cos(i + k))
  }))

/**
 * One SFT step and one policy step (lr 0.05) of `a` and of `b` on `examples`; their SFT losses agree within
 * `lossTolerance` and their gradient norms within 1e-5 (relative above 1). The caller compares the weights after.
 */
const sameSteps = (a: Policy.Policy, b: Policy.Policy, lossTolerance: number) =>
  Effect.gen(function* () {
    const batch = Batches.tokenBatch(examples)
    const [sa, sb] = [yield* a.sftStep(batch, { lr: 0.05 }), yield* b.sftStep(batch, { lr: 0.05 })]
    assert.approximately(sb.loss, sa.loss, lossTolerance)
    assert.approximately(sb.gradNorm, sa.gradNorm, 1e-5 * Math.max(1, sa.gradNorm))
    const current = yield* a.score(examples)
    const rollouts = examples.map((e, i) => ({
      ...e,
      advantage: i - 1,
      oldLogProbs: Array.from(current[i]!, (x, k) => x + 0.2 * Math.sin(i + k))
    }))
    yield* a.policyStep(Batches.policyBatch(rollouts), { lr: 0.05 })
    yield* b.policyStep(Batches.policyBatch(rollouts), { lr: 0.05 })
  })

layer(NodeServices.layer)("Policy", (it) => {
  it.effect(
    "SFT: loss falls, every parameter changes, and the next generate runs the new weights from the shared state",
    () =>
      Effect.gen(function* () {
        const config = learnableConfig()
        const policy = yield* Policy.make({ config, weights: Weights.init(config, Rng.Rng.make("policy-sft")) })
        const requests = examples.map((e) => ({ prompt: e.prompt }))
        const before = yield* policy.generate(requests, { maxNewTokens: 5 })
        const initial = yield* policy.weights
        const batch = Batches.tokenBatch(examples)
        const losses: Array<number> = []
        for (let i = 0; i < 60; i++) losses.push((yield* policy.sftStep(batch, { lr: 0.01 })).loss)
        assert.isBelow(losses.at(-1) as number, losses[0]! / 20)
        const after = yield* policy.generate(requests, { maxNewTokens: 5 })
        examples.forEach((e, i) => {
          assert.deepStrictEqual(after[i]?.[0]?.tokens, e.completion, `example ${i} learned`)
          assert.notDeepEqual(before[i]?.[0]?.tokens, e.completion)
        })
        const trained = yield* policy.weights
        for (const [name, t] of trained) {
          assert.isTrue(
            t.data.some((v, i) => v !== Weights.get(initial, name).data[i]),
            `${name} changed`
          )
          // No copy: the weights are the state's own arrays, which generation sessions read by name.
          assert.strictEqual(t.data, policy.executor.state.cpuData(name))
        }
        const ref = ReferenceModel.make(config, trained)
        examples.forEach((e, i) =>
          assert.deepStrictEqual(
            after[i]?.[0]?.tokens,
            ReferenceModel.generate(ref, e.prompt, { maxNewTokens: 5, stopTokens: [2] }).tokens
          )
        )
      }).pipe(Effect.scoped)
  )

  it.effect("policy step: positive advantages raise a completion's log-prob, negative ones lower it", () =>
    Effect.gen(function* () {
      const { config, weights } = yield* Pretrained.load(fixtureDir("tiny-llama"))
      const policy = yield* Policy.make({ config, weights }, { objective: { clipLow: 0.2, clipHigh: 0.28 } })
      const prompt = [1, 5, 9]
      const [group] = (yield* policy.generate([{ prompt, samples: 4 }], {
        maxNewTokens: 12,
        sampling: Sampling.pure,
        seed: 5,
        stopTokens: []
      })) as [Array<Policy.Completion>]
      const rollouts = group.map((c, i) => ({
        prompt,
        completion: c.tokens,
        advantage: i === 0 ? 1 : -1 / 3,
        oldLogProbs: c.logProbs
      }))
      const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0)
      const r = yield* policy.policyStep(Batches.policyBatch(rollouts), { lr: 0.01 })
      assert.approximately(r.metrics["ratio_mean"]!, 1, 1e-4, "old log-probs equal the current policy's")
      const scored = yield* policy.score(rollouts)
      assert.isAbove(sum(scored[0]!), sum(group[0]?.logProbs as Array<number>))
      for (let i = 1; i < 4; i++) assert.isBelow(sum(scored[i]!), sum(group[i]?.logProbs as Array<number>))
    }).pipe(Effect.scoped)
  )

  it.effect("micro-batches make the same step as one batch (SGD, token-weighted); KL needs reference log-probs", () =>
    Effect.gen(function* () {
      const { config, weights } = yield* Pretrained.load(fixtureDir("tiny-qwen2"))
      const settings = { training: { optimizer: { kind: "sgd" as const } }, objective: { klCoef: 0.05 } }
      const whole = yield* Policy.make({ config, weights }, settings)
      const split = yield* Policy.make({ config, weights }, settings)
      // Old and reference log-probs near the current policy's, so ratios straddle the clip bounds.
      const current = yield* whole.score(examples)
      const rollouts = rolloutsNear(examples, current)
      const length = Batches.lengthOf(rollouts)
      yield* whole.policyStep(Batches.policyBatch(rollouts, length), { lr: 0.05 })
      yield* split.policyStep(
        [Batches.policyBatch(rollouts.slice(0, 1), length), Batches.policyBatch(rollouts.slice(1), length)],
        { lr: 0.05 }
      )
      const [a, b] = [yield* whole.weights, yield* split.weights]
      let moved = 0
      for (const [name, t] of a) {
        t.data.forEach((v, i) => assert.approximately(v, Weights.get(b, name).data[i]!, 1e-6, name))
        moved = Math.max(moved, ...Array.from(t.data, (v, i) => Math.abs(v - Weights.get(weights, name).data[i]!)))
      }
      assert.isAbove(moved, 1e-3)
      const { refLogProbs: _, ...withoutRef } = Batches.policyBatch(rollouts)
      const error = yield* Effect.flip(whole.policyStep(withoutRef, { lr: 0.1 }))
      assert.strictEqual(error._tag, "FeedMismatch")
      assert.match(error.message, /ref_logprobs/)
    }).pipe(Effect.scoped)
  )

  it.effect("a scored window (the head at the completions only) makes the same policy step as every position", () =>
    Effect.gen(function* () {
      const { config, weights } = yield* Pretrained.load(fixtureDir("tiny-qwen2"))
      const settings = { training: { optimizer: { kind: "sgd" as const } }, objective: { klCoef: 0.05 } }
      const everywhere = yield* Policy.make({ config, weights }, settings)
      const windowed = yield* Policy.make({ config, weights }, { ...settings, head: { vocabChunk: 17 } })
      const chunked = yield* Policy.make({ config, weights }, { ...settings, head: { vocabChunk: 17 } })
      // Prompts of different lengths, so each row's window starts elsewhere; one row shorter than the window.
      const rows = [
        { prompt: [1, 10, 3, 4, 5, 6], completion: [11, 12, 13, 2] },
        { prompt: [1, 20], completion: [19, 18, 17, 16, 2] },
        { prompt: [1, 5, 7, 9, 11, 13, 15, 17], completion: [2] }
      ]
      const current = yield* everywhere.score(rows)
      const rollouts = rolloutsNear(rows, current)
      const full = Batches.policyBatch(rollouts, 12)
      const scored = Batches.scoredWindow(full, Batches.lossWindow(full))
      assert.strictEqual(scored.window, 5)
      const a = yield* everywhere.policyStep(full, { lr: 0.05 })
      const b = yield* windowed.policyStep(scored, { lr: 0.05 })
      const c = yield* chunked.policyStep(full, { lr: 0.05 })
      for (const r of [b, c]) {
        assert.approximately(r.loss, a.loss, 1e-6)
        assert.approximately(r.gradNorm, a.gradNorm, 1e-5 * Math.max(1, a.gradNorm))
        for (const k of ["clip_fraction", "kl", "ratio_mean"])
          assert.approximately(r.metrics[k]!, a.metrics[k]!, 1e-6, k)
      }
      const [wa, wb] = [yield* everywhere.weights, yield* windowed.weights]
      for (const [name, t] of wa)
        t.data.forEach((v, i) => assert.approximately(v, Weights.get(wb, name).data[i]!, 1e-6, name))
      // A hand-made batch with a window but no positions (or arrays of the wrong size) is refused before any run.
      const { scoredPositions: _, ...noPositions } = scored
      const missing = yield* Effect.flip(windowed.policyStep(noPositions, { lr: 0.05 }))
      assert.strictEqual(missing._tag, "FeedMismatch")
      assert.match(missing.message, /window without scoredPositions.*Batches\.scoredWindow/)
      const short = yield* Effect.flip(windowed.policyStep({ ...scored, targets: full.targets }, { lr: 0.05 }))
      assert.match(
        short.message,
        /needs scoredPositions, targets and lossMask of 15 \(batch × window\) entries, got 15, 36 and 15/
      )
    }).pipe(Effect.scoped)
  )

  it.effect("a vocabulary-chunked head makes the same SFT and policy steps as the full logits (tied embeddings)", () =>
    Effect.gen(function* () {
      const { config, weights } = yield* Pretrained.load(fixtureDir("tiny-qwen2"))
      const settings = { training: { optimizer: { kind: "sgd" as const } } }
      const chunk = Math.ceil(config.vocabSize / 3) - 1 // three or four chunks, the last one shorter
      const full = yield* Policy.make({ config, weights }, settings)
      const chunked = yield* Policy.make({ config, weights }, { ...settings, head: { vocabChunk: chunk } })
      yield* sameSteps(full, chunked, 1e-5)
      const [wa, wb] = [yield* full.weights, yield* chunked.weights]
      assert.isTrue(config.tieWordEmbeddings, "the fixture ties the head to the embedding")
      for (const [name, t] of wa)
        t.data.forEach((v, i) => assert.approximately(v, Weights.get(wb, name).data[i]!, 1e-5, name))
    }).pipe(Effect.scoped)
  )

  for (const lora of [false, true]) {
    it.effect(
      `recomputed decoder layers make the same SFT and policy steps as keeping activations${lora ? " (LoRA, frozen base)" : ""}`,
      () =>
        Effect.gen(function* () {
          const loaded = yield* Pretrained.load(fixtureDir("tiny-qwen2"))
          const config = lora
            ? {
                ...loaded.config,
                lora: { rank: 2, alpha: 4, targets: ["q_proj", "v_proj", "down_proj"], trainNorms: false }
              }
            : loaded.config
          const adapters = lora ? Lora.init(config, Rng.Rng.make("recompute")) : undefined
          // B = 0 would make the adapters' A gradients zero: start from nonzero B so every adapter gradient is exercised.
          if (adapters !== undefined)
            for (const [name, t] of adapters)
              if (name.includes("lora_B")) t.data.forEach((_, i) => (t.data[i] = 0.01 * Math.sin(i)))
          const settings = { training: { optimizer: { kind: "sgd" as const } } }
          const init = { config, weights: loaded.weights, ...(adapters === undefined ? {} : { adapters }) }
          const kept = yield* Policy.make(init, settings)
          const recomputed = yield* Policy.make(init, { ...settings, recompute: true })
          yield* sameSteps(kept, recomputed, 1e-6)
          const [wa, wb] = lora
            ? [yield* kept.adapters, yield* recomputed.adapters]
            : [yield* kept.weights, yield* recomputed.weights]
          let moved = 0
          for (const [name, t] of wa) {
            t.data.forEach((v, i) => assert.approximately(v, Weights.get(wb, name).data[i]!, 1e-5, name))
            const start = lora ? (adapters?.get(name)?.data as Float32Array) : Weights.get(loaded.weights, name).data
            moved = Math.max(moved, ...Array.from(t.data, (v, i) => Math.abs(v - start[i]!)))
          }
          assert.isAbove(moved, 1e-4)
        }).pipe(Effect.scoped)
    )
  }

  it.effect("switching between SFT and policy steps resets the optimizer (step counts restart)", () =>
    Effect.gen(function* () {
      const config = tinyConfig()
      const policy = yield* Policy.make({ config, weights: Weights.init(config, Rng.Rng.make("switch")) })
      const sft = Batches.tokenBatch(
        examples.map((e) => ({ prompt: e.prompt, completion: e.completion.map((t) => t % 32) }))
      )
      assert.strictEqual((yield* policy.sftStep(sft, { lr: 1e-3 })).step, 1)
      assert.strictEqual((yield* policy.sftStep(sft, { lr: 1e-3 })).step, 2)
      const pg = { ...sft, advantages: sft.lossMask, oldLogProbs: new Float32Array(sft.lossMask.length).fill(-3) }
      assert.strictEqual((yield* policy.policyStep(pg, { lr: 1e-3 })).step, 1)
      assert.strictEqual((yield* policy.sftStep(sft, { lr: 1e-3 })).step, 1)
    }).pipe(Effect.scoped)
  )

  it.effect("save writes a Hugging Face directory with tokenizer and ONNX; load restores the same policy", () =>
    Effect.gen(function* () {
      const tokDir = tempDir()
      const tok = BuiltinTokenizer.train(["3 + 4 = 7\n", "12 + 5 = 17\n", "the cat sat on the mat\n"], {
        ...BuiltinTokenizer.defaultTrainConfig,
        vocabSize: 280
      })
      yield* BuiltinTokenizer.save(tokDir, tok)
      const config = tinyConfig({ vocabSize: tok.tokens.length, bosTokenId: 0, eosTokenIds: [2] })
      const policy = yield* Policy.make({
        config,
        weights: Weights.init(config, Rng.Rng.make("save"), { std: 0.3 }),
        tokenizer: yield* Tokenizer.load(tokDir),
        tokenizerDir: tokDir
      })
      const request = [{ prompt: "12 + 5 =" }]
      const [[first]] = (yield* policy.generate(request, { maxNewTokens: 8, stopTokens: [] })) as [[Policy.Completion]]
      assert.strictEqual(first.text, BuiltinTokenizer.decode(tok, first.tokens, { skipSpecialTokens: true }))
      const dir = tempDir()
      yield* policy.save(dir)
      for (const f of [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "onnx/model.onnx"
      ])
        assert.isTrue(existsSync(join(dir, f)), f)
      const loaded = yield* Policy.load(dir)
      const [[again]] = (yield* loaded.generate(request, { maxNewTokens: 8, stopTokens: [] })) as [[Policy.Completion]]
      assert.deepStrictEqual(again.tokens, first.tokens)
      assert.strictEqual(again.text, first.text)
    }).pipe(Effect.scoped)
  )
})
