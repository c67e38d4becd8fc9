/**
 * The MRPV implementation of core's `Verifier` contract: prompts from {@link buildPrompt}, rewards from
 * {@link scoreCompletion}. Requires the task's `AnswerJudge`; configured from config path `verifier`.
 */
import { AnswerJudge, Verifier as CoreVerifier } from "@realm-lm/core"
import type { Route } from "@realm-lm/core"
import { Effect, Layer, Result } from "effect"
import type { Config } from "effect"
import { parseCompletion, verdictFor } from "./CompletionParser.ts"
import * as MrpvConfig from "./MrpvConfig.ts"
import { buildPrompt } from "./PromptBuilder.ts"
import { scoreCompletion } from "./Rewards.ts"
import { sftPair } from "./Target.ts"
import { comparisonDrills, hasDrills } from "./Drills.ts"

/** The routes behind a prompt's `guidance.routeIds`, in display order; fails when one is missing. */
export const shownRoutes = (
  problemId: string,
  routeIds: ReadonlyArray<string>,
  routes: ReadonlyArray<Route.Route>
): Result.Result<Array<Route.Route>, CoreVerifier.VerifierError> => {
  const byId = new Map(routes.map((r) => [r.id, r] as const))
  const out: Array<Route.Route> = []
  for (const id of routeIds) {
    const route = byId.get(id)
    if (route === undefined) {
      return Result.fail(
        new CoreVerifier.VerifierError({
          problemId,
          detail: `prompt shows route "${id}" but it is not among the ${routes.length} route(s) given to score; pass the routes the prompt was built from`
        })
      )
    }
    out.push(route)
  }
  return Result.succeed(out)
}

/**
 * A completion's verdicts on the routes shown to it (`routeIds` in display order: route A, B, …), read by the
 * completion parser in the config's `order`: the first verdict line naming each route's letter, `missing` without one.
 */
export const readVerdicts = (
  config: MrpvConfig.MrpvConfig,
  completion: string,
  routeIds: ReadonlyArray<string>
): ReadonlyArray<CoreVerifier.RouteVerdict> => {
  const parsed = parseCompletion(completion, config.order)
  return routeIds.map((routeId, index) => {
    const v = verdictFor(parsed, index)
    return v === undefined
      ? { routeId, verdict: "missing" }
      : { routeId, verdict: v.verdict, ...(v.step === undefined ? {} : { step: v.step }) }
  })
}

/** A Verifier for a decoded config, using the AnswerJudge in context. */
export const make: (
  config: MrpvConfig.MrpvConfig
) => Effect.Effect<CoreVerifier.Verifier["Service"], never, AnswerJudge.AnswerJudge> = Effect.fn("mrpv.Verifier.make")(
  function* (config: MrpvConfig.MrpvConfig) {
    const judge = yield* AnswerJudge.AnswerJudge
    return CoreVerifier.Verifier.of({
      prompt: (request) =>
        Effect.fromResult(buildPrompt(config, request.problem, request.routes, request.decision)).pipe(
          Effect.map((built) => built.prompt)
        ),
      example: (request) => Effect.fromResult(sftPair(config, request.problem, request.routes, request.decision)),
      ...(hasDrills(config) ? { drills: (request) => comparisonDrills(request, config.drills) } : {}),
      score: (request) =>
        request.prompt.problemId !== request.problem.id
          ? Effect.fail(
              new CoreVerifier.VerifierError({
                problemId: request.problem.id,
                detail: `the prompt was built for problem "${request.prompt.problemId}"; score each completion against the problem of its own prompt`
              })
            )
          : Effect.fromResult(shownRoutes(request.problem.id, request.prompt.guidance.routeIds, request.routes)).pipe(
              Effect.map(
                (shown) =>
                  scoreCompletion({ config, problem: request.problem, shown, completion: request.completion, judge })
                    .reward
              )
            ),
      verdicts: (completion, routeIds) => readVerdicts(config, completion, routeIds)
    })
  }
)

/** The Verifier layer for a given config (needs an AnswerJudge). */
export const layerConfig = (
  config: MrpvConfig.MrpvConfig
): Layer.Layer<CoreVerifier.Verifier, never, AnswerJudge.AnswerJudge> =>
  Layer.effect(CoreVerifier.Verifier, make(config))

/** The Verifier layer, config decoded from path `verifier` (defaults when absent). */
export const layer: Layer.Layer<CoreVerifier.Verifier, Config.ConfigError, AnswerJudge.AnswerJudge> = Layer.effect(
  CoreVerifier.Verifier,
  Effect.flatMap(MrpvConfig.config, make)
)

/** The Verifier with default config, for tests (needs an AnswerJudge). */
export const layerTest: Layer.Layer<CoreVerifier.Verifier, never, AnswerJudge.AnswerJudge> = layerConfig(
  MrpvConfig.defaults
)
