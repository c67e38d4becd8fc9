/**
 * From a validated chat request to finished choices: limits checked on the raw text (bytes, special tokens),
 * admission (429 when full) before any work, the prompt through the tokenizer's chat template (as trainers and
 * evaluators encode it, one prompt at a time), context checks, per-request sampling and seeds, and generation
 * through the batcher so concurrent requests share one `policy.generate` batch. A request is answered as soon as
 * its own samples finish, not when the whole batch does; streaming callers get text deltas as tokens arrive. Knows
 * nothing of HTTP.
 */
import { Rng } from "@realm-lm/core"
import type { Generator, Policy } from "@realm-lm/lm"
import { PromptText, Sampling } from "@realm-lm/lm"
import type { Scope } from "effect"
import { Deferred, Effect, Schema } from "effect"
import * as Admission from "./Admission.ts"
import * as ApiError from "./ApiError.ts"
import * as Batcher from "./Batcher.ts"
import type { ChatRequest } from "./ChatRequest.ts"
import type { Choice, FinishReason, Usage } from "./ChatResponse.ts"
import * as PromptLimits from "./PromptLimits.ts"
import type { ServerConfig } from "./ServerConfig.ts"
import * as TextStream from "./TextStream.ts"

/** The checkpoint cannot be served. */
export class ModelUnservable extends Schema.TaggedError<ModelUnservable>()("ModelUnservable", {
  model: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot serve ${this.model}: ${this.detail}`
  }
}

/** Called with each piece of text that is safe to send, and once per choice with its finish reason. */
export type OnDelta = (index: number, text: string, finished: FinishReason | undefined) => void

/** A request's result. */
export interface Completion {
  readonly choices: ReadonlyArray<Choice>
  readonly usage: Usage
}

/** Counters since start: the batcher's, plus generated tokens and requests whose client went away. */
export interface EngineStats extends Batcher.BatcherStats {
  readonly completionTokens: number
  readonly abandoned: number
}

/** The engine. */
export interface ChatEngine {
  /** The model id clients must send. */
  readonly model: string
  readonly maxContext: number
  /**
   * Generate; `onDelta` streams text; `signal` abandons the request (it is not encoded if still waiting, and stops
   * at the next step if generating).
   */
  readonly complete: (
    request: ChatRequest,
    hooks?: { readonly onDelta?: OnDelta; readonly signal?: AbortSignal }
  ) => Effect.Effect<Completion, ApiError.ApiError>
  readonly stats: () => EngineStats
  /** Requests admitted and not yet generating: waiting to be encoded, or for a batch. */
  readonly pending: () => number
}

interface Finished {
  readonly tokens: number
  readonly reason: Generator.FinishReason
}

/** OpenAI's finish reason: `stop` for an end token or a stop sequence (also one only the text shows), else `length`. */
const finishOf = (reason: Generator.FinishReason, stream: TextStream.TextStream): FinishReason =>
  reason !== "length" || stream.stopped() ? "stop" : "length"

/** An engine over a loaded policy (which must have a tokenizer), named `model`. */
export const make = (
  policy: Policy.Policy,
  model: string,
  config: ServerConfig
): Effect.Effect<ChatEngine, ModelUnservable, Scope.Scope> =>
  Effect.gen(function* () {
    const tokenizer = policy.tokenizer
    if (tokenizer === undefined)
      return yield* new ModelUnservable({
        model,
        detail: "the checkpoint has no tokenizer.json; a chat server needs its tokenizer"
      })
    const maxContext = policy.config.maxContext
    const batcher = yield* Batcher.make(
      (requests: ReadonlyArray<Policy.Request>) => policy.generate(requests, { maxNewTokens: config.defaultMaxTokens }),
      {
        windowMs: config.batchWindowMs,
        maxRows: config.maxBatchRows,
        maxPending: config.maxPending,
        rowsOf: (r) => r.samples ?? 1,
        isCancelled: (r) => r.signal?.aborted === true
      }
    )
    const admission = Admission.make(config.maxPending, batcher.pending)
    const refusedTexts = config.specialTokensInContent === "reject" ? PromptLimits.specialTexts(tokenizer) : []
    const decode = (ids: ReadonlyArray<number>) => tokenizer.decode(ids, { skipSpecialTokens: true })
    let unseeded = 0
    let completionTokens = 0
    let abandoned = 0

    const complete: ChatEngine["complete"] = (request, hooks = {}) =>
      Effect.gen(function* () {
        if (request.model !== model) return yield* Effect.fail(ApiError.unknownModel(request.model, model))
        const refused = PromptLimits.check(request.messages, config.maxPromptBytes, refusedTexts)
        if (refused !== undefined) return yield* Effect.fail(refused)
        const prompt = yield* admission.encode(
          Effect.suspend(() =>
            hooks.signal?.aborted === true
              ? Effect.andThen(
                  Effect.sync(() => (abandoned += 1)),
                  Effect.interrupt
                ) // the client left while it waited
              : PromptText.encodeMessages(tokenizer, request.messages).pipe(
                  Effect.mapError((e) =>
                    ApiError.invalid("messages", `the chat template rejected the messages: ${e.message}`)
                  )
                )
          )
        )
        if (prompt.length >= maxContext) {
          return yield* Effect.fail(
            ApiError.invalid(
              "messages",
              `this model's maximum context length is ${maxContext} tokens, but the messages take ${prompt.length}; shorten them`,
              "context_length_exceeded"
            )
          )
        }
        const room = maxContext - prompt.length
        if (request.maxTokens !== undefined && request.maxTokens > room) {
          return yield* Effect.fail(
            ApiError.invalid(
              "max_tokens",
              `this model's maximum context length is ${maxContext} tokens; the messages take ${prompt.length}, leaving ${room} for the completion, but max_tokens is ${request.maxTokens}`,
              "context_length_exceeded"
            )
          )
        }
        const streams = Array.from({ length: request.n }, () => TextStream.make(decode, request.stop))
        // Each sample reports its end through onToken; once all have, the request is answered, batch or no batch.
        const finished: Array<Finished | undefined> = Array.from({ length: request.n }, () => undefined)
        let remaining = request.n
        const allFinished = Deferred.makeUnsafe<ReadonlyArray<Finished>>()
        const onDelta = hooks.onDelta
        const onToken = (j: number, tokens: ReadonlyArray<number>, end: Generator.FinishReason | undefined) => {
          const stream = streams[j]!
          if (onDelta === undefined && end === undefined) return // without streaming, only the final text is decoded
          const delta = stream.update(tokens, end !== undefined)
          if (onDelta !== undefined && (delta !== "" || end !== undefined))
            onDelta(j, delta, end === undefined ? undefined : finishOf(end, stream))
          if (end !== undefined && finished[j] === undefined) {
            finished[j] = { tokens: tokens.length, reason: end }
            remaining -= 1
            if (remaining === 0) Deferred.doneUnsafe(allFinished, Effect.succeed(finished as ReadonlyArray<Finished>))
          }
        }
        const submitted = batcher
          .submit({
            prompt,
            samples: request.n,
            rng:
              request.seed !== undefined
                ? Rng.Rng.make(request.seed, "chat")
                : Rng.Rng.make(config.seed, "unseeded", unseeded++),
            sampling:
              request.temperature === 0
                ? Sampling.greedy
                : { temperature: request.temperature, topK: request.topK, topP: request.topP },
            stopStrings: request.stop,
            maxNewTokens: Math.min(request.maxTokens ?? config.defaultMaxTokens, room),
            onToken,
            ...(hooks.signal === undefined ? {} : { signal: hooks.signal })
          })
          .pipe(
            Effect.map((completions): ReadonlyArray<Finished> =>
              completions.map((c) => ({ tokens: c.tokens.length, reason: c.finishReason }))
            ),
            Effect.mapError((e) =>
              e._tag === "Overloaded" ? ApiError.overloaded(e.pending) : ApiError.internal(e.message)
            )
          )
        const samples = yield* Effect.raceFirst(Deferred.await(allFinished), submitted)
        const used = samples.reduce((s, c) => s + c.tokens, 0)
        completionTokens += used
        if (hooks.signal?.aborted === true) abandoned += 1
        const choices = samples.map((c, j) => {
          const stream = streams[j]!
          return { text: stream.text(), finishReason: finishOf(c.reason, stream) }
        })
        return { choices, usage: { promptTokens: prompt.length, completionTokens: used } }
      })

    return {
      model,
      maxContext,
      complete,
      stats: () => ({ ...batcher.stats(), completionTokens, abandoned }),
      pending: () => admission.admitted() + batcher.pending()
    }
  })
