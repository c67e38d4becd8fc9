/**
 * A teacher behind any OpenAI-compatible `/v1/chat/completions` endpoint. It sends the guided prompt (rulebook,
 * expert hints, output format), samples K routes per problem at a temperature, and stops at a token or cost budget.
 * The transport is core's `ChatEndpoint` (concurrency limit, retries with backoff and jitter honouring
 * `Retry-After`, request timeout, response-size cap); this module adds the teacher's config, budget, metrics and
 * failure reasons. The API key comes from an environment variable, is held as `Redacted`, and is scrubbed from every
 * recorded detail.
 */
import { AnswerJudge, ChatEndpoint, ConfigDecode, Rng, Teacher } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Effect, Layer, Schema } from "effect"
import type { Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import { guidedMessages, routeFromText } from "./Prompts.ts"
import * as TeacherMetrics from "./TeacherMetrics.ts"

const { PositiveInt, withDefault } = ConfigDecode

/** What is wrong with a base URL (core's `ChatEndpoint.baseUrlIssues`), never quoting it. */
export const baseUrlIssues = ChatEndpoint.baseUrlIssues

/**
 * Configuration of the HTTP teacher (config path `teacher.http`): the endpoint fields of core's
 * `ChatEndpoint.EndpointConfig` (`baseUrl`, `model`, `apiKeyEnv`, retries, backoff, `maxResponseBytes`), with 4
 * requests in flight and a 60000 ms timeout by default, and the teacher's sampling and budget.
 */
export const HttpTeacherConfig = Schema.Struct({
  ...ChatEndpoint.endpointFields({ concurrency: 4, timeoutMs: 60_000 }),
  /** Sampling temperature. Default 0.7. */
  temperature: withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 })), 0.7),
  /** `max_tokens` per completion. Default 512. */
  maxTokens: withDefault(PositiveInt, 512),
  /** Completions per request (`n`); 1 for servers without `n`. Default 1. */
  samplesPerRequest: withDefault(PositiveInt, 1),
  /** Stop (reason `budget`) once this many prompt + completion tokens were used. */
  maxTotalTokens: Schema.optionalKey(PositiveInt),
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
}).check(
  Schema.makeFilter((c) => {
    const issues: Array<Schema.FilterIssue> = []
    if (c.maxCostUsd !== undefined && (c.inputUsdPerMillion === undefined || c.outputUsdPerMillion === undefined)) {
      issues.push({ path: ["maxCostUsd"], issue: "a cost budget needs inputUsdPerMillion and outputUsdPerMillion" })
    }
    return [...issues, ...ChatEndpoint.endpointIssues(c)]
  })
)
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

/** A URL without what may carry credentials (user info, query, fragment), for manifests and logs (core's `ChatEndpoint.redactUrl`). */
export const redactUrl = ChatEndpoint.redactUrl

/** The model, sampling and prompt settings: part of both the manifest's description and the resume check's settings. */
const generation = (config: HttpTeacherConfig) => ({
  model: config.model,
  temperature: config.temperature,
  maxTokens: config.maxTokens,
  samplesPerRequest: config.samplesPerRequest,
  system: config.system ?? null,
  hints: config.hints ?? null
})

/**
 * Settings and prompts for the manifest: everything but credentials (only the variable's name; the URL redacted).
 * Manifests are canonical JSON (keys sorted), so the order of the keys here does not show.
 */
export const describe = (config: HttpTeacherConfig): Schema.Json => ({
  kind: "openai-compatible",
  name: nameOf(config),
  baseUrl: redactUrl(config.baseUrl),
  apiKeyEnv: config.apiKeyEnv ?? null,
  ...generation(config)
})

/** The settings that change what the teacher writes (the corpus resume check compares them). */
export const settings = (config: HttpTeacherConfig): Schema.Json => ({
  ...generation(config),
  sendSeed: config.sendSeed
})

/** Why a request failed, in the teacher's terms (`failures.jsonl`, `events.jsonl`): what the server could not do. */
const reasons: Record<ChatEndpoint.FailureReason, Teacher.TeacherError["reason"]> = {
  unreachable: "unavailable",
  "unknown-model": "unavailable",
  unauthorized: "unavailable",
  refused: "unavailable",
  "rate-limited": "rate-limited",
  server: "server",
  timeout: "timeout",
  malformed: "malformed",
  "too-large": "too-large"
}

/**
 * How the teacher reads a reply: a completion without reported usage counts 4 characters a token (for the budget),
 * and an empty completion is no route, so a reply with one is malformed and asked again.
 */
export const replyRules = {
  countTokens: (text: string): number => Math.ceil(text.length / 4),
  reject: (reply: ChatEndpoint.Reply): string | undefined =>
    reply.choices.some((c) => c.text.trim() === "") ? "a choice has no message content" : undefined
} satisfies Pick<ChatEndpoint.Options, "countTokens" | "reject">

