/**
 * From a validated chat request to finished choices: the prompt through the tokenizer's chat template (as
 * trainers and evaluators encode it), context checks, per-request sampling and seeds, and generation through the
 * batcher so concurrent requests share one `policy.generate` batch. Streaming callers get text deltas as tokens
 * arrive. Knows nothing of HTTP.
 */
import { Rng } from "@realm-lm/core"
import type { Generator, Policy } from "@realm-lm/lm"
import { PromptText, Sampling } from "@realm-lm/lm"
import type { Scope } from "effect"
import { Effect, Schema } from "effect"
import * as ApiError from "./ApiError.ts"
import * as Batcher from "./Batcher.ts"
import type { ChatRequest } from "./ChatRequest.ts"
import type { Choice, FinishReason, Usage } from "./ChatResponse.ts"
import type { ServerConfig } from "./ServerConfig.ts"
import * as TextStream from "./TextStream.ts"

/** The checkpoint cannot be served. */
export class ModelUnservable extends Schema.TaggedError<ModelUnservable>()("ModelUnservable", { model: Schema.String, detail: Schema.String }) {
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

/** The engine. */
export interface ChatEngine {
  /** The model id clients must send. */
  readonly model: string
  readonly maxContext: number
  /** Generate; `onDelta` streams text; `signal` abandons the request (it stops at the next step). */
  readonly complete: (request: ChatRequest, hooks?: { readonly onDelta?: OnDelta; readonly signal?: AbortSignal }) => Effect.Effect<Completion, ApiError.ApiError>
  readonly stats: () => Batcher.BatcherStats
  readonly pending: () => number
}

const finishOf = (reason: Generator.FinishReason): FinishReason => (reason === "length" ? "length" : "stop")

/** An engine over a loaded policy (which must have a tokenizer), named `model`. */
export const make = (policy: Policy.Policy, model: string, config: ServerConfig): Effect.Effect<ChatEngine, ModelUnservable, Scope.Scope> =>
  Effect.gen(function*() {
    const tokenizer = policy.tokenizer
    if (tokenizer === undefined) return yield* new ModelUnservable({ model, detail: "the checkpoint has no tokenizer.json; a chat server needs its tokenizer" })
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
    const decode = (ids: ReadonlyArray<number>) => tokenizer.decode(ids, { skipSpecialTokens: true })
    let unseeded = 0

    const complete: ChatEngine["complete"] = (request, hooks = {}) =>
      Effect.gen(function*() {
        if (request.model !== model) return yield* Effect.fail(ApiError.unknownModel(request.model, model))
        const text = yield* PromptText.render(tokenizer, request.messages).pipe(
          Effect.mapError((e) => ApiError.invalid("messages", `the chat template rejected the messages: ${e.message}`))
        )
        const prompt = tokenizer.encode(text)
        if (prompt.length >= maxContext) {
          return yield* Effect.fail(ApiError.invalid("messages", `this model's maximum context length is ${maxContext} tokens, but the messages take ${prompt.length}; shorten them`, "context_length_exceeded"))
        }
        const room = maxContext - prompt.length
        if (request.maxTokens !== undefined && request.maxTokens > room) {
          return yield* Effect.fail(ApiError.invalid("max_tokens", `this model's maximum context length is ${maxContext} tokens; the messages take ${prompt.length}, leaving ${room} for the completion, but max_tokens is ${request.maxTokens}`, "context_length_exceeded"))
        }
        const maxNewTokens = Math.min(request.maxTokens ?? config.defaultMaxTokens, room)
        const rng = request.seed !== undefined ? Rng.Rng.make(request.seed, "chat") : Rng.Rng.make(config.seed, "unseeded", unseeded++)
        const streams = Array.from({ length: request.n }, () => TextStream.make(decode, request.stop))
        const onDelta = hooks.onDelta
        const generated = yield* batcher.submit({
          prompt,
          samples: request.n,
          rng,
          sampling: request.temperature === 0 ? Sampling.greedy : { temperature: request.temperature, topK: request.topK, topP: request.topP },
          stopStrings: request.stop,
          maxNewTokens,
          ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
          ...(onDelta === undefined ? {} : {
            onToken: (j: number, tokens: ReadonlyArray<number>, finished: Generator.FinishReason | undefined) => {
              const delta = (streams[j] as TextStream.TextStream).update(tokens, finished !== undefined)
              if (delta !== "" || finished !== undefined) onDelta(j, delta, finished === undefined ? undefined : finishOf(finished))
            }
          })
        }).pipe(Effect.mapError((e) => (e._tag === "Overloaded" ? ApiError.overloaded(e.pending) : ApiError.internal(e.message))))
        const completions = generated as ReadonlyArray<Policy.Completion>
        const choices = completions.map((c, j) => {
          const stream = streams[j] as TextStream.TextStream
          if (onDelta === undefined) stream.update(c.tokens, true)
          return { text: stream.text(), finishReason: finishOf(c.finishReason) }
        })
        return { choices, usage: { promptTokens: prompt.length, completionTokens: completions.reduce((s, c) => s + c.tokens.length, 0) } }
      })

    return { model, maxContext, complete, stats: batcher.stats, pending: batcher.pending }
  })
