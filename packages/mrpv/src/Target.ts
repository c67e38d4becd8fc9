/**
 * The ideal MRPV completion for a problem and the routes a prompt shows: the right verdict per route (with the
 * first wrong step of each negative route), a one-line reflection naming the decisive pattern, the gold steps
 * and the gold answer. The trainer uses it as the SFT warm-start target in exactly the format the parser reads.
 */
import type { Curriculum, Problem, Route } from "@realm-lm/core"
import { Verifier } from "@realm-lm/core"
import { Result } from "effect"
import { decisivePattern, decisiveStepOf, goldReference } from "./DecisivePattern.ts"
import type { Reference } from "./DecisivePattern.ts"
import type { CompletionOrder, MrpvConfig } from "./MrpvConfig.ts"
import { buildPrompt, solutionLines } from "./PromptBuilder.ts"
import { oneLine, routeLetter } from "./internal/text.ts"

/** Longest reflection line written, in characters after `Reflection: `. */
export const REFLECTION_MAX = 140

/** Options for {@link renderTarget}. */
export interface TargetOptions {
  /** Solution steps to write. Default: the problem's gold steps, else the first positive route shown. */
  readonly solution?: ReadonlyArray<string>
  /** Extra positive references for decisive-step alignment, besides the positive routes shown and gold steps. */
  readonly references?: ReadonlyArray<Reference>
  /** Answer equality used by alignment (default: canonical token equality). */
  readonly sameAnswer?: (a: string, b: string) => boolean
  /** Section order of assisted completions. Default `verify-first`. */
  readonly order?: CompletionOrder
  /** Repeat each route's answer in its verdict line (`Route A: answer 20, correct`). Default false. */
  readonly echoAnswers?: boolean
  /** With `echoAnswers`, write the route's answer next to the completion's own (`Route A: answer 20 vs 21, wrong`). */
  readonly compareAnswers?: boolean
}

/**
 * What a verdict line repeats before its verdict: nothing, the route's answer (`answer 20, `), or the route's answer
 * next to the completion's own (`answer 20 vs 21, `).
 */
export type VerdictEcho = "none" | "route" | { readonly compareWith: string }

/** The references negative routes are aligned against: positive routes shown, then gold steps, then extras. */
export const referencesFor = (
  problem: Problem.Problem,
  shown: ReadonlyArray<Route.Route>,
  extra: ReadonlyArray<Reference> = []
): Array<Reference> => {
  const gold = goldReference(problem)
  return [...shown.filter((r) => r.label === "positive"), ...(gold === undefined ? [] : [gold]), ...extra]
}

/** A verdict line in parts: `head` (route name and echoed answers), the `verdict` word, then the rest (`at step 3`). */
export interface VerdictLineParts {
  readonly head: string
  readonly verdict: "correct" | "wrong"
  readonly rest: string
}

/** The parts of the verdict line the target writes for the route shown at `index`. */
export const verdictLineParts = (
  route: Route.Route,
  index: number,
  references: ReadonlyArray<Reference>,
  sameAnswer?: (a: string, b: string) => boolean,
  echo: VerdictEcho = "none"
): VerdictLineParts => {
  const answer = oneLine(route.answer, Number.MAX_SAFE_INTEGER)
  const repeated =
    echo === "none"
      ? ""
      : echo === "route"
        ? `answer ${answer}, `
        : `answer ${answer} vs ${oneLine(echo.compareWith, Number.MAX_SAFE_INTEGER)}, `
  const head = `Route ${routeLetter(index)}: ${repeated}`
  if (route.label === "positive") return { head, verdict: "correct", rest: "" }
  const step = decisiveStepOf(route, references, sameAnswer)
  return { head, verdict: "wrong", rest: step === undefined ? "" : ` at step ${step + 1}` }
}

/** The verdict line the target writes for the route shown at `index`. */
export const verdictLine = (...args: Parameters<typeof verdictLineParts>): string => {
  const parts = verdictLineParts(...args)
  return parts.head + parts.verdict + parts.rest
}

/** The reflection text (without the `Reflection: ` marker) for the routes shown. */
export const reflectionText = (
  shown: ReadonlyArray<Route.Route>,
  references: ReadonlyArray<Reference>,
  sameAnswer?: (a: string, b: string) => boolean
): string => {
  const index = shown.findIndex((r) => r.label === "negative")
  const route = shown[index]
  if (route === undefined) return "every route checks out."
  const name = `Route ${routeLetter(index)}`
  const step = decisiveStepOf(route, references, sameAnswer)
  if (step === undefined) return oneLine(`${name} reaches a wrong answer.`, REFLECTION_MAX)
  if (route.decisiveNote !== undefined && route.decisiveNote.trim().length > 0) {
    return oneLine(`${name} step ${step + 1}: ${route.decisiveNote}`, REFLECTION_MAX)
  }
  const pattern = decisivePattern(route, references, sameAnswer)
  if (pattern !== undefined && Math.min(pattern.step, route.steps.length - 1) === step) {
    return oneLine(`${name} step ${step + 1}: ${pattern.summary}`, REFLECTION_MAX)
  }
  return oneLine(`${name} goes wrong at step ${step + 1}.`, REFLECTION_MAX)
}

