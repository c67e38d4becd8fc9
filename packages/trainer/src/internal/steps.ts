/**
 * One optimizer step over a step's micro-batches (fused step for one, accumulate + apply for several), with the
 * non-finite guard: inputs are checked before running, and a rejected update is traced to the tensor behind it
 * (the loss, or the first parameter whose gradient is not finite) so the error names step and tensor.
 */
import { Batches, Objectives } from "@realm-lm/lm"
import type { Policy } from "@realm-lm/lm"
import type { Trainer as GraphTrainer } from "@realm-lm/graph"
import { Effect } from "effect"
import { bucketize } from "../Batching.ts"
import { EngineFailed, NonFiniteValue } from "../TrainerErrors.ts"
import type { Phase } from "../TrainerErrors.ts"
import type { GuardSection } from "../TrainerConfig.ts"
import type { MicroBatch } from "./engine.ts"

/** Result of one step. */
export interface StepOutcome {
  /** Weighted mean loss over the micro-batches (NaN when skipped). */
  readonly loss: number
  readonly gradNorm: number
  /** Weighted means of the objective's metrics (`clip_fraction`, `kl`, `ratio_mean`). */
  readonly metrics: Readonly<Record<string, number>>
  /** The update was withheld because of a non-finite value (`guards.nonFinite: skip`). */
  readonly skipped: boolean
}

/** Guard settings and context for error messages. */
export interface Guard {
  readonly phase: Phase
  readonly mode: "fail" | "skip"
  /** 1-based number of the step being taken. */
  readonly step: number
  readonly skippedSoFar: number
}

/** The guard of step `step` of `phase`: `guards.nonFinite`, until `guards.maxSkips` steps were skipped, then `fail`. */
export const guardFor = (phase: Phase, guards: GuardSection, step: number, skippedSoFar: number): Guard => ({
  phase,
  mode: skippedSoFar < guards.maxSkips ? guards.nonFinite : "fail",
  step,
  skippedSoFar
})

const scalarOf = (t: unknown): number => Number((t as { data: ArrayLike<number> }).data[0])

const firstNonFinite = (
  feeds: Readonly<Record<string, Float32Array | Int32Array>>
): { name: string; value: number } | undefined => {
  for (const [name, data] of Object.entries(feeds)) {
    if (!(data instanceof Float32Array)) continue
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return { name, value: data[i]! }
  }
  return undefined
}

/** Find the tensor behind a rejected update: the loss, else the first parameter with a non-finite gradient. */
const diagnose = (trainer: GraphTrainer.Trainer<Objectives.Bucket>, micro: ReadonlyArray<MicroBatch>, loss: number) =>
  Effect.gen(function* () {
    if (!Number.isFinite(loss)) return { tensor: "loss", value: loss }
    for (const m of micro) {
      const g = yield* Effect.result(trainer.gradients(m.feeds, { bucket: m.bucket }))
      if (g._tag === "Failure") continue
      if (!Number.isFinite(g.success.loss)) return { tensor: "loss", value: g.success.loss }
      for (const [name, data] of Object.entries(g.success.grads)) {
        for (let i = 0; i < data.length; i++)
          if (!Number.isFinite(Number(data[i]))) return { tensor: `grad:${name}`, value: Number(data[i]) }
      }
    }
    return { tensor: "grad_norm", value: Number.NaN }
  })

/**
 * Take one optimizer step. After a rejected accumulation the trainer's accumulated gradients (part of the failed step)
 * are dropped, so the next step starts clean (a rejected apply drops them itself).
 */
