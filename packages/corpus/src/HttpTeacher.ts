/**
 * A teacher behind any OpenAI-compatible `/v1/chat/completions` endpoint. It sends the guided prompt (rulebook,
 * expert hints, output format), samples K routes per problem at a temperature, and survives real endpoints:
 * a global concurrency limit, retries with exponential backoff and jitter on 429/5xx/timeouts/malformed bodies
 * honouring `Retry-After`, a request timeout, and a token or cost budget. The API key comes from an environment
 * variable, is held as `Redacted`, and is scrubbed from every recorded detail.
 */
import { AnswerJudge, ConfigDecode, Rng, Teacher } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Clock, Config, Duration, Effect, Layer, Option, Redacted, Schema, Semaphore, Stream } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import type { HttpClientError, HttpClientResponse } from "effect/http"
import { guidedMessages, routeFromText } from "./Prompts.ts"
import * as TeacherMetrics from "./TeacherMetrics.ts"

const Positive = Schema.Int.check(Schema.isGreaterThan(0))
const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) => schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/**
 * What is wrong with a base URL, never quoting it (it may carry credentials): not http(s), unparsable, credentials
 * in it (they belong in the environment variable named by `apiKeyEnv`), a query string or fragment (`/chat/completions`
 * would be appended inside it).
 */
export const baseUrlIssues = (baseUrl: string): Array<string> => {
  if (!/^https?:\/\//i.test(baseUrl)) return ["must start with http:// or https://"]
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return ["is not a valid URL"]
  }
  const issues: Array<string> = []
  if (url.username !== "" || url.password !== "") {
    issues.push("must not carry credentials (user:password@host): remove them, put the API key in an environment variable and name that variable in apiKeyEnv")
  }
  if (baseUrl.includes("?")) {
    issues.push("must not have a query string (?...): remove it; baseUrl is the API root up to /v1 (e.g. https://api.openai.com/v1), /chat/completions is appended to it, and an API key goes in the environment variable named by apiKeyEnv")
  }
  if (baseUrl.includes("#")) issues.push("must not have a fragment (#...): remove it")
  return issues
}

/** Configuration of the HTTP teacher (config path `teacher.http`). */
export const HttpTeacherConfig = Schema.Struct({
  /** API base URL up to `/v1`, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`. */
  baseUrl: Schema.NonEmptyString,
  model: Schema.NonEmptyString,
  /** Name of the environment variable holding the API key; absent for endpoints without auth. */
  apiKeyEnv: Schema.optionalKey(Schema.NonEmptyString),
  /** Sampling temperature. Default 0.7. */
  temperature: withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 })), 0.7),
  /** `max_tokens` per completion. Default 512. */
  maxTokens: withDefault(Positive, 512),
  /** Completions per request (`n`); 1 for servers without `n`. Default 1. */
  samplesPerRequest: withDefault(Positive, 1),
  /** Requests in flight across all problems. Default 4. */
  concurrency: withDefault(Positive, 4),
  /** Retries per request after the first attempt. Default 5. */
  maxRetries: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 5),
  /** First backoff in ms, doubled per retry with equal jitter, capped at `maxBackoffMs`. Defaults 500 and 30000. */
  initialBackoffMs: withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)), 500),
  maxBackoffMs: withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)), 30_000),
  /** Longest `Retry-After` honoured, in ms. Default 120000. */
  maxRetryAfterMs: withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)), 120_000),
  /** Time allowed for one request (headers and body), in ms. Default 60000. */
  timeoutMs: withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 60_000),
  /**
   * Largest response body read, in bytes. A bigger one (by `Content-Length`, or once that many bytes arrived) is not
   * read further and the request fails with reason `too-large`, without retries. Default 8388608 (8 MiB).
   */
  maxResponseBytes: withDefault(Positive, 8 * 1024 * 1024),
  /** Stop (reason `budget`) once this many prompt + completion tokens were used. */
  maxTotalTokens: Schema.optionalKey(Positive),
  /** Stop once this much was spent, from the two prices below (USD per million tokens). */
  maxCostUsd: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
  inputUsdPerMillion: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  outputUsdPerMillion: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Expert hints added to the guided prompt after the rulebook. */
  hints: Schema.optionalKey(Schema.String),
  /** Replaces the default instruction (see `Prompts.defaultSystem`). */
  system: Schema.optionalKey(Schema.String),
  /** Send the per-problem seed as the `seed` request field. Default true. */
  sendSeed: withDefault(Schema.Boolean, true)
}).check(Schema.makeFilter((c) => {
  const issues: Array<Schema.FilterIssue> = []
  if (c.maxCostUsd !== undefined && (c.inputUsdPerMillion === undefined || c.outputUsdPerMillion === undefined)) {
    issues.push({ path: ["maxCostUsd"], issue: "a cost budget needs inputUsdPerMillion and outputUsdPerMillion" })
  }
  if (c.initialBackoffMs > c.maxBackoffMs) issues.push({ path: ["initialBackoffMs"], issue: "must not exceed maxBackoffMs" })
  issues.push(...baseUrlIssues(c.baseUrl).map((issue) => ({ path: ["baseUrl"], issue })))
  return issues
}))
export type HttpTeacherConfig = typeof HttpTeacherConfig.Type

