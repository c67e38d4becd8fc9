/**
 * The engine over a fake policy whose batch finishes its requests at different times: each request is answered
 * when its own samples end, not when the batch does; finish reasons follow OpenAI (a stop sequence the text shows
 * is `stop` even if the generator ran on).
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

const request = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "m", messages: [{ role: "user", content }], temperature: 0, topP: 1, topK: 0, n: 1, maxTokens: 20, stop: [], seed: undefined, stream: false, includeUsage: false, ...extra
})

describe("ChatEngine", () => {
  it.effect("answers a request when its samples end, while the rest of its batch is still generating", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const calls: Array<number> = []
      // Every request writes "ok"; the one asking 2 tokens ends at once, the others only after `release`.
      const policy = {
        config: { maxContext: 100 },
        tokenizer,
        generate: (requests: ReadonlyArray<Policy.Request>) =>
          Effect.gen(function*() {
            calls.push(requests.length)
            const say = (r: Policy.Request, end: Generator.FinishReason) => {
              r.onToken?.(0, [111], undefined)
              r.onToken?.(0, [111, 107], end)
            }
            for (const r of requests) if (r.maxNewTokens === 2) say(r, "length")
            yield* Deferred.await(release)
            for (const r of requests) if (r.maxNewTokens !== 2) say(r, "eos")
            return requests.map(() => [{ tokens: [111, 107], logProbs: [], samplingLogProbs: [], finishReason: "eos" as const, text: "ok" }])
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
    }).pipe(Effect.scoped))

  it.effect("a stop sequence cuts the text and makes the finish reason stop", () =>
    Effect.gen(function*() {
      const policy = {
        config: { maxContext: 100 },
        tokenizer,
        generate: (requests: ReadonlyArray<Policy.Request>) =>
          Effect.sync(() =>
            requests.map((r) => {
              const tokens = [..."Hi!\nbye"].map((c) => c.charCodeAt(0))
              tokens.forEach((_, k) => r.onToken?.(0, tokens.slice(0, k + 1), k === tokens.length - 1 ? "length" : undefined))
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
    }).pipe(Effect.scoped))
})
