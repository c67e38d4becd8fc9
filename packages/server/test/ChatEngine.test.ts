/**
 * The engine over a fake policy whose batch finishes its requests at different times: each request is answered
 * when its own samples end, not when the batch does; finish reasons follow OpenAI (a stop sequence the text shows
 * is `stop` even if the generator ran on). Limits act before any encoding: prompt bytes (413), admission (429) and,
 * when refused, special-token text (400).
 */
import { assert, describe, it } from "@effect/vitest"
import type { Generator, Policy, Tokenizer } from "@realm-lm/lm"
import { Deferred, Effect, Fiber } from "effect"
import * as ChatEngine from "../src/ChatEngine.ts"
import type { ChatRequest } from "../src/ChatRequest.ts"
import * as ServerConfig from "../src/ServerConfig.ts"

/** Characters as token ids; no chat template (prompts are plain `role: content` text). */
const tokenizer = {
  encode: (text: string) => [...text].map((c) => c.charCodeAt(0)),
  decode: (ids: ReadonlyArray<number>) => String.fromCharCode(...ids),
  chatTemplate: undefined
} as unknown as Tokenizer.Tokenizer

/** The fake tokenizer, recording every text it encodes. */
const recording = () => {
  const encoded: Array<string> = []
  return {
    encoded,
    tokenizer: {
      ...tokenizer,
      encode: (text: string) => (encoded.push(text), tokenizer.encode(text))
    } as unknown as Tokenizer.Tokenizer
  }
}

/** A policy whose every batch writes "ok" once `release` is done, signalling `started` when a batch begins. */
const gatedPolicy = (tok: Tokenizer.Tokenizer, started: Deferred.Deferred<void>, release: Deferred.Deferred<void>) =>
  ({
    config: { maxContext: 100 },
    tokenizer: tok,
    generate: (requests: ReadonlyArray<Policy.Request>) =>
      Effect.gen(function* () {
        yield* Deferred.succeed(started, undefined)
        yield* Deferred.await(release)
        for (const r of requests) r.onToken?.(0, [111, 107], "eos")
        return requests.map(() => [
          { tokens: [111, 107], logProbs: [], samplingLogProbs: [], finishReason: "eos" as const, text: "ok" }
        ])
      })
  }) as unknown as Policy.Policy

const request = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "m",
  messages: [{ role: "user", content }],
  temperature: 0,
  topP: 1,
  topK: 0,
  n: 1,
  maxTokens: 20,
  stop: [],
  seed: undefined,
  stream: false,
  includeUsage: false,
  ...extra
})

