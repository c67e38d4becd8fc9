/**
 * The OpenAI-compatible endpoint client against a scripted `HttpClient` (no network) on the test clock: retries
 * with backoff and `Retry-After`, failures that name the URL and the fix, unknown models caught at once and by
 * `check`, the concurrency limit, malformed replies, and an API key that is sent but never shown.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Data, Effect, Fiber, Redacted, Schema } from "effect"
import { HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import type { HttpClientRequest } from "effect/http"
import { TestClock } from "effect/testing"
import * as ChatEndpoint from "../src/ChatEndpoint.ts"

type Answer =
  | { readonly status: number; readonly body: unknown; readonly headers?: Record<string, string> }
  | "unreachable"

const reply = (texts: ReadonlyArray<string>, order: "forward" | "reverse" = "forward") => ({
  status: 200,
  body: {
    choices: (order === "forward"
      ? texts.map((t, index) => ({ t, index }))
      : texts.map((t, index) => ({ t, index })).toReversed()
    ).map(({ index, t }) => ({ index, message: { role: "assistant", content: t }, finish_reason: "stop" })),
    usage: { prompt_tokens: 7, completion_tokens: 3 }
  }
})

/** A client answering each request from `answer` (called with the request and how many came before it). */
const scripted = (
  answer: (request: HttpClientRequest.HttpClientRequest, n: number) => Answer | Effect.Effect<Answer>
) => {
  const seen: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) =>
    Effect.gen(function* () {
      seen.push(request)
      const a = answer(request, seen.length - 1)
      const out = Effect.isEffect(a) ? yield* a : a
      if (out === "unreachable") {
        const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { cause: { code: "ECONNREFUSED" } })
        return yield* new HttpClientError.HttpClientError({
          reason: new HttpClientError.TransportError({ request, cause })
        })
      }
      return HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify(out.body), {
          status: out.status,
          headers: { "content-type": "application/json", ...out.headers }
        })
      )
    })
  )
  return { client, seen }
}

const settings = (extra: Record<string, unknown> = {}) =>
  Schema.decodeUnknownSync(ChatEndpoint.EndpointConfig)({
    baseUrl: "http://127.0.0.1:8000/v1/",
    model: "toy",
    ...extra
  })

const connect = <E = never>(
  client: HttpClient.HttpClient,
  extra: Record<string, unknown> = {},
  key?: string,
  options?: ChatEndpoint.Options<E>
) =>
  ChatEndpoint.make(settings(extra), key === undefined ? undefined : Redacted.make(key), options).pipe(
    Effect.provideService(HttpClient.HttpClient, client)
  )

/** Run `effect` in a fiber while the test clock moves on a minute at a time, until it finishes. */
const withClock = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < 100 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })

const ask = { messages: [{ role: "user", content: "1 + 1?" }], temperature: 0, maxTokens: 8 }