/** Decode a config object, failing with the field path. */
export const decodeConfig = ConfigDecode.decodeUnknownEffect(HttpTeacherConfig)

/** The environment variable named by `apiKeyEnv` is not set. */
export class MissingApiKey extends Schema.TaggedError<MissingApiKey>()("MissingApiKey", { variable: Schema.String }) {
  override get message(): string {
    return `environment variable ${this.variable} is not set: export it with the endpoint's API key, or drop apiKeyEnv for endpoints without auth`
  }
}

/** The teacher's name in corpus records. */
export const nameOf = (config: HttpTeacherConfig): string => `openai:${config.model}`

/** A base URL without what may carry credentials (user info, query, fragment), for manifests and logs. */
export const redactUrl = (url: string): string => {
  try {
    const u = new URL(url)
    u.username = ""
    u.password = ""
    u.search = ""
    u.hash = ""
    return u.toString()
  } catch {
    return "<unparsable url>"
  }
}

/** Settings and prompts for the manifest: everything but credentials (only the variable's name; the URL redacted). */
export const describe = (config: HttpTeacherConfig): Schema.Json => ({
  kind: "openai-compatible", name: nameOf(config), baseUrl: redactUrl(config.baseUrl), model: config.model, temperature: config.temperature,
  maxTokens: config.maxTokens, samplesPerRequest: config.samplesPerRequest, apiKeyEnv: config.apiKeyEnv ?? null,
  system: config.system ?? null, hints: config.hints ?? null
})

/** The settings that change what the teacher writes (the corpus resume check compares them). */
export const settings = (config: HttpTeacherConfig): Schema.Json => ({
  model: config.model, temperature: config.temperature, maxTokens: config.maxTokens, samplesPerRequest: config.samplesPerRequest,
  system: config.system ?? null, hints: config.hints ?? null, sendSeed: config.sendSeed
})

type Outcome =
  | { readonly ok: true; readonly contents: Array<string>; readonly promptTokens: number; readonly completionTokens: number }
  | { readonly ok: false; readonly retryable: boolean; readonly reason: Teacher.TeacherError["reason"]; readonly detail: string; readonly retryAfterMs?: number; readonly excerpt?: string }

/** Milliseconds to wait from a `Retry-After` value (seconds, fractional allowed, or an HTTP date). */
export const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

/** `: <message>` of an OpenAI-style error body (`{"error": {"message": ...}}`), or "" for any other body. */
export const errorMessage = (text: string): string => {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message
    return typeof message === "string" && message !== "" ? `: ${message.slice(0, 300)}` : ""
  } catch {
    return ""
  }
}

