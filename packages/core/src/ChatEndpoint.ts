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
import { NonNegativeInt, PositiveInt, withDefault } from "./ConfigDecode.ts"
import { Rng } from "./Rng.ts"

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * What is wrong with a base URL, never quoting it (it may carry credentials): not http(s), unparsable, credentials
 * in it (they belong in the environment variable named by `apiKeyEnv`), a query string or fragment
 * (`/chat/completions` would be appended inside it).
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
    issues.push(
      "must not carry credentials (user:password@host): remove them, put the API key in an environment variable and name that variable in apiKeyEnv"
    )
  }
  if (baseUrl.includes("?")) {
    issues.push(
      "must not have a query string (?...): remove it; baseUrl is the API root up to /v1 (e.g. http://127.0.0.1:8000/v1 or https://api.openai.com/v1), /chat/completions is appended to it, and an API key goes in the environment variable named by apiKeyEnv"
    )
  }
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

/**
 * The fields of `EndpointConfig`, for a stage whose own config embeds them (e.g. corpus's HTTP teacher); `defaults`
 * replaces the default request concurrency and timeout, the two that depend on what the stage asks of the server.
 */
export const endpointFields = (defaults: { readonly concurrency?: number; readonly timeoutMs?: number } = {}) => ({
  /** API root up to `/v1`, e.g. `http://127.0.0.1:8000/v1`; `/chat/completions` and `/models` are appended. */
  baseUrl: Schema.NonEmptyString,
  /** The model id the server serves (its `GET /v1/models` lists it). */
  model: Schema.NonEmptyString,
  /** Name of the environment variable holding the API key (sent as a Bearer token); absent for servers without auth. */
  apiKeyEnv: Schema.optionalKey(Schema.NonEmptyString),
  /** Requests in flight at once. Default 8. */
  concurrency: withDefault(PositiveInt, defaults.concurrency ?? 8),
  /** Retries per request after the first attempt. Default 5. */
  maxRetries: withDefault(NonNegativeInt, 5),
  /** First backoff in ms, doubled per retry with equal jitter, capped at `maxBackoffMs`. Defaults 500 and 30000. */
  initialBackoffMs: withDefault(NonNegative, 500),
  maxBackoffMs: withDefault(NonNegative, 30_000),
  /** Longest `Retry-After` honoured, in ms. Default 120000. */
  maxRetryAfterMs: withDefault(NonNegative, 120_000),
  /** Time allowed for one request (headers and body), in ms. Default 600000 (long generations on a busy server). */
  timeoutMs: withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), defaults.timeoutMs ?? 600_000),
  /**
   * Largest response body read, in bytes. A bigger one (by `Content-Length`, or once that many bytes arrived) is not
   * read further and the request fails with reason `too-large`, without retries. Default 8388608 (8 MiB).
   */
  maxResponseBytes: withDefault(PositiveInt, 8 * 1024 * 1024)
})

/** The cross-field checks of an endpoint config, at their field: backoff bounds in order, a usable base URL. */
export const endpointIssues = (c: {
  readonly baseUrl: string
  readonly initialBackoffMs: number
  readonly maxBackoffMs: number
}): Array<Schema.FilterIssue> => [
  ...(c.initialBackoffMs > c.maxBackoffMs
    ? [{ path: ["initialBackoffMs"], issue: "must not exceed maxBackoffMs" }]
    : []),
  ...baseUrlIssues(c.baseUrl).map((issue) => ({ path: ["baseUrl"], issue }))
]

/** Settings of an endpoint client. */
export const EndpointConfig = Schema.Struct(endpointFields()).check(Schema.makeFilter(endpointIssues))
export type EndpointConfig = typeof EndpointConfig.Type

/** Why a request failed. */
export const FailureReason = Schema.Literals([
  "unreachable",
  "unknown-model",
  "unauthorized",
  "rate-limited",
  "server",
  "timeout",
  "malformed",
  "refused",
  "too-large"
])
export type FailureReason = typeof FailureReason.Type

