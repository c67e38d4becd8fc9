/**
 * Training objectives of the decoder as @realm-lm/graph models: causal-LM SFT (cross entropy on completion tokens
 * only) and the clipped-ratio policy-gradient objective of the GRPO/DAPO family (separate low/high clip, per-token
 * advantages, old-policy log-probs, optional k3 KL to a reference with weight β, token- or sequence-level
 * aggregation, a mask for padding and truncated completions). Batches are right-padded `[batch, length]` rows.
 */
import type { Training } from "@realm-lm/graph"
import { Graph, Loss, Ops } from "@realm-lm/graph"
import { Schema } from "effect"
import * as Model from "./Model.ts"
import type { ModelConfig } from "./ModelConfig.ts"
import type { PolicyBatch, TokenBatch } from "./Policy.ts"

type T = Graph.Tensor

/**
 * A training shape bucket: `batch` rows of `length` input tokens. With `window`, the loss is taken at `window`
 * positions per row (`scored_positions`), and the per-token inputs (targets, mask, advantages, log-probs) are
 * `[batch, window]` (see `Batches.scoredWindow`).
 */
export interface Bucket {
  readonly batch: number
  readonly length: number
  readonly window?: number
}

/** Graph input names (what `Policy.sftStep` / `policyStep` feed). */
export const inputNames = {
  inputs: "inputs",
  targets: "targets",
  lossMask: "loss_mask",
  advantages: "advantages",
  oldLogProbs: "old_logprobs",
  refLogProbs: "ref_logprobs",
  scoredPositions: "scored_positions"
} as const

/** A batch's training shape: rows, length and, when scored (`Batches.scoredWindow`), the window. */
export const bucketOf = (b: TokenBatch): Bucket => ({
  batch: b.batch,
  length: b.length,
  ...(b.window === undefined ? {} : { window: b.window })
})

/** Graph feeds of a token batch: inputs, targets, the loss mask and, when scored, the scored positions. */
export const tokenFeeds = (b: TokenBatch): Record<string, Int32Array | Float32Array> => ({
  [inputNames.inputs]: b.inputs,
  [inputNames.targets]: b.targets,
  [inputNames.lossMask]: b.lossMask,
  ...(b.scoredPositions === undefined ? {} : { [inputNames.scoredPositions]: b.scoredPositions })
})

/** Graph feeds of a policy batch: its token feeds, advantages, old log-probs and reference log-probs when given. */
export const policyFeeds = (b: PolicyBatch): Record<string, Int32Array | Float32Array> => ({
  ...tokenFeeds(b),
  [inputNames.advantages]: b.advantages,
  [inputNames.oldLogProbs]: b.oldLogProbs,
  ...(b.refLogProbs === undefined ? {} : { [inputNames.refLogProbs]: b.refLogProbs })
})

/**
 * Tensors of a causal-LM batch: `inputs`, `targets` int32 `[B, L]`, `mask` `[B, L]` (1 on tokens that count). With
 * `scored` (int32 `[B, W]`, flat indices into the `B · L` positions) the LM head runs only at those positions and
 * `targets`, `mask` (and a policy batch's per-token tensors) are `[B, W]`.
 */
export interface TokenTensors {
  readonly inputs: T
  readonly targets: T
  readonly mask: T
  readonly scored?: T
}

/**
 * How training graphs trade compute for memory: the LM head computed `vocabChunk` rows of the vocabulary at a time
 * (`LmHead`; the full `[B, L, vocab]` logits when unset), and `recompute`: decoder layers whose activations the
 * backward recomputes instead of keeping (`true` = all, or layer indices). Same loss and gradients within float32
 * rounding either way. (The name predates `recompute`.)
 */
export type HeadOptions = Model.TrainingOptions

/** SFT loss `[]`: mean of −log π(target) over masked positions (completion tokens only). */
export const sftLoss = (config: ModelConfig, t: TokenTensors, head: HeadOptions = {}): T =>
  Ops.neg(Loss.maskedMean(tokenLogProbs(config, t, head), t.mask))

/** log π(target) at the loss's positions: `[B, L]`, or `[B, W]` with `scored`. */
const tokenLogProbs = (config: ModelConfig, t: TokenTensors, head: HeadOptions): T =>
  Model.sequenceTokenLogProbs(config, t.inputs, t.targets, head, undefined, t.scored)

/**
 * The token tensors of a bucket as graph inputs: `inputs` `[batch, length]`; `targets` and `loss_mask` `[batch,
 * length]`, or `[batch, window]` with `scored_positions` when the bucket has a window. `perToken` shape for the
 * objective's other per-token inputs.
 */
const tokenInputs = (
  g: Graph.Graph,
  b: Bucket
): { readonly tensors: TokenTensors; readonly perToken: Array<number> } => {
  const perToken = [b.batch, b.window ?? b.length]
  return {
    tensors: {
      inputs: g.input(inputNames.inputs, "int32", [b.batch, b.length]),
      targets: g.input(inputNames.targets, "int32", perToken),
      mask: g.input(inputNames.lossMask, g.float, perToken),
      ...(b.window === undefined ? {} : { scored: g.input(inputNames.scoredPositions, "int32", perToken) })
    },
    perToken
  }
}