describe("ChatEndpoint", () => {
  it("settings: defaults, and a base URL with credentials or a query is refused with the field", () => {
    const s = settings()
    assert.strictEqual(s.concurrency, 8)
    assert.strictEqual(s.maxRetries, 5)
    const bad = Schema.decodeUnknownResult(ChatEndpoint.EndpointConfig)({
      baseUrl: "http://u:p@host/v1?x=1",
      model: "m"
    })
    assert.strictEqual(bad._tag, "Failure")
    const text = String(bad._tag === "Failure" ? bad.failure : "")
    assert.include(text, "must not carry credentials")
    assert.include(text, "must not have a query string")
  })

  it.effect(
    "retries a 503 and a 429 (waiting its Retry-After), then returns the choices in index order with usage",
    () =>
      Effect.gen(function* () {
        const { client, seen } = scripted((_, n) =>
          n === 0
            ? { status: 503, body: { error: { message: "loading" } } }
            : n === 1
              ? { status: 429, body: {}, headers: { "retry-after": "20" } }
              : reply(["a", "b"], "reverse")
        )
        const endpoint = yield* connect(client, { initialBackoffMs: 1000 })
        const start = yield* Clock.currentTimeMillis
        const out = yield* withClock(endpoint.complete({ ...ask, n: 2, seed: 5 }))
        assert.deepStrictEqual(
          out.choices.map((c) => c.text),
          ["a", "b"]
        )
        assert.strictEqual(out.promptTokens, 7)
        assert.strictEqual(seen.length, 3)
        // The body sent: model, messages, temperature, max_tokens, n and seed.
        const sent = seen[0]?.body as { readonly body: Uint8Array }
        const body = JSON.parse(new TextDecoder().decode(sent.body)) as Record<string, unknown>
        assert.deepStrictEqual(body, {
          model: "toy",
          messages: ask.messages,
          temperature: 0,
          max_tokens: 8,
          n: 2,
          seed: 5
        })
        assert.strictEqual(seen[0]?.url, "http://127.0.0.1:8000/v1/chat/completions")
        // At least the first backoff's half plus the 20 s Retry-After passed.
        assert.isAtLeast((yield* Clock.currentTimeMillis) - start, 20_500)
      })
  )

  it.effect(
    "a server that cannot be reached fails after maxRetries + 1 attempts, naming the URL and how to start one",
    () =>
      Effect.gen(function* () {
        const { client, seen } = scripted(() => "unreachable")
        const endpoint = yield* connect(client, { maxRetries: 2 })
        const error = yield* Effect.flip(withClock(endpoint.complete(ask)))
        assert.strictEqual(error.reason, "unreachable")
        assert.strictEqual(error.attempts, 3)
        assert.strictEqual(seen.length, 3)
        assert.include(
          error.message,
          "http://127.0.0.1:8000/v1/chat/completions (model toy): cannot connect (TransportError: ECONNREFUSED) (after 3 attempts)"
        )
        assert.include(error.message, "realm serve")
      })
  )

  it.effect("an unknown model fails at once (no retries), and check names the models the server lists", () =>
    Effect.gen(function* () {
      const { client, seen } = scripted((request) =>
        request.url.endsWith("/models")
          ? { status: 200, body: { object: "list", data: [{ id: "toy", object: "model" }] } }
          : {
              status: 404,
              body: {
                error: {
                  message: "the model 'nope' does not exist on this server; it serves 'toy'",
                  code: "model_not_found"
                }
              }
            }
      )
      const endpoint = yield* connect(client, { model: "nope" })
      const error = yield* Effect.flip(endpoint.complete(ask))
      assert.strictEqual(error.reason, "unknown-model")
      assert.strictEqual(error.attempts, 1)
      assert.strictEqual(seen.length, 1)
      const checked = yield* Effect.flip(endpoint.check)
      assert.strictEqual(checked.reason, "unknown-model")
      assert.include(checked.message, "the server does not serve 'nope'; it serves 'toy'")
      const served = yield* connect(client)
      yield* served.check
    })
  )

  it.effect(
    "a 404 that is not about the model says to give the API root; a 400 is not retried and keeps the server's message",
    () =>
      Effect.gen(function* () {
        const { client, seen } = scripted((_, n) =>
          n === 0
            ? { status: 404, body: { error: { message: "no route POST /chat/completions" } } }
            : { status: 400, body: { error: { message: "max_tokens is too large" } } }
        )
        const endpoint = yield* connect(client)
        const wrongPath = yield* Effect.flip(endpoint.complete(ask))
        assert.strictEqual(wrongPath.reason, "refused")
        assert.include(wrongPath.message, "is the URL the API root")
        const refused = yield* Effect.flip(endpoint.complete(ask))
        assert.strictEqual(refused.reason, "refused")
        assert.include(refused.message, "HTTP 400: max_tokens is too large")
        assert.strictEqual(seen.length, 2)
      })
  )

  it.effect("a reply with the wrong number of choices or no content is malformed and retried", () =>
    Effect.gen(function* () {
      const { client, seen } = scripted((_, n) =>
        n === 0
          ? reply(["only one"])
          : n === 1
            ? { status: 200, body: { choices: [{ message: {} }, { message: {} }] } }
            : reply(["x", ""])
      )
      const endpoint = yield* connect(client, { initialBackoffMs: 10 })
      const out = yield* withClock(endpoint.complete({ ...ask, n: 2 }))
      assert.deepStrictEqual(
        out.choices.map((c) => c.text),
        ["x", ""]
      ) // an empty completion is a completion
      assert.strictEqual(seen.length, 3)
      assert.include(String(ChatEndpoint.parseReply("{}", 1)), "no choices")
    })
  )

  it.effect("never more than `concurrency` requests in flight", () =>
    Effect.gen(function* () {
      let inFlight = 0
      let most = 0
      const { client, seen } = scripted(() =>
        Effect.gen(function* () {
          inFlight += 1
          most = Math.max(most, inFlight)
          yield* Effect.sleep("1 second")
          inFlight -= 1
          return reply(["ok"])
        })
      )
      const endpoint = yield* connect(client, { concurrency: 3 })
      const all = yield* withClock(
        Effect.forEach(
          Array.from({ length: 10 }, (_, i) => i),
          () => endpoint.complete(ask),
          { concurrency: "unbounded" }
        )
      )
      assert.strictEqual(all.length, 10)
      assert.strictEqual(seen.length, 10)
      assert.strictEqual(most, 3)
    })
  )

  it.effect("the API key is sent as a Bearer token and never appears in an error", () =>
    Effect.gen(function* () {
      const { client, seen } = scripted(() => ({ status: 401, body: { error: { message: "bad key sk-secret-1" } } }))
      const endpoint = yield* connect(client, {}, "sk-secret-1")
      const error = yield* Effect.flip(endpoint.complete(ask))
      assert.strictEqual(error.reason, "unauthorized")
      assert.strictEqual(seen[0]?.headers.authorization, "Bearer sk-secret-1")
      assert.notInclude(error.message, "sk-secret-1")
      assert.include(error.message, "bad key ***")
      assert.include(error.message, "apiKeyEnv")
    })
  )

  it.effect(
    "hooks: attempts are announced (a failing hook ends the request), failures told with their wait, replies rejected or counted",
    () =>
      Effect.gen(function* () {
        class Spent extends Data.TaggedError("Spent")<{ readonly label: string }> {}
        const { client, seen } = scripted((_, n) =>
          n === 0
            ? { status: 503, body: "down sk-secret-2" }
            : n === 1
              ? reply([" "])
              : n === 2
                ? { status: 200, body: { choices: [{ message: { content: "12345" } }] } }
                : "unreachable"
        )
        const before: Array<string> = []
        const told: Array<ChatEndpoint.AttemptFailure> = []
        const endpoint = yield* connect(client, { initialBackoffMs: 10, maxRetries: 2 }, "sk-secret-2", {
          countTokens: (text) => text.length,
          reject: (r) => (r.choices.some((c) => c.text.trim() === "") ? "an empty completion" : undefined),
          beforeAttempt: (label) =>
            before.length >= 4 ? Effect.fail(new Spent({ label })) : Effect.sync(() => void before.push(label)),
          onAttemptFailed: (failure) => Effect.sync(() => void told.push(failure))
        })
        const out = yield* withClock(endpoint.complete(ask, "p1"))
        // Retried past a 503 and a rejected reply; the third reply reports no usage, so countTokens counts it.
        assert.deepStrictEqual(out, {
          choices: [{ text: "12345", finishReason: null }],
          promptTokens: 0,
          completionTokens: 5
        })
        assert.deepStrictEqual(before, ["p1", "p1", "p1"])
        assert.deepStrictEqual(
          told.map((f) => `${f.label}:${f.reason}:${f.attempt}`),
          ["p1:server:0", "p1:malformed:1"]
        )
        assert.isTrue(told.every((f) => f.retryInMs !== undefined && f.retryInMs >= 0))
        assert.strictEqual(told[0]?.excerpt, '"down ***"') // the body's start, key scrubbed
        assert.include(told[1]?.detail, "an empty completion")
        // The next request: unreachable, told as the last attempt (no wait) with its transport error, then the hook fails.
        const error = yield* Effect.flip(withClock(endpoint.complete(ask, "p2")))
        assert.strictEqual(error._tag, "Spent")
        assert.strictEqual(seen.length, 4)
        assert.deepStrictEqual(
          told.slice(2).map((f) => `${f.label}:${f.reason}:${f.attempt}:${f.transport}:${f.retryInMs === undefined}`),
          ["p2:unreachable:0:TransportError: ECONNREFUSED:false"]
        )
        const unreachable = yield* Effect.flip(withClock((yield* connect(client, { maxRetries: 0 })).complete(ask)))
        assert.strictEqual(
          unreachable._tag === "ChatEndpointError" && unreachable.transport,
          "TransportError: ECONNREFUSED"
        )
      })
  )

  it.effect("a response over maxResponseBytes fails at once as too-large, saying the cap and the size", () =>
    Effect.gen(function* () {
      const { client, seen } = scripted(() => reply(["x".repeat(2000)]))
      const endpoint = yield* connect(client, { maxResponseBytes: 1000 })
      const error = yield* Effect.flip(endpoint.complete(ask))
      assert.strictEqual(error.reason, "too-large")
      assert.strictEqual(seen.length, 1)
      assert.match(
        error.detail,
        /^HTTP 200 response larger than maxResponseBytes \(1000; (Content-Length|stopped reading after) \d+/
      )
    })
  )
})