/** An ideal completion with the ranges of its verdict words (`correct` / `wrong`), one per route shown, in order. */
export interface RenderedTarget {
  readonly text: string
  readonly verdicts: ReadonlyArray<Verifier.TextSpan>
}

/**
 * The ideal completion for `problem` given the routes shown in order (empty for hint and autonomous prompts,
 * where the target is just steps and answer), with where each verdict word sits in it. Lines are joined with `\n`;
 * there is no trailing newline.
 */
export const renderTargetWithVerdicts = (
  problem: Problem.Problem,
  shown: ReadonlyArray<Route.Route>,
  options: TargetOptions = {}
): RenderedTarget => {
  const references = referencesFor(problem, shown, options.references)
  const echo: VerdictEcho =
    options.echoAnswers !== true ? "none" : options.compareAnswers === true ? { compareWith: problem.gold } : "route"
  const parts = shown.map((r, i) => verdictLineParts(r, i, references, options.sameAnswer, echo))
  const verification: Array<string> = parts.map((p) => p.head + p.verdict + p.rest)
  if (shown.length > 0) verification.push(`Reflection: ${reflectionText(shown, references, options.sameAnswer)}`)
  const gold = problem.goldSteps !== undefined && problem.goldSteps.length > 0 ? problem.goldSteps : undefined
  const solution = options.solution ?? gold ?? shown.find((r) => r.label === "positive")?.steps ?? []
  const steps = solutionLines(solution)
  const answer = `Answer: ${oneLine(problem.gold, Number.MAX_SAFE_INTEGER)}`
  const [before, after] = options.order === "solve-first" ? [[...steps, answer], []] : [[], [...steps, answer]]
  const lines = [...before, ...verification, ...after]
  // Offsets: every line before the verdict lines, each followed by its "\n".
  let offset = before.reduce((n, line) => n + line.length + 1, 0)
  const verdicts = parts.map((p, i) => {
    const start = offset + p.head.length
    offset += verification[i]!.length + 1
    return { start, end: start + p.verdict.length }
  })
  return { text: lines.join("\n"), verdicts }
}

/**
 * The ideal completion for `problem` given the routes shown in order (empty for hint and autonomous prompts,
 * where the target is just steps and answer). Lines are joined with `\n`; there is no trailing newline.
 */
export const renderTarget = (
  problem: Problem.Problem,
  shown: ReadonlyArray<Route.Route>,
  options: TargetOptions = {}
): string => renderTargetWithVerdicts(problem, shown, options).text

/**
 * An SFT warm-start pair in the MRPV format: the prompt built for `decision` and the ideal completion for the
 * routes it shows (steps and answer only when it shows none), with its verdict words marked as `emphasis`. For a
 * prefill hint the completion is what follows the prefill: the rest of the route the hint starts, then the answer.
 */
export const sftPair = (
  config: MrpvConfig,
  problem: Problem.Problem,
  routes: ReadonlyArray<Route.Route>,
  decision: Curriculum.GuidanceDecision,
  options: TargetOptions = {}
): Result.Result<Verifier.Example, Verifier.VerifierError> =>
  Result.flatMap(buildPrompt(config, problem, routes, decision), (built) => {
    const target = renderTargetWithVerdicts(problem, built.shown, {
      order: config.order,
      echoAnswers: config.echoAnswers,
      compareAnswers: config.compareAnswers,
      ...options,
      ...(built.solution === undefined ? {} : { solution: built.solution })
    })
    const prefill = built.prompt.prefill ?? ""
    if (!target.text.startsWith(prefill))
      return Result.fail(
        new Verifier.VerifierError({
          problemId: problem.id,
          detail: `the target does not start with the prompt's prefill ${JSON.stringify(prefill)}`
        })
      )
    const emphasis = target.verdicts
      .filter((v) => v.start >= prefill.length)
      .map((v) => ({ start: v.start - prefill.length, end: v.end - prefill.length }))
    return Result.succeed({
      prompt: built.prompt,
      completion: target.text.slice(prefill.length),
      ...(emphasis.length === 0 ? {} : { emphasis })
    })
  })