/**
 * The SFT model for `Trainer.make`: inputs `inputs`, `targets` (int32) and `loss_mask` (float32), all `[B, L]`; with
 * a bucket window, `targets` and `loss_mask` are `[B, W]` and `scored_positions` (int32 `[B, W]`) says where.
 */
export const sftModel =
  (config: ModelConfig, head: HeadOptions = {}): Training.Model<Bucket> =>
  (g, b) => {
    const { tensors } = tokenInputs(g, b)
    return { loss: sftLoss(config, tensors, head), metrics: { tokens: Ops.reduceSum(tensors.mask) } }
  }

/** Hyper-parameters of the policy-gradient objective. */
export const PolicyObjective = Schema.Struct({
  /** ε_low: the ratio is clipped below at 1 − ε_low. Default 0.2. */
  clipLow: Schema.optionalKey(
    Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true }))
  ),
  /** ε_high: clipped above at 1 + ε_high (DAPO "clip higher" uses e.g. 0.28). Default = clipLow. */
  clipHigh: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0))),
  /** β of the k3 KL(π‖π_ref) penalty; > 0 makes `refLogProbs` required. Default 0. */
  klCoef: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  /** `token`: mean over all valid tokens of the batch (DAPO); `sequence`: mean per sequence, then over sequences (GRPO). Default token. */
  aggregate: Schema.optionalKey(Schema.Literals(["token", "sequence"]))
})
/** Policy objective settings. */
export type PolicyObjective = typeof PolicyObjective.Type

/** Tensors of a policy-gradient batch (all `[B, L]`; per-token rows aligned with `targets`). */
export interface PolicyTensors extends TokenTensors {
  /** Advantage of each target token (broadcast a sequence's advantage over its tokens). */
  readonly advantages: T
  /** log π_old(target) recorded when the completion was sampled (raw distribution). */
  readonly oldLogProbs: T
  /** log π_ref(target), needed when klCoef > 0. */
  readonly refLogProbs?: T
}

/** The policy loss and its diagnostics (scalars). */
export interface PolicyOutputs {
  readonly loss: T
  readonly clipFraction: T
  readonly kl: T
  readonly ratioMean: T
}

/** Per token `−min(r·A, clip(r, 1−ε_low, 1+ε_high)·A) + β·k3`, `r = exp(log π − log π_old)`, aggregated over the mask. */
export const policyLoss = (
  config: ModelConfig,
  t: PolicyTensors,
  objective: PolicyObjective = {},
  head: HeadOptions = {}
): PolicyOutputs => {
  if ((objective.klCoef ?? 0) > 0 && t.refLogProbs === undefined) {
    throw new Graph.InvalidGraph({
      detail: "policyLoss: klCoef > 0 needs refLogProbs",
      fix: "score the completions with the reference model and feed them"
    })
  }
  const logp = tokenLogProbs(config, t, head)
  const out = Loss.policyLoss(
    {
      logp,
      oldLogp: t.oldLogProbs,
      advantages: t.advantages,
      mask: t.mask,
      ...(t.refLogProbs === undefined ? {} : { refLogp: t.refLogProbs })
    },
    {
      clipLow: objective.clipLow ?? 0.2,
      clipHigh: objective.clipHigh ?? objective.clipLow ?? 0.2,
      klCoef: objective.klCoef ?? 0,
      aggregate: objective.aggregate ?? "token"
    }
  )
  return { loss: out.loss, clipFraction: out.clipFraction, kl: out.kl, ratioMean: out.ratioMean }
}

/**
 * The policy model for `Trainer.make`: inputs `inputs`, `targets` (int32), `loss_mask`, `advantages`, `old_logprobs`
 * and, when klCoef > 0, `ref_logprobs` (float32), all `[B, L]`; with a bucket window, all but `inputs` are `[B, W]`
 * and `scored_positions` (int32 `[B, W]`) says where. Metrics: `clip_fraction`, `kl`, `ratio_mean`.
 */
export const policyModel =
  (config: ModelConfig, objective: PolicyObjective = {}, head: HeadOptions = {}): Training.Model<Bucket> =>
  (g, b) => {
    const { tensors, perToken: shape } = tokenInputs(g, b)
    const t: PolicyTensors = {
      ...tensors,
      advantages: g.input(inputNames.advantages, g.float, shape),
      oldLogProbs: g.input(inputNames.oldLogProbs, g.float, shape),
      ...((objective.klCoef ?? 0) > 0 ? { refLogProbs: g.input(inputNames.refLogProbs, g.float, shape) } : {})
    }
    const out = policyLoss(config, t, objective, head)
    return { loss: out.loss, metrics: { clip_fraction: out.clipFraction, kl: out.kl, ratio_mean: out.ratioMean } }
  }