/** The teacher, given its config and the key (already read). Needs an `HttpClient`, `AnswerJudge` and `TeacherMetrics`. */
export const make = Effect.fnUntraced(function* (
  config: HttpTeacherConfig,
  apiKey: Redacted.Redacted<string> | undefined
) {
  const judge = yield* AnswerJudge.AnswerJudge
  const metrics = yield* TeacherMetrics.TeacherMetrics
  const name = nameOf(config)

  const fail = (problemId: string, reason: Teacher.TeacherError["reason"], detail: string) =>
    new Teacher.TeacherError({ teacher: name, problemId, reason, detail })

  /** A failure's detail as the teacher records it (the endpoint already scrubbed the key): what to do where the teacher knows. */
  const detailOf = (failure: {
    readonly reason: ChatEndpoint.FailureReason
    readonly detail: string
    readonly transport?: string | undefined
  }): string => {
    if (failure.reason === "unreachable" && failure.transport !== undefined)
      return `transport error (${failure.transport})`
    // `HTTP 401: check the key in OPENAI_API_KEY: <the server's message>`: the hint right after the status.
    if (failure.reason === "unauthorized")
      return failure.detail.replace(
        /^HTTP \d+/,
        (status) => `${status}: check the key in ${config.apiKeyEnv ?? "(no apiKeyEnv set)"}`
      )
    if (failure.reason === "too-large") {
      return `${failure.detail}: raise maxResponseBytes if the endpoint's answers are that big, or lower maxTokens or samplesPerRequest`
    }
    return failure.detail
  }

  const overBudget = Effect.map(
    metrics.snapshot,
    (s) =>
      (config.maxTotalTokens !== undefined && s.promptTokens + s.completionTokens >= config.maxTotalTokens) ||
      (config.maxCostUsd !== undefined && s.costUsd >= config.maxCostUsd)
  )

  // Requests are labelled with their problem id, so the hooks know whose attempt it was.
  const endpoint = yield* ChatEndpoint.make(config, apiKey, {
    ...replyRules,
    beforeAttempt: (problemId) =>
      Effect.gen(function* () {
        if (yield* overBudget)
          return yield* fail(
            problemId,
            "budget",
            "token or cost budget used up: raise maxTotalTokens/maxCostUsd and re-run to continue"
          )
        yield* metrics.request
      }),
    onAttemptFailed: (failure) =>
      Effect.gen(function* () {
        const event = {
          problemId: failure.label,
          reason: reasons[failure.reason],
          detail: detailOf(failure),
          attempt: failure.attempt,
          ...(failure.excerpt === undefined ? {} : { excerpt: failure.excerpt })
        }
        if (failure.reason === "malformed") yield* metrics.record({ ...event, type: "malformed" })
        if (failure.retryInMs !== undefined)
          return yield* metrics.record({ ...event, type: "retry", delayMs: failure.retryInMs })
        yield* metrics.record({ ...event, type: "request-failed" })
        yield* Effect.logWarning(
          `${name}: ${failure.label}: giving up after ${failure.attempt + 1} attempt(s): ${event.detail}`
        )
      })
  })

  /** One request with its retries: `n` completions, or a TeacherError after the last attempt. */
  const sample = (problem: Problem.Problem, n: number, seed: number) =>
    endpoint
      .complete(
        {
          messages: guidedMessages(problem, { system: config.system, hints: config.hints }),
          temperature: config.temperature,
          maxTokens: config.maxTokens,
          n,
          ...(config.sendSeed ? { seed } : {})
        },
        problem.id
      )
      .pipe(
        Effect.tap((reply) =>
          metrics.usage(
            reply.promptTokens,
            reply.completionTokens,
            (reply.promptTokens * (config.inputUsdPerMillion ?? 0) +
              reply.completionTokens * (config.outputUsdPerMillion ?? 0)) /
              1e6
          )
        ),
        Effect.map((reply) => reply.choices.map((c) => c.text)),
        Effect.catchTag("ChatEndpointError", (e) =>
          Effect.fail(
            fail(
              problem.id,
              reasons[e.reason],
              `${detailOf(e)} (after ${e.attempts} attempt${e.attempts === 1 ? "" : "s"})`
            )
          )
        )
      )

  return Teacher.Teacher.of({
    name,
    description: describe(config),
    settings: settings(config),
    routes: (request) =>
      Effect.gen(function* () {
        const batches = Math.ceil(request.count / config.samplesPerRequest)
        const results = yield* Effect.forEach(
          Array.from({ length: batches }, (_, b) => b),
          (b) =>
            Effect.result(
              sample(
                request.problem,
                Math.min(config.samplesPerRequest, request.count - b * config.samplesPerRequest),
                Rng.Rng.make(request.seed, b).seed()
              )
            ),
          { concurrency: "unbounded" }
        )
        const contents = results.flatMap((r) => (r._tag === "Success" ? r.success : []))
        if (contents.length === 0) {
          const first = results.find((r) => r._tag === "Failure")
          return yield* first !== undefined && first._tag === "Failure"
            ? first.failure
            : fail(request.problem.id, "malformed", "no completions")
        }
        return contents.map((text) => routeFromText(judge, request.problem, text))
      })
  })
})

/** Read the API key named by the config, if any, as `Redacted` (core's `ChatEndpoint.apiKey`, failing as `MissingApiKey`). */
export const apiKey = (
  config: HttpTeacherConfig
): Effect.Effect<Redacted.Redacted<string> | undefined, MissingApiKey> =>
  ChatEndpoint.apiKey(config).pipe(Effect.mapError((e) => new MissingApiKey({ variable: e.variable })))

/** `Teacher` + `TeacherMetrics` layer over an `HttpClient` (bring your own, or use `layerFetch`). */
export const layer = (config: HttpTeacherConfig) =>
  Layer.effect(
    Teacher.Teacher,
    Effect.flatMap(apiKey(config), (key) => make(config, key))
  ).pipe(Layer.provideMerge(TeacherMetrics.layer))

/** `layer` over the fetch-based `HttpClient` (Node 18+). */
export const layerFetch = (config: HttpTeacherConfig) => layer(config).pipe(Layer.provide(FetchHttpClient.layer))
