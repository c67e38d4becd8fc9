/**
 * A client of an OpenAI-compatible chat-completions endpoint (`realm serve`, vLLM, SGLang, hosted APIs), for stages
 * that generate on an inference server instead of loading the model: a concurrency limit shared by every request,
 * retries with exponential backoff and jitter on 429, 408, 5xx, network errors, timeouts and malformed bodies
 * (honouring `Retry-After`), a request timeout and a response-size cap. Every failure is a `ChatEndpointError`
 * naming the URL (credentials removed) and the model, with what to do about it.
 */
import { Clock, Config, Duration, Effect, Option, Redacted, Schema, Semaphore, Stream } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import type { HttpClientError, HttpClientResponse } from "effect/http"
import { Rng } from "./Rng.ts"

const Positive = Schema.Int.check(Schema.isGreaterThan(0))
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) => schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/**
 * What is wrong with a base URL, never quoting it (it may carry credentials): not http(s), unparsable, credentials
 * in it, a query string or fragment (`/chat/completions` would be appended inside it).
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
    issues.push("must not carry credentials (user:password@host): put the API key in an environment variable and name it in apiKeyEnv")
  }
  if (baseUrl.includes("?")) issues.push("must not have a query string (?...): give the API root up to /v1 (e.g. http://127.0.0.1:8000/v1)")
  if (baseUrl.includes("#")) issues.push("must not have a fragment (#...): remove it")
  return issues
}

/** A URL without what may carry credentials (user info, query, fragment), for messages, manifests and results. */
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

/** Settings of an endpoint client. */
export const EndpointConfig = Schema.Struct({
  /** API root up to `/v1`, e.g. `http://127.0.0.1:8000/v1`; `/chat/completions` and `/models` are appended. */
  baseUrl: Schema.NonEmptyString,
  /** The model id the server serves (its `GET /v1/models` lists it). */
  model: Schema.NonEmptyString,
  /** Name of the environment variable holding the API key (sent as a Bearer token); absent for servers without auth. */
  apiKeyEnv: Schema.optionalKey(Schema.NonEmptyString),
  /** Requests in flight at once. Default 8. */
  concurrency: withDefault(Positive, 8),
  /** Retries per request after the first attempt. Default 5. */
  maxRetries: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 5),
  /** First backoff in ms, doubled per retry with equal jitter, capped at `maxBackoffMs`. Defaults 500 and 30000. */
  initialBackoffMs: withDefault(NonNegative, 500),
  maxBackoffMs: withDefault(NonNegative, 30_000),
  /** Longest `Retry-After` honoured, in ms. Default 120000. */
  maxRetryAfterMs: withDefault(NonNegative, 120_000),
  /** Time allowed for one request (headers and body), in ms. Default 600000 (long generations on a busy server). */
  timeoutMs: withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 600_000),
  /** Largest response body read, in bytes; a bigger one fails without retries. Default 8388608 (8 MiB). */
  maxResponseBytes: withDefault(Positive, 8 * 1024 * 1024)
}).check(Schema.makeFilter((c) => {
  const issues: Array<Schema.FilterIssue> = []
  if (c.initialBackoffMs > c.maxBackoffMs) issues.push({ path: ["initialBackoffMs"], issue: "must not exceed maxBackoffMs" })
  issues.push(...baseUrlIssues(c.baseUrl).map((issue) => ({ path: ["baseUrl"], issue })))
  return issues
}))
export type EndpointConfig = typeof EndpointConfig.Type

/** Why a request failed. */
export const FailureReason = Schema.Literals(["unreachable", "unknown-model", "unauthorized", "rate-limited", "server", "timeout", "malformed", "refused", "too-large"])
export type FailureReason = typeof FailureReason.Type

const fixes: Record<FailureReason, string> = {
  "unreachable": "is the server running and listening there? Start it (e.g. `realm serve <checkpoint> --port 8000`) or correct the URL",
  "unknown-model": "give a model id the server lists at GET /v1/models",
  "unauthorized": "set the API key in the environment variable named by apiKeyEnv (--api-key-env)",
  "rate-limited": "the server kept refusing for load: lower concurrency or raise maxRetries",
  "server": "the server kept failing: see its log; raise maxRetries if the failures are transient",
  "timeout": "no answer in time: raise timeoutMs or lower concurrency",
  "malformed": "the server does not answer in the OpenAI chat-completions format",
  "refused": "the server refused the request as sent",
  "too-large": "raise maxResponseBytes if the server's answers are that big"
}

