/**
 * Supervised steps shared by SFT and RFT: tokenize text examples (prompt through the chat template, completion +
 * EOS), drop those longer than every bucket, and take optimizer steps over epoch-ordered batches with the LR
 * schedule, the non-finite guard and an optional held-out loss.
 */
import { Effect } from "effect"
import type { ExampleKind, Position, TextExample } from "./data.ts"
import { takeWithEpochs } from "./data.ts"
import type { Engine, MicroBatch } from "./engine.ts"
import type { EngineFailed, NonFiniteValue, Phase } from "../TrainerErrors.ts"
import type { BatchingSection, GuardSection, SftSection } from "../TrainerConfig.ts"
import { microBatchTokensFor } from "../TrainerConfig.ts"
import { learningRate } from "../LrSchedule.ts"
import * as Emphasis from "./emphasis.ts"
import * as Steps from "./steps.ts"

/** A tokenized example with its origin. */
export interface Tokenized extends Steps.Example {
  readonly problemId: string
  readonly kind: ExampleKind
}

/** Examples tokenized: those kept, the count dropped as too long, and how many marked ones could not be weighted. */
export interface TokenizedSet {
  readonly examples: Array<Tokenized>
  readonly tooLong: number
  /** Examples with `emphasis` ranges whose tokens do not fall on the ranges' edges (trained unweighted). */
  readonly unaligned: number
}

/**
 * Tokenize examples; prompts shared by several examples are encoded once. With `emphasis` ≠ 1, the tokens of the
 * ranges an example marks weigh `emphasis` in the loss (`Emphasis.tokenWeights`; EOS weighs 1).
 */
export const tokenize = (
  engine: Engine,
  examples: ReadonlyArray<TextExample>,
  maxTokens: number,
  emphasis = 1
): Effect.Effect<TokenizedSet, EngineFailed> =>
  Effect.gen(function* () {
    const cache = new Map<string, Array<number>>()
    const out: Array<Tokenized> = []
    let tooLong = 0
    let unaligned = 0
    // `encodeCompletion` appends EOS: the text's own tokens are all but the last.
    const encodeText = (text: string) => engine.encodeCompletion(text).slice(0, -1)
    for (const e of examples) {
      const key = JSON.stringify([e.prompt.messages, e.prompt.prefill ?? ""])
      let prompt = cache.get(key)
      if (prompt === undefined) {
        prompt = yield* engine.encodePrompt(e.prompt)
        cache.set(key, prompt)
      }
      const completion = engine.encodeCompletion(e.completion)
      if (prompt.length + completion.length - 1 > maxTokens) {
        tooLong += 1
        continue
      }
      const marked = emphasis !== 1 && e.emphasis !== undefined && e.emphasis.length > 0
      // The completion's own tokens are all but its EOS.
      const weights = marked
        ? Emphasis.tokenWeights(encodeText, e.completion, completion.slice(0, -1), e.emphasis!, emphasis)
        : undefined
      if (marked && weights === undefined) unaligned += 1
      out.push({
        prompt,
        completion,
        problemId: e.problemId,
        kind: e.kind,
        ...(weights === undefined ? {} : { weights: [...weights, 1] })
      })
    }
    return { examples: out, tooLong, unaligned }
  })

/** Steps of `epochs` passes over `n` examples in batches of `batchSize`, unless `steps` is given. */
export const totalSteps = (section: Pick<SftSection, "steps" | "epochs" | "batchSize">, n: number): number =>
  section.steps ?? Math.max(1, Math.ceil(n / section.batchSize) * section.epochs)

/**
 * The examples a supervised stream draws from: `count` per epoch, the one at `index` of `epoch` (the same every
 * epoch, or warm starts drawn afresh per epoch: `sft.warmStart.redraw`).
 */
export interface ExampleSource {
  readonly count: number
  readonly at: (epoch: number, index: number) => Tokenized
}