export const step = (
  trainer: GraphTrainer.Trainer<Objectives.Bucket>,
  micro: ReadonlyArray<MicroBatch>,
  lr: number,
  guard: Guard
): Effect.Effect<StepOutcome, NonFiniteValue | EngineFailed> =>
  Effect.gen(function* () {
    const reject = (tensor: string, value: number) =>
      guard.mode === "skip"
        ? Effect.succeed<StepOutcome>({ loss: Number.NaN, gradNorm: Number.NaN, metrics: {}, skipped: true })
        : Effect.fail(
            new NonFiniteValue({ phase: guard.phase, step: guard.step, tensor, value, skipped: guard.skippedSoFar })
          )
    for (const m of micro) {
      const bad = firstNonFinite(m.feeds)
      if (bad !== undefined) return yield* reject(bad.name, bad.value)
    }
    const engineError = (e: { readonly _tag: string; readonly message: string }) =>
      new EngineFailed({ operation: "train", detail: `${e._tag}: ${e.message}` })
    let loss = 0
    let total = 0
    const sums: Record<string, number> = {}
    const addMetrics = (metrics: Readonly<Record<string, unknown>>, w: number) => {
      for (const [k, v] of Object.entries(metrics)) if (k !== "tokens") sums[k] = (sums[k] ?? 0) + w * scalarOf(v)
    }
    let gradNorm: number
    if (micro.length === 1) {
      const m = micro[0]!
      const r = yield* Effect.result(trainer.step(m.feeds, { lr, bucket: m.bucket }))
      if (r._tag === "Failure") {
        if (r.failure._tag !== "NonFiniteLoss") return yield* engineError(r.failure)
        const d = yield* diagnose(trainer, micro, r.failure.loss)
        return yield* reject(d.tensor, d.value)
      }
      loss = r.success.loss
      total = 1
      addMetrics(r.success.metrics, 1)
      gradNorm = r.success.gradNorm
    } else {
      for (const m of micro) {
        const w = Math.max(m.weight, 1e-12)
        const r = yield* Effect.result(trainer.accumulate(m.feeds, { weight: w, bucket: m.bucket }))
        if (r._tag === "Failure") {
          if (r.failure._tag !== "NonFiniteLoss") return yield* engineError(r.failure)
          trainer.discard()
          const d = yield* diagnose(trainer, micro, r.failure.loss)
          return yield* reject(d.tensor, d.value)
        }
        loss += w * r.success.loss
        total += w
        addMetrics(r.success.metrics, w)
      }
      const first = micro[0]!
      const applied = yield* Effect.result(trainer.apply({ lr, bucket: first.bucket }))
      if (applied._tag === "Failure") {
        if (applied.failure._tag !== "NonFiniteLoss") return yield* engineError(applied.failure)
        const d = yield* diagnose(trainer, micro, loss / total)
        return yield* reject(d.tensor, d.value)
      }
      gradNorm = applied.success.gradNorm
    }
    return {
      loss: loss / total,
      gradNorm,
      metrics: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / total])),
      skipped: false
    }
  })

/** Mean SFT loss over examples (token-weighted), forward only. */
export const evaluate = (
  trainer: GraphTrainer.Trainer<Objectives.Bucket>,
  micro: ReadonlyArray<MicroBatch>
): Effect.Effect<number, EngineFailed> =>
  Effect.gen(function* () {
    let loss = 0
    let total = 0
    for (const m of micro) {
      const r = yield* Effect.mapError(
        trainer.evaluate(m.feeds, { bucket: m.bucket }),
        (e) => new EngineFailed({ operation: "evaluate", detail: `${e._tag}: ${e.message}` })
      )
      loss += m.weight * r.loss
      total += m.weight
    }
    return total > 0 ? loss / total : Number.NaN
  })

/** A tokenized example (optional per-token loss `weights`, see lm's `Batches.Example`). */
export type Example = Batches.Example

/** Rows of a micro-batch: the power of two ≥ n, at most `max` (bounds the number of compiled shapes). */
export const rowsFor = (n: number, max: number): number => {
  let b = 1
  while (b < n && b < max) b *= 2
  return Math.min(b, max)
}

/** Row limit of a micro-batch in a bucket: `microBatch`, fewer for long buckets so rows × length ≤ `tokens` (a power of two, ≥ 1). */
export const rowLimit = (length: number, microBatch: number, tokens: number): number => {
  const fit = Math.max(1, Math.floor(tokens / length))
  let rows = 1
  while (rows * 2 <= Math.min(fit, microBatch)) rows *= 2
  return fit >= microBatch ? microBatch : rows
}

/**
 * Group examples by length bucket and cut each bucket into micro-batches of at most `rowLimit` rows, in order.
 * Rows are padded up to a power of two (`padRows`, bounding the compiled shapes) or kept exact. Returns the index
 * groups with their shapes; examples longer than every bucket are listed apart.
 */
