/**
 * A Verifier of your own, outside the realm-lm packages: an "answer-only" verifier. The prompt shows the problem,
 * plus the routes the curriculum asks for as plain numbered attempts (no verdicts requested), and the reward is
 * `correct` for a right final answer and `wrong` otherwise, with no shaping. The pipeline loads it from
 * `pipeline.yaml` (`verifier: { use: ./my-verifier.ts, with: { ... } }`) and checks it before any work starts.
 */
import { AnswerJudge, Route, Verifier } from "@realm-lm/core"
import type { Curriculum, Problem } from "@realm-lm/core"
import { Implementation } from "@realm-lm/pipeline"
import { Effect, Layer, Schema } from "effect"

/** Settings (`verifier.with` in the pipeline config); both rewards default as shown. */
export const Settings = Schema.Struct({
  /** Reward of a completion whose final answer matches gold. Default 1. */
  correct: Schema.optionalKey(Schema.Finite),
  /** Reward of any other completion (wrong or no answer). Default 0. */
  wrong: Schema.optionalKey(Schema.Finite)
})
export type Settings = typeof Settings.Type

const instructions =
  "Solve the problem step by step, one step per line (Step 1: ...), then end with a line `Answer: <value>`."

/** The prompt for a problem; shows up to `decision.routeCount` routes, in the order given. */
const promptFor = (
  problem: Problem.Problem,
  routes: ReadonlyArray<Route.Route>,
  decision: Curriculum.GuidanceDecision
) => {
  const shown = routes.slice(0, decision.routeCount)
  const attempts = shown.map(
    (route, i) => `Attempt ${i + 1}:\n${Route.renderSteps(route.steps)}\nAnswer: ${route.answer}`
  )
  return {
    problemId: problem.id,
    messages: [
      { role: "system" as const, content: instructions },
      { role: "user" as const, content: [problem.question, ...attempts].join("\n\n") }
    ],
    guidance: {
      mode: shown.length > 0 ? ("assisted" as const) : ("autonomous" as const),
      strength: decision.strength,
      routeIds: shown.map((r) => r.id)
    }
  }
}

/** The verifier's service for decoded settings and the task's answer judge. */
export const make = (settings: Settings, judge: AnswerJudge.AnswerJudge["Service"]): Verifier.Verifier["Service"] => {
  const correct = settings.correct ?? 1
  const wrong = settings.wrong ?? 0
  return Verifier.Verifier.of({
    prompt: ({ problem, routes, decision }) => Effect.succeed(promptFor(problem, routes, decision)),
    example: ({ problem, routes, decision }) => {
      const gold = routes.find((r) => r.label === "positive")
      if (gold === undefined && problem.goldSteps === undefined) {
        return Effect.fail(
          new Verifier.VerifierError({
            problemId: problem.id,
            detail: "no positive route or gold steps to write an example from"
          })
        )
      }
      const steps = gold?.steps ?? problem.goldSteps ?? []
      return Effect.succeed({
        prompt: promptFor(problem, routes, decision),
        completion: `${Route.renderSteps(steps)}\nAnswer: ${problem.gold}`
      })
    },
    score: ({ problem, completion }) => {
      const judgement = judge.judge(problem, completion)
      const total = judgement.correct ? correct : wrong
      return Effect.succeed({
        total,
        components: { answer: total },
        correct: judgement.correct,
        ...(judgement.extracted === undefined ? {} : { answer: judgement.extracted })
      })
    }
  })
}

/** What the pipeline imports: the slot, an id for manifests, the settings schema and the layer. */
export const implementation = Implementation.define({
  slot: "verifier",
  id: "examples/custom-verifier",
  config: Settings,
  layer: (settings: Settings) =>
    Layer.effect(
      Verifier.Verifier,
      Effect.gen(function* () {
        const judge = yield* AnswerJudge.AnswerJudge
        return make(settings, judge)
      })
    )
})