/** A request to the endpoint failed (after its retries, where retrying made sense). */
export class ChatEndpointError extends Schema.TaggedError<ChatEndpointError>()("ChatEndpointError", {
  /** The URL asked, credentials removed. */
  url: Schema.String,
  model: Schema.String,
  reason: FailureReason,
  detail: Schema.String,
  /** Attempts made, retries included. */
  attempts: Schema.Int
}) {
  override get message(): string {
    const tries = this.attempts > 1 ? ` (after ${this.attempts} attempts)` : ""
    return `${this.url} (model ${this.model}): ${this.detail}${tries}: ${fixes[this.reason]}`
  }
}

/** The environment variable named by `apiKeyEnv` is not set. */
export class ApiKeyMissing extends Schema.TaggedError<ApiKeyMissing>()("ApiKeyMissing", { variable: Schema.String }) {
  override get message(): string {
    return `environment variable ${this.variable} is not set: export it with the endpoint's API key, or drop apiKeyEnv for servers without auth`
  }
}

/** One chat-completions request. */
export interface ChatRequest {
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string }>
  /** 0 = greedy. */
  readonly temperature: number
  /** `max_tokens`: tokens generated at most per completion. */
  readonly maxTokens: number
  /** Completions from this prompt (`n`). Default 1. */
  readonly n?: number
  readonly topP?: number
  readonly seed?: number
}

/** One completion of a reply, in the server's index order. */
export interface Choice {
  readonly text: string
  readonly finishReason: string | null
}

/** A reply: `n` choices and the token usage the server reported (0 when it reported none). */
export interface Reply {
  readonly choices: ReadonlyArray<Choice>
  readonly promptTokens: number
  readonly completionTokens: number
}

/** A client bound to one endpoint and model. */
export interface ChatEndpoint {
  /** `<baseUrl>/chat/completions`, credentials removed. */
  readonly url: string
  readonly model: string
  /** One request with its retries, within the concurrency limit; `label` names it in warnings (e.g. a problem id). */
  readonly complete: (request: ChatRequest, label?: string) => Effect.Effect<Reply, ChatEndpointError>
  /** `GET /models` (with retries): the server answers and lists the model. Servers without that route pass. */
  readonly check: Effect.Effect<void, ChatEndpointError>
}

/** Milliseconds to wait from a `Retry-After` value (seconds, fractional allowed, or an HTTP date). */
export const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

/** The message (cut to 300 characters) and code of an OpenAI-style error body (`{"error": {"message", "code"}}`). */
export const errorOf = (text: string): { readonly message: string | undefined; readonly code: string | undefined } => {
  try {
    const error = (JSON.parse(text) as { error?: { message?: unknown; code?: unknown } }).error
    return {
      message: typeof error?.message === "string" && error.message !== "" ? error.message.slice(0, 300) : undefined,
      code: typeof error?.code === "string" ? error.code : undefined
    }
  } catch {
    return { message: undefined, code: undefined }
  }
}

/** Read a chat-completions body with `n` choices: the texts in index order and usage, or what is malformed about it. */
export const parseReply = (text: string, n: number): Reply | string => {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return `the response is not valid JSON (${text.length} bytes)`
  }
  if (body === null || typeof body !== "object") return "the response is not a JSON object"
  const choices = (body as { choices?: unknown }).choices
  if (!Array.isArray(choices)) return "the response has no choices"
  if (choices.length !== n) return `the response has ${choices.length} choices, ${n} were asked for`
  const read: Array<Choice & { readonly index: number }> = []
  for (const [i, c] of choices.entries()) {
    const choice = (c ?? {}) as { index?: unknown; message?: { content?: unknown }; finish_reason?: unknown }
    const content = choice.message?.content
    if (typeof content !== "string") return `choice ${i} has no message content`
    read.push({ index: typeof choice.index === "number" ? choice.index : i, text: content, finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null })
  }
  const usage = (body as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage
  return {
    choices: read.toSorted((a, b) => a.index - b.index).map((c) => ({ text: c.text, finishReason: c.finishReason })),
    promptTokens: typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : 0,
    completionTokens: typeof usage?.completion_tokens === "number" ? usage.completion_tokens : 0
  }
}

/** The model ids of a `GET /models` body, or `undefined` when it is not one. */
export const parseModels = (text: string): Array<string> | undefined => {
  try {
    const data = (JSON.parse(text) as { data?: unknown }).data
    return Array.isArray(data) ? data.flatMap((m) => (typeof m?.id === "string" ? [m.id as string] : [])) : undefined
  } catch {
    return undefined
  }
}