export const pack = (
  examples: ReadonlyArray<Example>,
  buckets: ReadonlyArray<number>,
  microBatch: number,
  padRows = true,
  microBatchTokens = Number.POSITIVE_INFINITY
): {
  readonly groups: Array<{ readonly length: number; readonly rows: number; readonly members: Array<number> }>
  readonly tooLong: Array<number>
} => {
  const { byBucket, tooLong } = bucketize(examples, buckets)
  const groups: Array<{ length: number; rows: number; members: Array<number> }> = []
  for (const [length, members] of [...byBucket.entries()].toSorted((a, b) => a[0] - b[0])) {
    const limit = rowLimit(length, microBatch, microBatchTokens)
    for (let i = 0; i < members.length; i += limit) {
      const part = members.slice(i, i + limit)
      groups.push({ length, rows: padRows ? rowsFor(part.length, limit) : part.length, members: part })
    }
  }
  return { groups, tooLong }
}

const filler = (pad: number): Example => ({ prompt: [pad], completion: [] })

type Group = ReturnType<typeof pack>["groups"][number]

/** A group's rows: its members in order, then `fill` up to the group's (padded) row count. */
const rowsOf = <A>(items: ReadonlyArray<A>, g: Group, fill: A): Array<A> => [
  ...g.members.map((i) => items[i]!),
  ...Array.from({ length: g.rows - g.members.length }, () => fill)
]

/** Completion tokens of a group's members, each counted at its loss weight: the weight of token aggregation. */
const completionTokens = (items: ReadonlyArray<Example>, g: Group): number =>
  g.members.reduce((s, i) => {
    const e = items[i]!
    return s + (e.weights === undefined ? e.completion.length : e.weights.reduce((a, w) => a + w, 0))
  }, 0)

/** SFT micro-batches (weight = completion tokens). */
export const sftMicroBatches = (
  examples: ReadonlyArray<Example>,
  buckets: ReadonlyArray<number>,
  microBatch: number,
  pad: number,
  microBatchTokens = Number.POSITIVE_INFINITY
): Array<MicroBatch> =>
  pack(examples, buckets, microBatch, true, microBatchTokens).groups.map((g) => {
    const b = Batches.tokenBatch(rowsOf(examples, g, filler(pad)), g.length, pad)
    return { bucket: Objectives.bucketOf(b), feeds: Objectives.tokenFeeds(b), weight: completionTokens(examples, g) }
  })

/** A rollout ready for the policy objective. */
export type Rollout = Batches.Rollout

/**
 * Policy-gradient micro-batches, weighted so that accumulation reproduces the whole batch's objective: by completion
 * tokens under token aggregation (padding rows have no tokens), by rows under sequence aggregation, where the graph
 * averages over a micro-batch's rows, so rows are not padded there (exact row counts, more compiled shapes). With
 * `headWindow` (`memory.headWindow`), the LM head runs only on that many positions per row, at the completion.
 */
export const policyMicroBatches = (
  rollouts: ReadonlyArray<Rollout>,
  buckets: ReadonlyArray<number>,
  microBatch: number,
  pad: number,
  aggregate: "token" | "sequence",
  microBatchTokens = Number.POSITIVE_INFINITY,
  headWindow?: number
): Array<MicroBatch> => {
  const withRef = rollouts.some((r) => r.refLogProbs !== undefined)
  return pack(rollouts, buckets, microBatch, aggregate === "token", microBatchTokens).groups.map((g) => {
    const fill: Rollout = {
      prompt: [pad],
      completion: [],
      advantage: 0,
      oldLogProbs: [],
      ...(withRef ? { refLogProbs: [] } : {})
    }
    const b = scored(Batches.policyBatch(rowsOf(rollouts, g, fill), g.length, pad), headWindow)
    return {
      bucket: Objectives.bucketOf(b),
      feeds: Objectives.policyFeeds(b),
      weight: aggregate === "token" ? completionTokens(rollouts, g) : g.members.length
    }
  })
}

/**
 * `b` scored in a window of `headWindow` positions per row (`Batches.scoredWindow`), doubled until every row's loss
 * fits; unchanged without a window or when the window would not be shorter than the row.
 */
const scored = <B extends Policy.TokenBatch>(b: B, headWindow: number | undefined): B => {
  if (headWindow === undefined) return b
  if (!Number.isInteger(headWindow) || headWindow < 1)
    throw new RangeError(`policyMicroBatches: headWindow must be a whole number ≥ 1, got ${headWindow}`)
  let w = headWindow
  const need = Batches.lossWindow(b)
  while (w < need) w *= 2
  return w < b.length ? Batches.scoredWindow(b, w) : b
}
