/**
 * The default `Evaluator`: loads a checkpoint as a policy, builds each problem's prompt through the `Verifier`
 * (assisted: k labelled-but-unlabelled-to-the-model routes; autonomous: none), samples k completions (the first
 * greedy), judges them with the verifier's truth check, and summarises accuracy, sc@k, pass@k, consistency,
 * route-verdict accuracy and breakdowns with bootstrap confidence intervals.
 */
import { Evaluator as CoreEvaluator, Rng, Verifier } from "@realm-lm/core"
import type { EvalResult, Problem } from "@realm-lm/core"
import { Policy, PromptText } from "@realm-lm/lm"
import { Effect, Layer, Schema } from "effect"
import type { FileSystem, Path } from "effect"
import { summarise } from "./Summary.ts"

const withDefault = <S extends Schema.Top>(value: S["Encoded"]) => Schema.withDecodingDefaultKey<S>(Effect.succeed(value))

/** Evaluator settings (config path `evaluator`). */
export const EvaluatorConfig = Schema.Struct({
  /** Completions per problem, k (the first greedy, the rest sampled). Default 1. */
  samples: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).pipe(withDefault(1)),
  /** Temperature of samples 2..k. Default 0.8. */
  temperature: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(0.8)),
  /** Most tokens generated per completion. Default 192. */
  maxNewTokens: Schema.Int.check(Schema.isGreaterThan(0)).pipe(withDefault(192)),
  /** Routes shown per prompt in assisted mode. Default 3. */
  assistedRoutes: Schema.Int.check(Schema.isGreaterThan(0)).pipe(withDefault(3)),
  /** Seed of route choice, shuffling and sampling. Default 0. */
  seed: Schema.Int.pipe(withDefault(0)),
  /** Keep each problem's prompt and completion texts in the results (for reports). Default true. */
  keepTexts: Schema.Boolean.pipe(withDefault(true)),
  /** Policy settings (device, threads, generation buckets), as `@realm-lm/lm` Policy config. */
  policy: Schema.Unknown.pipe(withDefault({}))
})
export type EvaluatorConfig = typeof EvaluatorConfig.Type

const failWith = (checkpoint: string, what: string) => (error: { readonly message: string }) =>
  new CoreEvaluator.EvaluatorError({ checkpoint, detail: `${what}: ${error.message}` })

/** Evaluate one request with the Verifier in context. */
export const evaluate = (config: EvaluatorConfig, request: CoreEvaluator.EvalRequest) =>
  Effect.scoped(Effect.gen(function*() {
    const verifier = yield* Verifier.Verifier
    const { checkpoint } = request
    if (request.problems.length === 0) return yield* new CoreEvaluator.EvaluatorError({ checkpoint, detail: "no problems to evaluate" })
    const policy = yield* Policy.load(checkpoint, config.policy as Policy.PolicyConfig).pipe(Effect.mapError(failWith(checkpoint, "cannot load the checkpoint")))
    const tokenizer = policy.tokenizer
    if (tokenizer === undefined) {
      return yield* new CoreEvaluator.EvaluatorError({ checkpoint, detail: "the checkpoint has no tokenizer.json; evaluation needs its tokenizer" })
    }
    const assisted = request.mode === "assisted"
    // Assisted accuracy is over problems that have routes to show; the others are left out, not shown nothing.
    const problems = assisted ? request.problems.filter((p) => (request.routes.get(p.id) ?? []).length > 0) : request.problems
    if (problems.length < request.problems.length) {
      yield* Effect.logWarning(`${request.method} ${request.split} assisted: ${request.problems.length - problems.length} problem(s) have no routes and are left out`)
    }
    if (problems.length === 0) return yield* new CoreEvaluator.EvaluatorError({ checkpoint, detail: "no problem has routes for assisted mode" })
    const prompts = yield* Effect.forEach(problems, (problem) =>
      verifier.prompt({
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
      }).pipe(Effect.mapError(failWith(checkpoint, `prompt for ${problem.id}`))))
    const ids = yield* Effect.forEach(prompts, (prompt) => PromptText.encode(tokenizer, prompt).pipe(Effect.mapError(failWith(checkpoint, "chat template"))))
    const greedy = yield* policy.generate(ids.map((prompt) => ({ prompt })), { maxNewTokens: config.maxNewTokens }).pipe(
      Effect.mapError(failWith(checkpoint, "generation"))
    )
    const sampled = config.samples > 1
      ? yield* policy.generate(ids.map((prompt) => ({ prompt, samples: config.samples - 1 })), {
        maxNewTokens: config.maxNewTokens,
        sampling: { temperature: config.temperature, topK: 0, topP: 1 },
        seed: config.seed
      }).pipe(Effect.mapError(failWith(checkpoint, "generation")))
      : problems.map(() => [])
    const verdicts: Array<number> = []
    const outcomes = yield* Effect.forEach(problems, (problem: Problem.Problem, i) =>
      Effect.gen(function*() {
        const prompt = prompts[i] as (typeof prompts)[number]
        const texts = [...(greedy[i] ?? []), ...(sampled[i] ?? [])].map((c) => c.text ?? "")
        const rewards = yield* Effect.forEach(texts, (completion) =>
          verifier.score({ problem, prompt, routes: request.routes.get(problem.id) ?? [], completion }).pipe(
            Effect.mapError(failWith(checkpoint, `scoring ${problem.id}`))
          ))
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
      }))
    return summarise(
      { method: request.method, checkpoint, task: request.task, split: request.split, mode: request.mode },
      outcomes,
      { seed: config.seed, ...(verdicts.length > 0 ? { extraMetrics: { "route-verdict accuracy": verdicts } } : {}) }
    )
  }))

/** An Evaluator for a config (needs a Verifier, FileSystem and Path). */
export const make = (config: EvaluatorConfig) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<Verifier.Verifier | FileSystem.FileSystem | Path.Path>()
    return CoreEvaluator.Evaluator.of({ evaluate: (request) => Effect.provide(evaluate(config, request), context) })
  })

/** The Evaluator layer for a config. */
export const layerConfig = (config: EvaluatorConfig) => Layer.effect(CoreEvaluator.Evaluator, make(config))