type Body =
  | { readonly tooLarge: false; readonly text: string }
  | { readonly tooLarge: true; readonly bytes: number }

/** A response body read up to `cap` bytes (a larger `Content-Length` is refused unread), so memory stays bounded. */
const readCapped = (res: HttpClientResponse.HttpClientResponse, cap: number): Effect.Effect<Body, HttpClientError.HttpClientError> =>
  Effect.gen(function*() {
    const declared = Number(res.headers["content-length"])
    if (Number.isFinite(declared) && declared > cap) return { tooLarge: true, bytes: declared } as const
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
    if (bytes > cap) return { tooLarge: true, bytes } as const
    const decoder = new TextDecoder()
    const text = chunks.map((c, i) => decoder.decode(c, { stream: i < chunks.length - 1 })).join("")
    return { tooLarge: false, text } as const
  })

/** `ECONNREFUSED`-style detail of a transport failure: the error's kind and, when known, the system error code. */
const transportDetail = (error: HttpClientError.HttpClientError): string => {
  const cause: unknown = error.reason.cause
  const inner: unknown = typeof cause === "object" && cause !== null && "cause" in cause ? (cause as { readonly cause: unknown }).cause : undefined
  const code: unknown = typeof inner === "object" && inner !== null && "code" in inner ? (inner as { readonly code: unknown }).code : undefined
  return `cannot connect (${error.reason._tag}${typeof code === "string" ? `: ${code}` : ""})`
}

type Attempt =
  | { readonly ok: true; readonly status: number; readonly text: string }
  | { readonly ok: false; readonly retryable: boolean; readonly reason: FailureReason; readonly detail: string; readonly retryAfterMs?: number }

/** Read the API key named by the config, if any. */
export const apiKey = (config: Pick<EndpointConfig, "apiKeyEnv">): Effect.Effect<Redacted.Redacted<string> | undefined, ApiKeyMissing> =>
  config.apiKeyEnv === undefined
    ? Effect.succeed(undefined)
    : Config.Redacted(config.apiKeyEnv).pipe(
      Effect.filterOrFail((key) => Redacted.value(key).trim() !== "", () => new ApiKeyMissing({ variable: config.apiKeyEnv as string })),
      Effect.mapError(() => new ApiKeyMissing({ variable: config.apiKeyEnv as string }))
    )