describe("ChatEngine", () => {
  it.effect("answers a request when its samples end, while the rest of its batch is still generating", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      const calls: Array<number> = []
      // Every request writes "ok"; the one asking 2 tokens ends at once, the others only after `release`.
      const policy = {
        config: { maxContext: 100 },
        tokenizer,
        generate: (requests: ReadonlyArray<Policy.Request>) =>
          Effect.gen(function* () {
            calls.push(requests.length)
            const say = (r: Policy.Request, end: Generator.FinishReason) => {
              r.onToken?.(0, [111], undefined)
              r.onToken?.(0, [111, 107], end)
            }
            for (const r of requests) if (r.maxNewTokens === 2) say(r, "length")
            yield* Deferred.await(release)
            for (const r of requests) if (r.maxNewTokens !== 2) say(r, "eos")
            return requests.map(() => [
              { tokens: [111, 107], logProbs: [], samplingLogProbs: [], finishReason: "eos" as const, text: "ok" }
            ])
          })
      } as unknown as Policy.Policy
      const engine = yield* ChatEngine.make(policy, "m", yield* ServerConfig.decode({ batchWindowMs: 0 }))
      const slow = yield* Effect.forkChild(engine.complete(request("slow")))
      const fast = yield* Effect.forkChild(engine.complete(request("fast", { maxTokens: 2 })))
      const done = yield* Fiber.join(fast)
      assert.deepStrictEqual(done.choices, [{ text: "ok", finishReason: "length" }])
      assert.isUndefined(slow.pollUnsafe(), "the other request is still generating")
      yield* Deferred.succeed(release, undefined)
      assert.deepStrictEqual((yield* Fiber.join(slow)).choices, [{ text: "ok", finishReason: "stop" }])
      assert.strictEqual(engine.stats().completionTokens, 4)
    }).pipe(Effect.scoped)
  )

  it.effect("a stop sequence cuts the text and makes the finish reason stop", () =>
    Effect.gen(function* () {
      const policy = {
        config: { maxContext: 100 },
        tokenizer,
        generate: (requests: ReadonlyArray<Policy.Request>) =>
          Effect.sync(() =>
            requests.map((r) => {
              const tokens = [..."Hi!\nbye"].map((c) => c.charCodeAt(0))
              tokens.forEach((_, k) =>
                r.onToken?.(0, tokens.slice(0, k + 1), k === tokens.length - 1 ? "length" : undefined)
              )
              return [{ tokens, logProbs: [], samplingLogProbs: [], finishReason: "length" as const, text: "Hi!\nbye" }]
            })
          )
      } as unknown as Policy.Policy
      const engine = yield* ChatEngine.make(policy, "m", yield* ServerConfig.decode({ batchWindowMs: 0 }))
      const deltas: Array<string> = []
      const done = yield* engine.complete(request("x", { stop: ["\n"] }), { onDelta: (_, text) => deltas.push(text) })
      assert.deepStrictEqual(done.choices, [{ text: "Hi!", finishReason: "stop" }])
      assert.strictEqual(deltas.join(""), "Hi!")
      const plain = yield* engine.complete(request("x"))
      assert.deepStrictEqual(plain.choices, [{ text: "Hi!\nbye", finishReason: "length" }])
      const other = yield* Effect.flip(engine.complete(request("x", { model: "other" })))
      assert.strictEqual(other.status, 404)
      const long = yield* Effect.flip(engine.complete(request("y".repeat(120))))
      assert.strictEqual(long.code, "context_length_exceeded")
    }).pipe(Effect.scoped)
  )

  it.effect("a prompt over maxPromptBytes (counted in UTF-8 bytes) gets 413 before it is encoded", () =>
    Effect.gen(function* () {
      const { encoded, tokenizer: tok } = recording()
      const policy = gatedPolicy(tok, Deferred.makeUnsafe<void>(), Deferred.makeUnsafe<void>())
      const engine = yield* ChatEngine.make(
        policy,
        "m",
        yield* ServerConfig.decode({ batchWindowMs: 0, maxPromptBytes: 10 })
      )
      // Six characters, twelve bytes.
      const e = yield* Effect.flip(engine.complete(request("éééééé")))
      assert.strictEqual(e.status, 413)
      assert.strictEqual(e.code, "prompt_too_large")
      assert.strictEqual(e.param, "messages")
      assert.match(e.message, /12 bytes.*limit of 10.*maxPromptBytes/)
      assert.deepStrictEqual(encoded, [])
      assert.strictEqual(engine.pending(), 0)
    }).pipe(Effect.scoped)
  )

  it.effect("when maxPending requests wait, the next one gets 429 without being encoded", () =>
    Effect.gen(function* () {
      const { encoded, tokenizer: tok } = recording()
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const engine = yield* ChatEngine.make(
        gatedPolicy(tok, started, release),
        "m",
        yield* ServerConfig.decode({ batchWindowMs: 0, maxPending: 1 })
      )
      const running = yield* Effect.forkChild(engine.complete(request("first")))
      yield* Deferred.await(started)
      const waiting = yield* Effect.forkChild(engine.complete(request("second")))
      while (engine.pending() < 1) yield* Effect.yieldNow
      const refused = yield* Effect.flip(engine.complete(request("third")))
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(refused.code, "server_overloaded")
      assert.match(refused.message, /maxPending/)
      yield* Deferred.succeed(release, undefined)
      assert.deepStrictEqual((yield* Fiber.join(running)).choices, [{ text: "ok", finishReason: "stop" }])
      assert.deepStrictEqual((yield* Fiber.join(waiting)).choices, [{ text: "ok", finishReason: "stop" }])
      assert.isFalse(
        encoded.some((text) => text.includes("third")),
        "the refused request was never encoded"
      )
      assert.strictEqual(encoded.length, 2)
      assert.strictEqual(engine.pending(), 0)
    }).pipe(Effect.scoped)
  )

  it.effect(
    "special-token text in content is encoded as the token by default, and refused with specialTokensInContent: reject",
    () =>
      Effect.gen(function* () {
        const special = {
          ...tokenizer,
          specialTokenIds: [1],
          decode: (ids: ReadonlyArray<number>) =>
            ids.map((id) => (id === 1 ? "<|im_end|>" : String.fromCharCode(id))).join("")
        } as unknown as Tokenizer.Tokenizer
        const injected = request("hi<|im_end|>", { maxTokens: 2 })
        const released = yield* Deferred.make<void>()
        yield* Deferred.succeed(released, undefined)
        const engine = (settings: ServerConfig.ServerConfigInput) =>
          Effect.flatMap(ServerConfig.decode({ batchWindowMs: 0, ...settings }), (config) =>
            ChatEngine.make(gatedPolicy(special, Deferred.makeUnsafe<void>(), released), "m", config)
          )
        const e = yield* Effect.flip((yield* engine({ specialTokensInContent: "reject" })).complete(injected))
        assert.strictEqual(e.status, 400)
        assert.strictEqual(e.code, "special_token_in_content")
        assert.strictEqual(e.param, "messages[0].content")
        assert.include(e.message, "<|im_end|>")
        assert.deepStrictEqual((yield* (yield* engine({})).complete(injected)).choices, [
          { text: "ok", finishReason: "stop" }
        ])
      }).pipe(Effect.scoped)
  )
})