const fixes: Record<FailureReason, string> = {
  unreachable:
    "is the server running and listening there? Start it (e.g. `realm serve <checkpoint> --port 8000`) or correct the URL",
  "unknown-model": "give a model id the server lists at GET /v1/models",
  unauthorized: "set the API key in the environment variable named by apiKeyEnv (--api-key-env)",
  "rate-limited": "the server kept refusing for load: lower concurrency or raise maxRetries",
  server: "the server kept failing: see its log; raise maxRetries if the failures are transient",
  timeout: "no answer in time: raise timeoutMs or lower concurrency",
  malformed: "the server does not answer in the OpenAI chat-completions format",
  refused: "the server refused the request as sent",
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
  attempts: Schema.Int,
  /** For `unreachable`: the transport error's kind and, when known, the system error code (`TransportError: ECONNREFUSED`). */
  transport: Schema.optionalKey(Schema.String)
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

/** A client bound to one endpoint and model; `E` is what its `beforeAttempt` hook may fail with (see `Options`). */
export interface ChatEndpoint<E = never> {
  /** `<baseUrl>/chat/completions`, credentials removed. */
  readonly url: string
  readonly model: string
  /**
   * One request with its retries, within the concurrency limit; `label` names it in warnings and hooks (e.g. a
   * problem id).
   */
  readonly complete: (request: ChatRequest, label?: string) => Effect.Effect<Reply, ChatEndpointError | E>
  /** `GET /models` (with retries): the server answers and lists the model. Servers without that route pass. */
  readonly check: Effect.Effect<void, ChatEndpointError>
}

/** A failed attempt of a completion request, as told to `Options.onAttemptFailed`. Never contains the API key. */
export interface AttemptFailure {
  /** The request's label (see `ChatEndpoint.complete`). */
  readonly label: string
  readonly reason: FailureReason
  /** What happened (`HTTP 503: loading`), the API key replaced by `***`. */
  readonly detail: string
  /** For `unreachable`: the transport error's kind and system error code (`TransportError: ECONNREFUSED`). */
  readonly transport?: string
  /** The start of the response body (200 characters at most, API key scrubbed), where one was read. */
  readonly excerpt?: string
  /** 0-based attempt number of the request. */
  readonly attempt: number
  /** Wait before the next attempt, in ms; absent when this was the last (the request fails with this reason). */
  readonly retryInMs?: number
}

/** Hooks of a client, for callers that count, budget or judge its work; every one is optional. */
export interface Options<E = never> {
  /**
   * Tokens in a completion's text, used where a reply reports no `completion_tokens` (e.g. an estimate from its
   * length, or a tokenizer). Without it such completions count 0.
   */
  readonly countTokens?: (text: string) => number
  /** What makes a well-formed reply useless to the caller (e.g. an empty completion), or undefined: such a reply is `malformed` and retried. */
  readonly reject?: (reply: Reply) => string | undefined
  /** Runs before each attempt of a completion is sent (retries included), within the concurrency limit; its failure ends the request (e.g. a spent budget). */
  readonly beforeAttempt?: (label: string) => Effect.Effect<void, E>
  /** Told of each failed attempt of a completion, before the wait or the failure. Default: a warning in the log for each retry. */
  readonly onAttemptFailed?: (failure: AttemptFailure) => Effect.Effect<void>
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

/**
 * Read a chat-completions body with `n` choices: the texts in index order and usage, or what is malformed about it.
 * Usage the body does not report counts 0, or for completions `countTokens` of their texts when given.
 */
export const parseReply = (text: string, n: number, countTokens?: (text: string) => number): Reply | string => {
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
    read.push({
      index: typeof choice.index === "number" ? choice.index : i,
      text: content,
      finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null
    })
  }
  const usage = (body as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage
  return {
    choices: read.toSorted((a, b) => a.index - b.index).map((c) => ({ text: c.text, finishReason: c.finishReason })),
    promptTokens: typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : 0,
    completionTokens:
      typeof usage?.completion_tokens === "number"
        ? usage.completion_tokens
        : countTokens === undefined
          ? 0
          : read.reduce((sum, c) => sum + countTokens(c.text), 0)
  }
}

/** A body as a client with these hooks reads it: `parseReply` with `countTokens`, then `reject`. */
export const readReply = (
  text: string,
  n: number,
  options: Pick<Options, "countTokens" | "reject"> = {}
): Reply | string => {
  const reply = parseReply(text, n, options.countTokens)
  return typeof reply === "string" ? reply : (options.reject?.(reply) ?? reply)
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
  | { readonly tooLarge: true; readonly bytes: number; readonly declared: boolean }

/** A response body read up to `cap` bytes (a larger `Content-Length` is refused unread), so memory stays bounded. */
const readCapped = (
  res: HttpClientResponse.HttpClientResponse,
  cap: number
): Effect.Effect<Body, HttpClientError.HttpClientError> =>
  Effect.gen(function* () {
    const declared = Number(res.headers["content-length"])
    if (Number.isFinite(declared) && declared > cap) return { tooLarge: true, bytes: declared, declared: true } as const
    const chunks: Array<Uint8Array> = []
    let bytes = 0
    const read = yield* Effect.result(
      Stream.runForEachWhile(res.stream, (chunk) =>
        Effect.sync(() => {
          bytes += chunk.length
          if (bytes > cap) return false
          chunks.push(chunk)
          return true
        })
      )
    )
    if (read._tag === "Failure") {
      if (read.failure.reason._tag === "EmptyBodyError") return { tooLarge: false, text: "" } as const
      return yield* read.failure
    }
    if (bytes > cap) return { tooLarge: true, bytes, declared: false } as const
    const decoder = new TextDecoder()
    const text = chunks.map((c, i) => decoder.decode(c, { stream: i < chunks.length - 1 })).join("")
    return { tooLarge: false, text } as const
  })

/** A transport failure's kind and, when known, the system error code: `TransportError: ECONNREFUSED`. */
const transportOf = (error: HttpClientError.HttpClientError): string => {
  const cause: unknown = error.reason.cause
  const inner: unknown =
    typeof cause === "object" && cause !== null && "cause" in cause
      ? (cause as { readonly cause: unknown }).cause
      : undefined
  const code: unknown =
    typeof inner === "object" && inner !== null && "code" in inner
      ? (inner as { readonly code: unknown }).code
      : undefined
  return `${error.reason._tag}${typeof code === "string" ? `: ${code}` : ""}`
}

type Failed = {
  readonly ok: false
  readonly retryable: boolean
  readonly reason: FailureReason
  readonly detail: string
  readonly retryAfterMs?: number
  readonly transport?: string
  readonly excerpt?: string
}
type Attempt = { readonly ok: true; readonly status: number; readonly text: string } | Failed

/** Read the API key named by the config, if any. */
export const apiKey = (
  config: Pick<EndpointConfig, "apiKeyEnv">
): Effect.Effect<Redacted.Redacted<string> | undefined, ApiKeyMissing> =>
  config.apiKeyEnv === undefined
    ? Effect.succeed(undefined)
    : Config.Redacted(config.apiKeyEnv).pipe(
        Effect.filterOrFail(
          (key) => Redacted.value(key).trim() !== "",
          () => new ApiKeyMissing({ variable: config.apiKeyEnv as string })
        ),
        Effect.mapError(() => new ApiKeyMissing({ variable: config.apiKeyEnv as string }))
      )

/**
 * A client for a decoded config and its API key (see `apiKey`), with optional hooks; needs an `HttpClient` (e.g.
 * `FetchHttpClient.layer`).
 */
export const make = <E = never>(
  config: EndpointConfig,
  key: Redacted.Redacted<string> | undefined,
  options: Options<E> = {}
): Effect.Effect<ChatEndpoint<E>, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const permits = yield* Semaphore.make(config.concurrency)
    const root = config.baseUrl.replace(/\/+$/, "")
    const url = `${root}/chat/completions`
    const shown = redactUrl(url)
    const secret = key === undefined ? "" : Redacted.value(key)
    const scrub = (text: string): string => (secret === "" ? text : text.split(secret).join("***"))
    const excerpt = (text: string) => (text === "" ? {} : { excerpt: text.slice(0, 200) })

    /** One exchange: the 2xx body, or why it failed and whether to try again. */
    const attempt = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.gen(function* () {
        const signed = key === undefined ? request : HttpClientRequest.bearerToken(request, key)
        // Scoped: the request is aborted once the body was read or refused, so an unread remainder holds no connection.
        const exchange = Effect.scoped(
          client.execute(signed).pipe(
            Effect.flatMap((res) =>
              Effect.map(readCapped(res, config.maxResponseBytes), (body) => ({
                status: res.status,
                retryAfter: res.headers["retry-after"],
                body
              }))
            )
          )
        )
        const result = yield* exchange.pipe(Effect.timeoutOption(Duration.millis(config.timeoutMs)), Effect.result)
        if (result._tag === "Failure") {
          const transport = transportOf(result.failure)
          return {
            ok: false,
            retryable: true,
            reason: "unreachable",
            detail: `cannot connect (${transport})`,
            transport
          } satisfies Attempt
        }
        if (Option.isNone(result.success))
          return {
            ok: false,
            retryable: true,
            reason: "timeout",
            detail: `no complete response within ${config.timeoutMs} ms`
          } satisfies Attempt
        const { status, retryAfter, body } = result.success.value
        if (body.tooLarge) {
          const size = body.declared ? `Content-Length ${body.bytes}` : `stopped reading after ${body.bytes} bytes`
          return {
            ok: false,
            retryable: false,
            reason: "too-large",
            detail: `HTTP ${status} response larger than maxResponseBytes (${config.maxResponseBytes}; ${size})`
          } satisfies Attempt
        }
        const { code, message: said } = errorOf(body.text)
        const detail = `HTTP ${status}${said === undefined ? "" : `: ${said}`}`
        const failed = (reason: FailureReason, retryable: boolean, what = detail): Failed => ({
          ok: false,
          retryable,
          reason,
          detail: what,
          ...excerpt(body.text)
        })
        if (status === 429) {
          const retryAfterMs = parseRetryAfter(retryAfter, yield* Clock.currentTimeMillis)
          return { ...failed("rate-limited", true), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }
        }
        if (status >= 500 || status === 408) return failed(status === 408 ? "timeout" : "server", true)
        if (status === 401 || status === 403) return failed("unauthorized", false)
        if (status === 404) {
          // vLLM and `realm serve` name the model asked for; OpenAI says model_not_found. Any other 404 is a wrong path.
          return code === "model_not_found" || said?.includes(config.model) === true
            ? failed("unknown-model", false)
            : failed("refused", false, `${detail} (is the URL the API root, e.g. http://127.0.0.1:8000/v1?)`)
        }
        if (status < 200 || status >= 300) return failed("refused", false)
        return { ok: true, status, text: body.text } satisfies Attempt
      })

    const logRetry = (at: string) => (failure: AttemptFailure) =>
      failure.retryInMs === undefined
        ? Effect.void
        : Effect.logWarning(
            `${at}${failure.label === "" ? "" : ` ${failure.label}`}: ${failure.detail}; retry ${failure.attempt + 1} of ${config.maxRetries} in ${Math.round(failure.retryInMs)} ms`
          )

    /**
     * An exchange with its retries; `read` turns a 2xx body into the value or a malformed-body detail (retried).
     * `before` runs ahead of each attempt within the concurrency limit; `told` hears of each failed attempt (default:
     * retries logged as warnings).
     */
    const withRetries = <A, E2 = never>(
      request: HttpClientRequest.HttpClientRequest,
      read: (text: string) => A | string,
      hooks: {
        readonly label: string
        readonly seed: number
        readonly before?: ((label: string) => Effect.Effect<void, E2>) | undefined
        readonly told?: ((failure: AttemptFailure) => Effect.Effect<void>) | undefined
      }
    ) =>
      Effect.gen(function* () {
        const at = redactUrl(request.url)
        const jitter = Rng.make(hooks.seed, "jitter")
        const told = hooks.told ?? logRetry(at)
        for (let n = 0; ; n++) {
          const outcome: Attempt = yield* permits.withPermits(1)(
            hooks.before === undefined ? attempt(request) : Effect.andThen(hooks.before(hooks.label), attempt(request))
          )
          const value = outcome.ok ? read(outcome.text) : undefined
          const failed: Failed | undefined = !outcome.ok
            ? outcome
            : typeof value === "string"
              ? {
                  ok: false,
                  retryable: true,
                  reason: "malformed",
                  detail: `HTTP ${outcome.status}: ${value}`,
                  ...excerpt(outcome.text)
                }
              : undefined
          if (failed === undefined) return value as A
          const detail = scrub(failed.detail)
          const last = !failed.retryable || n >= config.maxRetries
          const backoff = Math.min(config.maxBackoffMs, config.initialBackoffMs * 2 ** n)
          const delayMs =
            failed.retryAfterMs !== undefined
              ? Math.min(failed.retryAfterMs, config.maxRetryAfterMs)
              : backoff / 2 + jitter.float() * (backoff / 2)
          yield* told({
            label: hooks.label,
            reason: failed.reason,
            detail,
            attempt: n,
            ...(failed.transport === undefined ? {} : { transport: failed.transport }),
            ...(failed.excerpt === undefined ? {} : { excerpt: scrub(failed.excerpt) }),
            ...(last ? {} : { retryInMs: delayMs })
          })
          if (last) {
            return yield* new ChatEndpointError({
              url: at,
              model: config.model,
              reason: failed.reason,
              detail,
              attempts: n + 1,
              ...(failed.transport === undefined ? {} : { transport: failed.transport })
            })
          }
          yield* Effect.sleep(Duration.millis(delayMs))
        }
      })

    let requests = 0
    const complete: ChatEndpoint<E>["complete"] = (request, label = "") => {
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
      const http = HttpClientRequest.post(url).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyJsonUnsafe(body)
      )
      return withRetries(http, (text) => readReply(text, n, options), {
        label,
        seed: request.seed ?? requests++,
        before: options.beforeAttempt,
        told: options.onAttemptFailed
      })
    }

    const check: ChatEndpoint["check"] = Effect.gen(function* () {
      const models = HttpClientRequest.get(`${root}/models`).pipe(HttpClientRequest.acceptJson)
      const listed = yield* withRetries(models, (text) => parseModels(text) ?? [], { label: "", seed: 0 }).pipe(
        // A server without GET /models (or with a different shape) is not an error: the first completion tells.
        Effect.catchIf(
          (e) => e.reason === "refused" || e.reason === "unknown-model",
          () => Effect.succeed(undefined)
        )
      )
      if (listed === undefined || listed.length === 0 || listed.includes(config.model)) return
      return yield* new ChatEndpointError({
        url: redactUrl(`${root}/models`),
        model: config.model,
        reason: "unknown-model",
        attempts: 1,
        detail: `the server does not serve '${config.model}'; it serves ${listed.map((m) => `'${m}'`).join(", ")}`
      })
    })

    return { url: shown, model: config.model, complete, check } satisfies ChatEndpoint<E>
  })