/** Read an OpenAI chat-completions body: the message contents and token usage, or why it is malformed. */
export const parseBody = (text: string, n: number): Outcome => {
  const malformed = (detail: string): Outcome => ({ ok: false, retryable: true, reason: "malformed", detail, excerpt: text.slice(0, 200) })
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return malformed(`response is not valid JSON (${text.length} bytes)`)
  }
  if (body === null || typeof body !== "object") return malformed("response is not a JSON object")
  const choices = (body as { choices?: unknown }).choices
  if (!Array.isArray(choices) || choices.length === 0) return malformed("response has no choices")
  const contents = choices.map((c: unknown) => (c !== null && typeof c === "object" ? (c as { message?: { content?: unknown } }).message?.content : undefined))
  if (!contents.every((c): c is string => typeof c === "string" && c.trim().length > 0)) return malformed("a choice has no message content")
  const usage = (body as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage
  const completionChars = contents.reduce((s, c) => s + c.length, 0)
  return {
    ok: true,
    contents: contents.slice(0, n),
    promptTokens: typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : 0,
    completionTokens: typeof usage?.completion_tokens === "number" ? usage.completion_tokens : Math.ceil(completionChars / 4)
  }
}

/** A response body read up to a cap: its text, or the size that made it too large. */
export type CappedBody =
  | { readonly tooLarge: false; readonly text: string }
  | { readonly tooLarge: true; readonly bytes: number; readonly declared: boolean }

/**
 * Read a response body, stopping at `cap` bytes: a `Content-Length` over the cap is refused before reading, and a
 * body without one (or lying about it) is read only until one byte past the cap, then the connection is released.
 * Memory stays bounded by the cap whatever the server sends.
 */
export const readCapped = (res: HttpClientResponse.HttpClientResponse, cap: number): Effect.Effect<CappedBody, HttpClientError.HttpClientError> =>
  Effect.gen(function*() {
    const declared = Number(res.headers["content-length"])
    if (Number.isFinite(declared) && declared > cap) return { tooLarge: true, bytes: declared, declared: true } as const
    const chunks: Array<Uint8Array> = []
    let bytes = 0
    const read = yield* Effect.result(Stream.runForEachWhile(res.stream, (chunk) =>
      Effect.sync(() => {
        bytes += chunk.length
        if (bytes > cap) return false
        chunks.push(chunk)
        return true
      })))
    if (read._tag === "Failure") {
      if (read.failure.reason._tag === "EmptyBodyError") return { tooLarge: false, text: "" } as const
      return yield* read.failure
    }
    if (bytes > cap) return { tooLarge: true, bytes, declared: false } as const
    return { tooLarge: false, text: new TextDecoder().decode(Buffer.concat(chunks)) } as const
  })

/** `transport error (TransportError: ECONNREFUSED)`: the error's kind and, when known, the system error code. */
const transportDetail = (error: HttpClientError.HttpClientError): string => {
  const cause: unknown = error.reason.cause
  const inner: unknown = typeof cause === "object" && cause !== null && "cause" in cause ? (cause as { readonly cause: unknown }).cause : undefined
  const code: unknown = typeof inner === "object" && inner !== null && "code" in inner ? (inner as { readonly code: unknown }).code : undefined
  return `transport error (${error.reason._tag}${typeof code === "string" ? `: ${code}` : ""})`
}

