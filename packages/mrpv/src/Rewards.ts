/**
 * MRPV rewards as pure functions: final-answer correctness via the task's AnswerJudge, route-verdict accuracy
 * against known labels, decisive-step identification for negative routes, format compliance and an optional
 * length penalty, each weighted and returned by name. Prompts without routes (hint, autonomous) score answer,
 * format and length only. The truth check (`correct`) is the judge's verdict alone, kept apart from shaping.
 */
import type { AnswerJudge, Problem, Reward, Route } from "@realm-lm/core"
import { formatChecks, parseCompletion, verdictFor } from "./CompletionParser.ts"
import type { FormatCheck, ParsedCompletion, VerdictValue } from "./CompletionParser.ts"
import { decisiveStepOf } from "./DecisivePattern.ts"
import type { MrpvConfig } from "./MrpvConfig.ts"
import { referencesFor } from "./Target.ts"

/** Component names in the reward record. */
export const COMPONENTS = ["answer", "verdict", "decisive", "format", "length"] as const
/** One reward component name. */
export type Component = (typeof COMPONENTS)[number]

/** How one shown route was judged. */
export interface RouteScore {
  /** 0-based display index (Route A = 0). */
  readonly index: number
  readonly routeId: string
  readonly label: Route.RouteLabel
  /** The verdict given, `missing` when the completion has no line for this route. */
  readonly verdict: VerdictValue | "missing"
  readonly verdictRight: boolean
  /** Known 0-based first wrong step, for negative routes where it is known. */
  readonly expectedStep: number | undefined
  /** 0-based first wrong step the completion named, if any. */
  readonly statedStep: number | undefined
  /** Whether the named step is within tolerance of the known one; `undefined` when not applicable. */
  readonly stepRight: boolean | undefined
}

/** A scored completion: the reward plus everything behind it, for logs and reports. */
export interface Scored {
  readonly reward: Reward.Reward
  readonly parsed: ParsedCompletion
  readonly checks: Partial<Record<FormatCheck, boolean>>
  readonly routes: ReadonlyArray<RouteScore>
  /** The answer judge's extraction and truth check on the completion's own reasoning. */
  readonly judgement: AnswerJudge.Judgement
}

/** Input to {@link scoreCompletion}. */
export interface ScoreInput {
  readonly config: Pick<MrpvConfig, "weights" | "length" | "decisiveTolerance"> & {
    readonly order?: MrpvConfig["order"]
    readonly verdictFormat?: boolean
  }
  readonly problem: Problem.Problem
  /** The routes the prompt showed, in display order (empty for hint and autonomous prompts). */
  readonly shown: ReadonlyArray<Route.Route>
  readonly completion: string
  readonly judge: AnswerJudge.AnswerJudge["Service"]
}

/** Length penalty in [-weight, 0] for a completion of `chars` characters. */
export const lengthPenalty = (length: MrpvConfig["length"], chars: number): number => {
  if (length.weight === 0) return 0
  const over = Math.min(1, Math.max(0, (chars - length.targetChars) / length.spanChars))
  return over === 0 ? 0 : -length.weight * over
}

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

/** Score one completion. Pure and total: any completion text yields a reward with finite components. */
export const scoreCompletion = (input: ScoreInput): Scored => {
  const { config, problem, shown, completion, judge } = input
  const parsed = parseCompletion(completion, config.order)
  const checks = formatChecks(parsed, shown.length, config.verdictFormat !== false)
  const checkValues = Object.values(checks)
  const format = checkValues.filter(Boolean).length / checkValues.length
  const judgement = judge.judge(problem, parsed.judgeText)
  const sameAnswer = (a: string, b: string) => judge.equivalent(problem, a, b)
  const references = referencesFor(problem, shown)

  const routes: Array<RouteScore> = shown.map((route, index) => {
    const v = verdictFor(parsed, index)
    const verdict = v === undefined ? "missing" : v.verdict
    const verdictRight = route.label === "positive" ? verdict === "correct" : verdict === "wrong"
    const expectedStep = route.label === "negative" ? decisiveStepOf(route, references, sameAnswer) : undefined
    const statedStep = v?.verdict === "wrong" && v.step !== undefined ? v.step - 1 : undefined
    const stepRight =
      expectedStep === undefined
        ? undefined
        : statedStep !== undefined && Math.abs(statedStep - expectedStep) <= config.decisiveTolerance
    return { index, routeId: route.id, label: route.label, verdict, verdictRight, expectedStep, statedStep, stepRight }
  })

  const w = config.weights
  const components: Record<string, number> = { answer: judgement.correct ? w.answer : 0 }
  if (routes.length > 0) components.verdict = w.verdict * mean(routes.map((r) => (r.verdictRight ? 1 : 0)))
  const decisive = routes.filter((r) => r.stepRight !== undefined)
  if (decisive.length > 0) components.decisive = w.decisive * mean(decisive.map((r) => (r.stepRight === true ? 1 : 0)))
  components.format = w.format * format
  if (config.length.weight > 0) components.length = lengthPenalty(config.length, completion.length)
  let total = 0
  for (const value of Object.values(components)) total += value
  const metrics: Record<string, number> = { format }
  if (routes.length > 0) metrics.verdictAccuracy = mean(routes.map((r) => (r.verdictRight ? 1 : 0)))
  if (decisive.length > 0) metrics.decisiveAccuracy = mean(decisive.map((r) => (r.stepRight === true ? 1 : 0)))
  const answer = judgement.extracted === undefined ? {} : { answer: judgement.extracted }
  return {
    reward: { total, components, correct: judgement.correct, ...answer, metrics },
    parsed,
    checks,
    routes,
    judgement
  }
}

/** Bounds of the total reward for a config: `[-length.weight, sum of the other weights]`. */
export const rewardBounds = (
  config: Pick<MrpvConfig, "weights" | "length">
): { readonly min: number; readonly max: number } => ({
  min: -config.length.weight,
  max: config.weights.answer + config.weights.verdict + config.weights.decisive + config.weights.format
})
