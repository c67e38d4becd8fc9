/**
 * The default `Evaluator`: loads a checkpoint as a policy (or asks a served model behind an OpenAI-compatible
 * endpoint, when `endpoint` is set), builds each problem's prompt through the `Verifier` (assisted: k
 * labelled-but-unlabelled-to-the-model routes; autonomous: none), samples k completions (the first greedy), judges
 * them with the verifier's truth check, and summarises accuracy, sc@k, pass@k, consistency, route-verdict accuracy
 * and breakdowns with bootstrap confidence intervals.
 */
import { ChatEndpoint, ConfigDecode, Evaluator as CoreEvaluator, Prompt, Rng, Verifier } from "@realm-lm/core"
import type { EvalResult, Problem } from "@realm-lm/core"
import type { Policy } from "@realm-lm/lm"
import { Effect, Layer, Option, Schema } from "effect"
import type { FileSystem, Path } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import * as EndpointSampler from "./EndpointSampler.ts"
import * as Sampler from "./Sampler.ts"
import { summarise } from "./Summary.ts"

const { PositiveInt, withDefault } = ConfigDecode

/** Evaluator settings (config path `evaluator`). */
export const EvaluatorConfig = Schema.Struct({
  /** Completions per problem, k (the first greedy, the rest sampled). Default 1. */
  samples: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).pipe(withDefault(1)),
  /** Temperature of samples 2..k. Default 0.8. */
  temperature: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(0.8)),
  /** Most tokens generated per completion. Default 192. */
  maxNewTokens: PositiveInt.pipe(withDefault(192)),
  /** Routes shown per prompt in assisted mode. Default 3. */
  assistedRoutes: PositiveInt.pipe(withDefault(3)),
  /** Seed of route choice, shuffling and sampling. Default 0. */
  seed: Schema.Int.pipe(withDefault(0)),
  /** Keep each problem's prompt and completion texts in the results (for reports). Default true. */
  keepTexts: Schema.Boolean.pipe(withDefault(true)),
  /** Policy settings (device, threads, generation buckets), as `@realm-lm/lm` Policy config. Unused with `endpoint`. */
  policy: Schema.Unknown.pipe(withDefault({})),
  /**
   * Generate on a served model instead of loading the checkpoint: an OpenAI-compatible endpoint (`baseUrl` up to
   * `/v1`, `model`, and optionally `apiKeyEnv`, `concurrency` (default 8), `maxRetries`, backoff and timeout; see
   * core `ChatEndpoint.EndpointConfig`). Absent: local generation.
   */
  endpoint: Schema.optionalKey(ChatEndpoint.EndpointConfig),
  /**
   * With `endpoint`: a JSONL file each finished request is appended to as it arrives; a rerun reuses its completions
   * and asks only for the rest. Absent: nothing is kept between runs (`realm eval --endpoint` sets one next to `--out`).
   */
  journal: Schema.optionalKey(Schema.String)
})
export type EvaluatorConfig = typeof EvaluatorConfig.Type

const failWith = Sampler.failWith

/** The sampler a config asks for: the served model when `endpoint` is set (the context's `HttpClient`, else fetch), else the checkpoint. */
const samplerFor = (config: EvaluatorConfig, checkpoint: string) =>
  Effect.gen(function* () {
    const endpoint = config.endpoint
    if (endpoint === undefined) return yield* Sampler.local(checkpoint, config.policy as Policy.PolicyConfig)
    const key = yield* ChatEndpoint.apiKey(endpoint).pipe(Effect.mapError(failWith(checkpoint, "API key")))
    const given = yield* Effect.serviceOption(HttpClient.HttpClient)
    const connect = ChatEndpoint.make(endpoint, key)
    const client = yield* Option.isSome(given)
      ? Effect.provideService(connect, HttpClient.HttpClient, given.value)
      : Effect.provide(connect, FetchHttpClient.layer)
    // Unreachable servers and unknown model names fail here, before any prompt is built.
    yield* client.check.pipe(
      Effect.mapError((e) => new CoreEvaluator.EvaluatorError({ checkpoint, detail: e.message, cause: e }))
    )
    const journal =
      config.journal === undefined ? undefined : yield* EndpointSampler.openJournal(config.journal, checkpoint)
    if (journal !== undefined && journal.resumed > 0)
      yield* Effect.logInfo(`${journal.path}: resuming with ${journal.resumed} finished request(s) from an earlier run`)
    return EndpointSampler.make(client, {
      checkpoint,
      concurrency: endpoint.concurrency,
      ...(journal === undefined ? {} : { journal })
    })
  })