/** The teacher, given its config and the key (already read). Needs an `HttpClient`, `AnswerJudge` and `TeacherMetrics`. */
export const make = Effect.fnUntraced(function*(config: HttpTeacherConfig, apiKey: Redacted.Redacted<string> | undefined) {
  const scopedClient = HttpClient.withScope(yield* HttpClient.HttpClient)
  const judge = yield* AnswerJudge.AnswerJudge
  const metrics = yield* TeacherMetrics.TeacherMetrics
  const permits = yield* Semaphore.make(config.concurrency)
  const name = nameOf(config)
  const url = `${config.baseUrl.replace(/\/+$/, "")}/chat/completions`
  const secret = apiKey === undefined ? undefined : Redacted.value(apiKey)
  const scrub = (text: string): string => (secret === undefined || secret === "" ? text : text.split(secret).join("***"))

  const attemptOnce = (problem: Problem.Problem, n: number, seed: number) =>
    Effect.gen(function*() {
      const body = {
        model: config.model, messages: guidedMessages(problem, { system: config.system, hints: config.hints }),
        temperature: config.temperature, max_tokens: config.maxTokens, n, ...(config.sendSeed ? { seed } : {})
      }
      let request = HttpClientRequest.post(url).pipe(HttpClientRequest.acceptJson, HttpClientRequest.bodyJsonUnsafe(body))
      if (apiKey !== undefined) request = HttpClientRequest.bearerToken(request, apiKey)
      yield* metrics.request
      // Scoped: the request is aborted once the body was read or refused, so an unread remainder holds no connection.
      const exchange = Effect.scoped(scopedClient.execute(request).pipe(
        Effect.flatMap((res) => Effect.map(readCapped(res, config.maxResponseBytes), (read) => ({ status: res.status, retryAfter: res.headers["retry-after"], read })))
      ))
      const result = yield* exchange.pipe(Effect.timeoutOption(Duration.millis(config.timeoutMs)), Effect.result)
      if (result._tag === "Failure") {
        return { ok: false, retryable: true, reason: "unavailable", detail: transportDetail(result.failure) } satisfies Outcome
      }
      if (Option.isNone(result.success)) {
        return { ok: false, retryable: true, reason: "timeout", detail: `no complete response within ${config.timeoutMs} ms` } satisfies Outcome
      }
      const { status, retryAfter, read } = result.success.value
      if (read.tooLarge) {
        const size = read.declared ? `Content-Length ${read.bytes}` : `stopped reading after ${read.bytes} bytes`
        return {
          ok: false, retryable: false, reason: "too-large",
          detail: `HTTP ${status} response larger than maxResponseBytes (${config.maxResponseBytes}; ${size}): raise maxResponseBytes if the endpoint's answers are that big, or lower maxTokens or samplesPerRequest`
        } satisfies Outcome
      }
      const res = { status, retryAfter, text: read.text }
      if (res.status === 429) {
        const retryAfterMs = parseRetryAfter(res.retryAfter, yield* Clock.currentTimeMillis)
        return { ok: false, retryable: true, reason: "rate-limited", detail: "HTTP 429", ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } satisfies Outcome
      }
      if (res.status >= 500 || res.status === 408) {
        return { ok: false, retryable: true, reason: res.status === 408 ? "timeout" : "server", detail: `HTTP ${res.status}`, excerpt: res.text.slice(0, 200) } satisfies Outcome
      }
      if (res.status < 200 || res.status >= 300) {
        const hint = res.status === 401 || res.status === 403 ? `: check the key in ${config.apiKeyEnv ?? "(no apiKeyEnv set)"}` : ""
        return { ok: false, retryable: false, reason: "unavailable", detail: `HTTP ${res.status}${hint}${errorMessage(res.text)}`, excerpt: res.text.slice(0, 200) } satisfies Outcome
      }
      return parseBody(res.text, n)
    })

  const overBudget = Effect.map(metrics.snapshot, (s) =>
    (config.maxTotalTokens !== undefined && s.promptTokens + s.completionTokens >= config.maxTotalTokens) ||
    (config.maxCostUsd !== undefined && s.costUsd >= config.maxCostUsd))

  const fail = (problem: Problem.Problem, reason: Teacher.TeacherError["reason"], detail: string) =>
    new Teacher.TeacherError({ teacher: name, problemId: problem.id, reason, detail: scrub(detail) })

  /** One request with its retries: `n` completions, or a TeacherError after the last attempt. */
  const sample = (problem: Problem.Problem, n: number, seed: number) =>
    Effect.gen(function*() {
      const jitter = Rng.Rng.make(seed, "jitter")
      for (let attempt = 0; ; attempt++) {
        if (yield* overBudget) return yield* fail(problem, "budget", "token or cost budget used up: raise maxTotalTokens/maxCostUsd and re-run to continue")
        const outcome: Outcome = yield* permits.withPermits(1)(attemptOnce(problem, n, seed))
        if (outcome.ok) {
          const cost = (outcome.promptTokens * (config.inputUsdPerMillion ?? 0) + outcome.completionTokens * (config.outputUsdPerMillion ?? 0)) / 1e6
          yield* metrics.usage(outcome.promptTokens, outcome.completionTokens, cost)
          return outcome.contents
        }
        const event = { problemId: problem.id, reason: outcome.reason, detail: scrub(outcome.detail), attempt, ...(outcome.excerpt === undefined ? {} : { excerpt: scrub(outcome.excerpt) }) }
        if (outcome.reason === "malformed") yield* metrics.record({ ...event, type: "malformed" })
        if (!outcome.retryable || attempt >= config.maxRetries) {
          yield* metrics.record({ ...event, type: "request-failed" })
          yield* Effect.logWarning(`${name}: ${problem.id}: giving up after ${attempt + 1} attempt(s): ${event.detail}`)
          return yield* fail(problem, outcome.reason, `${outcome.detail} (after ${attempt + 1} attempt${attempt === 0 ? "" : "s"})`)
        }
        const backoff = Math.min(config.maxBackoffMs, config.initialBackoffMs * 2 ** attempt)
        const delayMs = outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, config.maxRetryAfterMs) : backoff / 2 + jitter.float() * (backoff / 2)
        yield* metrics.record({ ...event, type: "retry", delayMs })
        yield* Effect.sleep(Duration.millis(delayMs))
      }
    })

  return Teacher.Teacher.of({
    name,
    routes: (request) =>
      Effect.gen(function*() {
        const batches = Math.ceil(request.count / config.samplesPerRequest)
        const results = yield* Effect.forEach(
          Array.from({ length: batches }, (_, b) => b),
          (b) => Effect.result(sample(request.problem, Math.min(config.samplesPerRequest, request.count - b * config.samplesPerRequest), Rng.Rng.make(request.seed, b).seed())),
          { concurrency: "unbounded" }
        )
        const contents = results.flatMap((r) => (r._tag === "Success" ? r.success : []))
        if (contents.length === 0) {
          const first = results.find((r) => r._tag === "Failure")
          return yield* (first !== undefined && first._tag === "Failure" ? first.failure : fail(request.problem, "malformed", "no completions"))
        }
        return contents.map((text) => routeFromText(judge, request.problem, text))
      })
  })
})

/** Read the API key named by the config, if any, as `Redacted`. */
export const apiKey = (config: HttpTeacherConfig): Effect.Effect<Redacted.Redacted<string> | undefined, MissingApiKey> =>
  config.apiKeyEnv === undefined
    ? Effect.succeed(undefined)
    : Config.Redacted(config.apiKeyEnv).pipe(
      Effect.filterOrFail((key) => Redacted.value(key).trim() !== "", () => new MissingApiKey({ variable: config.apiKeyEnv as string })),
      Effect.mapError(() => new MissingApiKey({ variable: config.apiKeyEnv as string }))
    )

/** `Teacher` + `TeacherMetrics` layer over an `HttpClient` (bring your own, or use `layerFetch`). */
export const layer = (config: HttpTeacherConfig) =>
  Layer.effect(Teacher.Teacher, Effect.flatMap(apiKey(config), (key) => make(config, key))).pipe(Layer.provideMerge(TeacherMetrics.layer))

/** `layer` over the fetch-based `HttpClient` (Node 18+). */
export const layerFetch = (config: HttpTeacherConfig) => layer(config).pipe(Layer.provide(FetchHttpClient.layer))
