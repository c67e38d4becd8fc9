/**
 * Teacher-forced scoring: the per-token log-probabilities of given completions under the model (raw softmax,
 * temperature 1), batched by length bucket, for reference-model KL and old-policy ratios. It runs the same
 * forward as training, on the weights in the executor's state, so it agrees with the generator's `logProbs`
 * for the same tokens.
 */
import type { Executor, Session } from "@realm-lm/graph"
import { Graph, Loss } from "@realm-lm/graph"
import { ConfigDecode } from "@realm-lm/core"
import type { Scope } from "effect"
import { Effect, Schema } from "effect"
import * as Model from "./Model.ts"
import type { ModelConfig } from "./ModelConfig.ts"
import type { CompileError } from "./internal/sessions.ts"
import * as Sessions from "./internal/sessions.ts"

const { PositiveInt } = ConfigDecode

/** Scorer settings (all optional). */
export const ScorerConfig = Schema.Struct({
  /** Most sequences per run. Default 64. */
  maxBatch: Schema.optionalKey(PositiveInt),
  /** Sequence lengths (prompt + completion − 1) runs are padded to. Default 16, 32, 64, ... up to the context. */
  lengthBuckets: Schema.optionalKey(Schema.Array(PositiveInt)),
  /** Largest logits tensor of one run (batch · length · vocab elements). Default 2^26. */
  logitBudget: Schema.optionalKey(PositiveInt)
})
/** Scorer settings. */
export type ScorerConfig = typeof ScorerConfig.Encoded

/** A (prompt, completion) pair to score. */
export interface ScoreRequest {
  /** Non-empty context. */
  readonly prompt: ReadonlyArray<number>
  /** Tokens whose log-probabilities are wanted. */
  readonly completion: ReadonlyArray<number>
}

/** A scoring request was malformed. */
export class InvalidScoreRequest extends Schema.TaggedError<InvalidScoreRequest>()("InvalidScoreRequest", {
  request: Schema.Int,
  detail: Schema.String
}) {
  override get message(): string {
    return `score request ${this.request}: ${this.detail}`
  }
}

/** Everything `score` can fail with. */
export type ScoreError = InvalidScoreRequest | CompileError | Session.FeedMismatch | Session.RunFailed

/** The scorer. */
export interface Scorer {
  /** log π(completion[t] | prompt, completion[<t]) for every completion token, per request (`[completion.length]`). */
  readonly score: (requests: ReadonlyArray<ScoreRequest>) => Effect.Effect<Array<Float64Array>, ScoreError>
}

/** A scoring bucket. */
export interface ScoreBucket {
  readonly batch: number
  readonly length: number
}

/** Graph: `input_ids`, `targets` int32 `[B, L]` (right-padded) → `logprobs` `[B, L]` = log softmax(logits)[target]. */
export const scoreGraph = (config: ModelConfig, bucket: ScoreBucket): Graph.Graph => {
  const g = Graph.make(`score_b${bucket.batch}_l${bucket.length}`)
  const ids = g.input(Model.names.inputIds, "int32", [bucket.batch, bucket.length])
  const targets = g.input("targets", "int32", [bucket.batch, bucket.length])
  g.output("logprobs", Loss.tokenLogProbs(Model.sequenceLogits(config, ids), targets))
  return g
}

/** Start a scorer on `executor` (weights in its state by Hugging Face name). */
export const make = (
  executor: Executor.ExecutorShape,
  config: ModelConfig,
  settings: ScorerConfig = {}
): Effect.Effect<Scorer, Schema.SchemaError, Scope.Scope> =>
  Effect.gen(function* () {
    const c = yield* ConfigDecode.decodeUnknownEffect(ScorerConfig)(settings)
    const maxBatch = c.maxBatch ?? 64
    const lengthBuckets = c.lengthBuckets ?? Sessions.powersOfTwo(16, config.maxContext)
    const budget = c.logitBudget ?? 2 ** 26
    const batchBuckets = Sessions.powersOfTwo(1, maxBatch)
    const sessions = yield* Sessions.make(executor)

    const score: Scorer["score"] = (requests) =>
      Effect.gen(function* () {
        for (const [i, r] of requests.entries()) {
          if (r.prompt.length === 0)
            return yield* new InvalidScoreRequest({
              request: i,
              detail: "the prompt is empty (the first completion token needs a context)"
            })
          if ([...r.prompt, ...r.completion].some((t) => !Number.isInteger(t) || t < 0 || t >= config.vocabSize)) {
            return yield* new InvalidScoreRequest({ request: i, detail: `a token is outside [0, ${config.vocabSize})` })
          }
          if (r.prompt.length + r.completion.length - 1 > config.maxContext) {
            return yield* new InvalidScoreRequest({
              request: i,
              detail: `prompt + completion − 1 = ${r.prompt.length + r.completion.length - 1} tokens exceed the context ${config.maxContext}`
            })
          }
        }
        const results = requests.map((r) => new Float64Array(r.completion.length))
        // Group by length bucket, then run in chunks that fit the batch and logits budgets.
        const groups = new Map<number, Array<number>>()
        requests.forEach((r, i) => {
          if (r.completion.length === 0) return
          const length = Sessions.bucketFor(lengthBuckets, r.prompt.length + r.completion.length - 1)
          groups.set(length, [...(groups.get(length) ?? []), i])
        })
        for (const [length, members] of [...groups].toSorted((a, b) => a[0] - b[0])) {
          const rows = Math.max(1, Math.min(maxBatch, Math.floor(budget / (length * config.vocabSize))))
          for (let start = 0; start < members.length; start += rows) {
            const part = members.slice(start, start + rows)
            const b = Sessions.bucketFor(batchBuckets, part.length, maxBatch)
            const ids = new Int32Array(b * length)
            const targets = new Int32Array(b * length)
            part.forEach((req, row) => {
              const r = requests[req]!
              const seq = [...r.prompt, ...r.completion]
              ids.set(seq.slice(0, -1), row * length)
              targets.set(seq.slice(1), row * length)
            })
            const session = yield* sessions(`score:${b}:${length}`, () => scoreGraph(config, { batch: b, length }))
            const out = (yield* session.run({ [Model.names.inputIds]: ids, targets }))["logprobs"]?.data as Float32Array
            part.forEach((req, row) => {
              const r = requests[req]!
              const from = row * length + r.prompt.length - 1
              results[req]!.set(out.subarray(from, from + r.completion.length))
            })
          }
        }
        return results
      })
    return { score }
  })