/** Evaluate one request with the Verifier in context. */
export const evaluate = Effect.fn("evaluator.evaluate")(function* (
  config: EvaluatorConfig,
  request: CoreEvaluator.EvalRequest
) {
  const verifier = yield* Verifier.Verifier
  const { checkpoint } = request
  if (request.problems.length === 0)
    return yield* new CoreEvaluator.EvaluatorError({ checkpoint, detail: "no problems to evaluate" })
  const sampler = yield* samplerFor(config, checkpoint)
  const assisted = request.mode === "assisted"
  // Assisted accuracy is over problems that have routes to show; the others are left out, not shown nothing.
  const problems = assisted
    ? request.problems.filter((p) => (request.routes.get(p.id) ?? []).length > 0)
    : request.problems
  if (problems.length < request.problems.length) {
    yield* Effect.logWarning(
      `${request.method} ${request.split} assisted: ${request.problems.length - problems.length} problem(s) have no routes and are left out`
    )
  }
  if (problems.length === 0)
    return yield* new CoreEvaluator.EvaluatorError({ checkpoint, detail: "no problem has routes for assisted mode" })
  const prompts = yield* Effect.forEach(problems, (problem) =>
    verifier
      .prompt({
        problem,
        routes: request.routes.get(problem.id) ?? [],
        decision: {
          problemId: problem.id,
          strength: assisted ? 1 : 0,
          routeCount: assisted ? config.assistedRoutes : 0,
          hintFraction: 0,
          rescue: false,
          seed: Rng.Rng.make(config.seed, "eval", request.mode, problem.id).seed()
        }
      })
      .pipe(Effect.mapError(failWith(checkpoint, `prompt for ${problem.id}`)))
  )
  const completions = yield* sampler.complete(prompts, {
    samples: config.samples,
    temperature: config.temperature,
    maxNewTokens: config.maxNewTokens,
    seed: config.seed,
    mode: request.mode
  })
  const verdicts: Array<number> = []
  const outcomes = yield* Effect.forEach(problems, (problem: Problem.Problem, i) =>
    Effect.gen(function* () {
      const prompt = prompts[i] as (typeof prompts)[number]
      const texts = completions[i] ?? []
      const rewards = yield* Effect.forEach(texts, (completion) =>
        verifier
          .score({
            problem,
            prompt,
            routes: request.routes.get(problem.id) ?? [],
            completion: Prompt.reply(prompt, completion)
          })
          .pipe(Effect.mapError(failWith(checkpoint, `scoring ${problem.id}`)))
      )
      const verdict = rewards[0]?.metrics?.verdictAccuracy
      if (assisted && verdict !== undefined) verdicts.push(verdict)
      return {
        problemId: problem.id,
        difficulty: problem.difficulty,
        split: problem.split,
        answers: rewards.map((r) => r.answer ?? ""),
        correct: rewards.map((r) => r.correct),
        ...(config.keepTexts ? { prompt, texts } : {})
      } satisfies EvalResult.ProblemOutcome
    })
  )
  return summarise(
    { method: request.method, checkpoint, task: request.task, split: request.split, mode: request.mode },
    outcomes,
    { seed: config.seed, ...(verdicts.length > 0 ? { extraMetrics: { "route-verdict accuracy": verdicts } } : {}) }
  )
}, Effect.scoped)

/** An Evaluator for a config (needs a Verifier, FileSystem and Path). */
export const make = (config: EvaluatorConfig) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<Verifier.Verifier | FileSystem.FileSystem | Path.Path>()
    return CoreEvaluator.Evaluator.of({ evaluate: (request) => Effect.provide(evaluate(config, request), context) })
  })

/** The Evaluator layer for a config. */
export const layerConfig = (config: EvaluatorConfig) => Layer.effect(CoreEvaluator.Evaluator, make(config))