/** A client for a decoded config and its API key (see `apiKey`); needs an `HttpClient` (e.g. `FetchHttpClient.layer`). */
export const make = Effect.fnUntraced(function*(config: EndpointConfig, key: Redacted.Redacted<string> | undefined) {
  const client = HttpClient.withScope(yield* HttpClient.HttpClient)
  const permits = yield* Semaphore.make(config.concurrency)
  const root = config.baseUrl.replace(/\/+$/, "")
  const url = `${root}/chat/completions`
  const shown = redactUrl(url)
  const secret = key === undefined ? "" : Redacted.value(key)
  const scrub = (text: string): string => (secret === "" ? text : text.split(secret).join("***"))

  /** One exchange: the 2xx body, or why it failed and whether to try again. */
  const attempt = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.gen(function*() {
      const signed = key === undefined ? request : HttpClientRequest.bearerToken(request, key)
      // Scoped: the request is aborted once the body was read or refused, so an unread remainder holds no connection.
      const exchange = Effect.scoped(client.execute(signed).pipe(
        Effect.flatMap((res) => Effect.map(readCapped(res, config.maxResponseBytes), (body) => ({ status: res.status, retryAfter: res.headers["retry-after"], body })))
      ))
      const result = yield* exchange.pipe(Effect.timeoutOption(Duration.millis(config.timeoutMs)), Effect.result)
      if (result._tag === "Failure") return { ok: false, retryable: true, reason: "unreachable", detail: transportDetail(result.failure) } satisfies Attempt
      if (Option.isNone(result.success)) return { ok: false, retryable: true, reason: "timeout", detail: `no complete response within ${config.timeoutMs} ms` } satisfies Attempt
      const { status, retryAfter, body } = result.success.value
      if (body.tooLarge) {
        return { ok: false, retryable: false, reason: "too-large", detail: `HTTP ${status} response of ${body.bytes} bytes or more, over maxResponseBytes (${config.maxResponseBytes})` } satisfies Attempt
      }
      const { code, message: said } = errorOf(body.text)
      const detail = `HTTP ${status}${said === undefined ? "" : `: ${said}`}`
      if (status === 429) {
        const retryAfterMs = parseRetryAfter(retryAfter, yield* Clock.currentTimeMillis)
        return { ok: false, retryable: true, reason: "rate-limited", detail, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } satisfies Attempt
      }
      if (status >= 500 || status === 408) return { ok: false, retryable: true, reason: status === 408 ? "timeout" : "server", detail } satisfies Attempt
      if (status === 401 || status === 403) return { ok: false, retryable: false, reason: "unauthorized", detail } satisfies Attempt
      if (status === 404) {
        // vLLM and `realm serve` name the model asked for; OpenAI says model_not_found. Any other 404 is a wrong path.
        return code === "model_not_found" || said?.includes(config.model) === true
          ? { ok: false, retryable: false, reason: "unknown-model", detail } satisfies Attempt
          : { ok: false, retryable: false, reason: "refused", detail: `${detail} (is the URL the API root, e.g. http://127.0.0.1:8000/v1?)` } satisfies Attempt
      }
      if (status < 200 || status >= 300) return { ok: false, retryable: false, reason: "refused", detail } satisfies Attempt
      return { ok: true, status, text: body.text } satisfies Attempt
    })

  /** An exchange with its retries; `read` turns a 2xx body into the value or a malformed-body detail (retried). */
  const withRetries = <A>(request: HttpClientRequest.HttpClientRequest, read: (text: string) => A | string, label: string, seed: number) =>
    Effect.gen(function*() {
      const at = redactUrl(request.url)
      const jitter = Rng.make(seed, "jitter")
      for (let n = 0; ; n++) {
        const outcome: Attempt = yield* permits.withPermits(1)(attempt(request))
        const value = outcome.ok ? read(outcome.text) : undefined
        const failed: Exclude<Attempt, { ok: true }> | undefined = !outcome.ok
          ? outcome
          : typeof value === "string"
          ? { ok: false, retryable: true, reason: "malformed", detail: `HTTP ${outcome.status}: ${value}` }
          : undefined
        if (failed === undefined) return value as A
        const detail = scrub(failed.detail)
        if (!failed.retryable || n >= config.maxRetries) {
          return yield* new ChatEndpointError({ url: at, model: config.model, reason: failed.reason, detail, attempts: n + 1 })
        }
        const backoff = Math.min(config.maxBackoffMs, config.initialBackoffMs * 2 ** n)
        const delayMs = failed.retryAfterMs !== undefined ? Math.min(failed.retryAfterMs, config.maxRetryAfterMs) : backoff / 2 + jitter.float() * (backoff / 2)
        yield* Effect.logWarning(`${at}${label === "" ? "" : ` ${label}`}: ${detail}; retry ${n + 1} of ${config.maxRetries} in ${Math.round(delayMs)} ms`)
        yield* Effect.sleep(Duration.millis(delayMs))
      }
    })

  let requests = 0
  const complete: ChatEndpoint["complete"] = (request, label = "") => {
    const n = request.n ?? 1
    const body = {
      model: config.model,
      messages: request.messages,
      temperature: request.temperature,
      max_tokens: request.maxTokens,
      ...(n === 1 ? {} : { n }),
      ...(request.topP === undefined ? {} : { top_p: request.topP }),
      ...(request.seed === undefined ? {} : { seed: request.seed })
    }
    const http = HttpClientRequest.post(url).pipe(HttpClientRequest.acceptJson, HttpClientRequest.bodyJsonUnsafe(body))
    return withRetries(http, (text) => parseReply(text, n), label, request.seed ?? requests++)
  }

  const check: ChatEndpoint["check"] = Effect.gen(function*() {
    const listed = yield* withRetries(HttpClientRequest.get(`${root}/models`).pipe(HttpClientRequest.acceptJson), (text) => parseModels(text) ?? [], "", 0).pipe(
      // A server without GET /models (or with a different shape) is not an error: the first completion tells.
      Effect.catchIf((e) => e.reason === "refused" || e.reason === "unknown-model", () => Effect.succeed(undefined))
    )
    if (listed === undefined || listed.length === 0 || listed.includes(config.model)) return
    return yield* new ChatEndpointError({
      url: redactUrl(`${root}/models`), model: config.model, reason: "unknown-model", attempts: 1,
      detail: `the server does not serve '${config.model}'; it serves ${listed.map((m) => `'${m}'`).join(", ")}`
    })
  })

  return { url: shown, model: config.model, complete, check } satisfies ChatEndpoint
})