/** The same examples every epoch. */
export const fixedSource = (examples: ReadonlyArray<Tokenized>): ExampleSource => ({
  count: examples.length,
  at: (_epoch, index) => examples[index]!
})

/** The epochs the next `count` items from `position` fall in (of a stream of `n` items per epoch). */
export const epochsAhead = (position: Position, n: number, count: number): Array<number> => {
  if (n <= 0) return [position.epoch]
  const last = position.epoch + Math.floor((position.index + Math.max(0, count - 1)) / n)
  return Array.from({ length: last - position.epoch + 1 }, (_, i) => position.epoch + i)
}

/** Mutable state of a supervised stream: where its seeded order stands and how many steps the guard skipped. */
export interface Cursor {
  position: Position
  skipped: number
}

/** A stream's cursor at the start, or where a resumed run left it (`position` from its data, `skipped_steps` counted). */
export const cursorAt = (
  position: Position | undefined,
  counters: Readonly<Record<string, number>> | undefined
): Cursor => ({ position: position ?? { epoch: 0, index: 0 }, skipped: counters?.["skipped_steps"] ?? 0 })

/**
 * One supervised optimizer step: the next `batchSize` examples from `cursor` (stream `stream` of the seeded order
 * of `config.seed`), LR at the trainer's optimizer step of `scheduleTotal`. Advances `cursor` (and counts a step the
 * non-finite guard skipped) and returns the step's metrics.
 */
export const step = (
  engine: Engine,
  config: { readonly seed: number; readonly batching: BatchingSection; readonly guards: GuardSection },
  options: {
    readonly phase: Phase
    readonly stream: string
    readonly examples: ExampleSource
    readonly section: SftSection
    readonly scheduleTotal: number
    readonly stepNumber: number
  },
  cursor: Cursor
): Effect.Effect<Record<string, number>, NonFiniteValue | EngineFailed> =>
  Effect.gen(function* () {
    const { items, epochs, next } = takeWithEpochs(
      config.seed,
      options.stream,
      options.examples.count,
      cursor.position,
      options.section.batchSize
    )
    const batch = items.map((i, k) => options.examples.at(epochs[k]!, i))
    const { buckets, microBatch } = config.batching
    const micro = Steps.sftMicroBatches(
      batch,
      buckets,
      microBatch,
      engine.pad,
      microBatchTokensFor(config.batching, engine.config.vocabSize)
    )
    const lr = learningRate(options.section.lr, engine.trainer().steps(), options.scheduleTotal)
    const t0 = performance.now()
    const guard = Steps.guardFor(options.phase, config.guards, options.stepNumber, cursor.skipped)
    const outcome = yield* Steps.step(engine.trainer(), micro, lr, guard)
    const seconds = (performance.now() - t0) / 1000
    cursor.position = next
    if (outcome.skipped) cursor.skipped += 1
    const tokens = batch.reduce((s, e) => s + e.prompt.length + e.completion.length - 1, 0)
    const padded = micro.reduce((s, m) => s + m.bucket.batch * m.bucket.length, 0)
    return {
      loss: outcome.loss,
      grad_norm: outcome.gradNorm,
      lr,
      examples: batch.length,
      warm_fraction: batch.filter((e) => e.kind === "warm").length / Math.max(1, batch.length),
      drill_fraction: batch.filter((e) => e.kind === "drill").length / Math.max(1, batch.length),
      completion_tokens: batch.reduce((s, e) => s + e.completion.length, 0),
      tokens_per_second: tokens / seconds,
      padding_fraction: 1 - tokens / Math.max(1, padded),
      time_update: seconds,
      epoch: next.epoch + next.index / Math.max(1, options.examples.count)
    }
  })

/** Micro-batches of a fixed evaluation set. */
export const evalBatches = (
  engine: Engine,
  examples: ReadonlyArray<Steps.Example>,
  buckets: ReadonlyArray<number>,
  microBatch: number,
  microBatchTokens: number
): Array<MicroBatch> => Steps.sftMicroBatches(examples, buckets, microBatch, engine.pad, microBatchTokens)
