/**
 * MRPV prompt building: pick up to k labelled routes by the configured positive/negative mix, shuffle them with
 * the decision's seed, and render them as Route A, B, … without any label, together with the question and
 * the instruction to verify each route; or a hint prefix of a positive route; or the bare question.
 * Rendering only sees route steps and answers, so labels cannot leak into the text.
 */
import { Rng } from "@realm-lm/core"
import type { Curriculum, Problem, Prompt, Route } from "@realm-lm/core"
import { Verifier as CoreVerifier } from "@realm-lm/core"
import { Result } from "effect"
import type { CompletionOrder, MixConfig, MrpvConfig, PromptStyle } from "./MrpvConfig.ts"
import { oneLine, routeLetter } from "./internal/text.ts"

/** What rendering may see of a route: its steps and answer, never its label, id or source. */
export interface RouteView {
  readonly steps: ReadonlyArray<string>
  readonly answer: string
}

/** A built prompt and the routes it shows, in the order shown (Route A first). */
export interface BuiltPrompt {
  readonly prompt: Prompt.Prompt
  readonly shown: ReadonlyArray<Route.Route>
  /** For a prefill hint: the whole solution whose first steps the prefill holds (its target continues it). */
  readonly solution?: ReadonlyArray<string>
}

/** Compact instruction closing an assisted prompt. */
export const COMPACT_VERIFY = "Verify each route, then solve."
/** Compact instruction closing an assisted prompt in the solve-first order. */
export const COMPACT_SOLVE_VERIFY = "Solve, then verify each route."
/** Compact instruction closing a hint or autonomous prompt. */
export const COMPACT_SOLVE = "Solve."

/** System message of the verbose style. */
export const VERBOSE_SYSTEM =
  "You are an expert problem solver. You reason step by step, check other people's reasoning carefully, " +
  "and always finish with a line of the form `Answer: <final answer>`."

const stepLines = (steps: ReadonlyArray<string>): Array<string> =>
  steps.map((s, i) => `Step ${i + 1}: ${s.replace(/\s*\n\s*/g, " ")}`)

/** How assisted completions are laid out: section order and whether route answers are echoed. */
export interface CompletionFormat {
  readonly order: CompletionOrder
  readonly echoAnswers: boolean
  /** Verdict lines compare the route's answer with the completion's own (`answer 20 vs 21, wrong`). */
  readonly compareAnswers?: boolean
}

const defaultFormat: CompletionFormat = { order: "verify-first", echoAnswers: false }

const routeBlock = (view: RouteView, index: number, echo: boolean): Array<string> => {
  const answer = view.answer.replace(/\s*\n\s*/g, " ")
  return echo
    ? [`Route ${routeLetter(index)}: answer ${answer}`, ...stepLines(view.steps)]
    : [`Route ${routeLetter(index)}:`, ...stepLines(view.steps), `Answer: ${answer}`]
}

const verdictFormat = (format: CompletionFormat) => {
  const repeated = !format.echoAnswers
    ? ""
    : format.compareAnswers === true
      ? "answer <its answer> vs <your answer>, "
      : "answer <its answer>, "
  return [
    `Route A: ${repeated}correct`,
    `Route B: ${repeated}wrong at step N`,
    "(one line per route, in order; N is the number of the first wrong step)",
    "Reflection: one sentence naming the step and the pattern that decides between the routes"
  ]
}

const verboseFormat = (routes: number, format: CompletionFormat): Array<string> => {
  const steps = ["Step 1: ...", "Step 2: ..."]
  if (routes === 0)
    return ["Solve it step by step. Reply in exactly this format:", ...steps, "Answer: your final answer"]
  const verdicts = verdictFormat(format)
  return format.order === "solve-first"
    ? [
        "Solve it step by step, then check every route against your solution. Reply in exactly this format:",
        ...steps,
        "Answer: your final answer",
        ...verdicts
      ]
    : [
        "Check every route step by step. Then reply in exactly this format:",
        ...verdicts,
        ...steps,
        "Answer: your final answer"
      ]
}

/**
 * Chat messages for a problem with the given routes (in order) or hint steps. Compact: one user message.
 * Verbose: a system message and a user message with natural-language instructions. The completion format is
 * the same for both styles.
 */
export const renderMessages = (
  style: PromptStyle,
  problem: Pick<Problem.Problem, "question" | "labels">,
  routes: ReadonlyArray<RouteView>,
  hint: ReadonlyArray<string> = [],
  format: CompletionFormat = defaultFormat
): Array<Prompt.ChatMessage> => {
  if (style === "compact") {
    const lines = [`Q: ${problem.question}`]
    routes.forEach((r, i) => lines.push(...routeBlock(r, i, format.echoAnswers)))
    if (routes.length === 0 && hint.length > 0) lines.push("Hint:", ...stepLines(hint))
    lines.push(
      routes.length === 0 ? COMPACT_SOLVE : format.order === "solve-first" ? COMPACT_SOLVE_VERIFY : COMPACT_VERIFY
    )
    return [{ role: "user", content: lines.join("\n") }]
  }
  const parts: Array<string> = [`Problem:\n${problem.question}`]
  if (routes.length > 0) {
    parts.push(
      `Here ${routes.length === 1 ? 'is 1 candidate solution (a "route")' : `are ${routes.length} candidate solutions ("routes")`}. ` +
        "Any number of them, including none or all, may be right."
    )
    routes.forEach((r, i) => parts.push(routeBlock(r, i, format.echoAnswers).join("\n")))
  } else if (hint.length > 0) {
    parts.push(`Here is the beginning of a solution:\n${stepLines(hint).join("\n")}`)
  }
  if (problem.labels !== undefined && problem.labels.length > 0)
    parts.push(`The answer is one of: ${problem.labels.join(", ")}.`)
  parts.push(verboseFormat(routes.length, format).join("\n"))
  return [
    { role: "system", content: VERBOSE_SYSTEM },
    { role: "user", content: parts.join("\n\n") }
  ]
}

/** Number of positive routes wanted among `k` for one prompt, drawn by the mix (before availability). */
export const drawPositiveCount = (mix: MixConfig, k: number, rng: Rng.Rng): number => {
  const r = rng.float()
  if (r < mix.allNegative) return 0
  if (r < mix.allNegative + mix.allPositive) return k
  let n = 0
  for (let i = 0; i < k; i++) if (rng.bernoulli(mix.positiveRatio)) n++
  return n
}

/**
 * Choose `k` routes (fewer when fewer exist) by the mix and return them in shuffled display order. The requested
 * count wins over the composition: when one label runs short the other fills in. Deterministic in `rng`.
 */
export const selectRoutes = (
  routes: ReadonlyArray<Route.Route>,
  k: number,
  mix: MixConfig,
  rng: Rng.Rng
): Array<Route.Route> => {
  const count = Math.max(0, Math.min(k, routes.length))
  if (count === 0) return []
  const positives = rng.split("pool", "positive").shuffle(routes.filter((r) => r.label === "positive"))
  const negatives = rng.split("pool", "negative").shuffle(routes.filter((r) => r.label === "negative"))
  let nPos = Math.min(drawPositiveCount(mix, count, rng.split("mix")), positives.length)
  const nNeg = Math.min(count - nPos, negatives.length)
  nPos = Math.min(count - nNeg, positives.length)
  return rng.split("order").shuffle([...positives.slice(0, nPos), ...negatives.slice(0, nNeg)])
}

/** Solution steps as a completion writes them (`Step i: text`, each on one line): the prefix of a target. */
export const solutionLines = (steps: ReadonlyArray<string>): Array<string> =>
  steps.map((s, i) => `Step ${i + 1}: ${oneLine(s, Number.MAX_SAFE_INTEGER)}`)

/** Number of hint steps for a fraction of an `n`-step solution: floor(fraction * n), at most n. */
export const hintStepCount = (fraction: number, n: number): number =>
  Math.max(0, Math.min(n, Math.floor(fraction * n + 1e-9)))

const fail = (problemId: string, detail: string) => Result.fail(new CoreVerifier.VerifierError({ problemId, detail }))

/**
 * Build the prompt for a problem under a curriculum decision. Routes win over hints: a decision with
 * `routeCount > 0` shows routes (and no hint) when any exist; otherwise `hintFraction > 0` shows a prefix of a positive route
 * (gold steps when no positive route is given); otherwise the bare question. The returned `guidance` records
 * exactly what the text shows. Fails only on duplicate route ids, or, with `missingRoutes: "fail"`, when the
 * requested guidance has no source.
 */
export const buildPrompt = (
  config: MrpvConfig,
  problem: Problem.Problem,
  routes: ReadonlyArray<Route.Route>,
  decision: Curriculum.GuidanceDecision
): Result.Result<BuiltPrompt, CoreVerifier.VerifierError> => {
  const ids = new Set<string>()
  for (const r of routes) {
    if (ids.has(r.id))
      return fail(problem.id, `duplicate route id "${r.id}"; route ids must be unique within a problem`)
    ids.add(r.id)
  }
  const rng = Rng.Rng.make(decision.seed, "mrpv")
  const strength = Math.min(1, Math.max(0, Number.isFinite(decision.strength) ? decision.strength : 0))
  const k = Math.min(decision.routeCount, config.maxRoutes)
  if (k > 0 && routes.length === 0 && config.missingRoutes === "fail") {
    return fail(
      problem.id,
      `${k} route(s) requested but the problem has none; add routes to the corpus or set verifier.missingRoutes to "fallback"`
    )
  }
  const shown = selectRoutes(routes, k, config.mix, rng.split("select"))
  if (shown.length > 0) {
    return Result.succeed({
      shown,
      prompt: {
        problemId: problem.id,
        messages: renderMessages(config.style, problem, shown, [], config),
        guidance: { mode: "assisted", strength, routeIds: shown.map((r) => r.id) }
      }
    })
  }
  if (decision.hintFraction > 0) {
    const positives = routes.filter((r) => r.label === "positive" && r.steps.length > 0)
    const source = positives.length > 0 ? rng.split("hint").pick(positives).steps : (problem.goldSteps ?? [])
    if (source.length === 0 && config.missingRoutes === "fail") {
      return fail(
        problem.id,
        `a hint was requested but the problem has no positive route or gold steps; set verifier.missingRoutes to "fallback"`
      )
    }
    const hint = source.slice(0, hintStepCount(decision.hintFraction, source.length))
    if (hint.length > 0 && config.hintPlacement === "prefill") {
      const prefill = solutionLines(hint)
        .map((line) => `${line}\n`)
        .join("")
      return Result.succeed({
        shown: [],
        solution: source,
        prompt: {
          problemId: problem.id,
          messages: renderMessages(config.style, problem, []),
          guidance: { mode: "hint", strength, routeIds: [], hint: prefill.trimEnd() },
          prefill
        }
      })
    }
    if (hint.length > 0) {
      return Result.succeed({
        shown: [],
        prompt: {
          problemId: problem.id,
          messages: renderMessages(config.style, problem, [], hint),
          guidance: { mode: "hint", strength, routeIds: [], hint: stepLines(hint).join("\n") }
        }
      })
    }
  }
  return Result.succeed({
    shown: [],
    prompt: {
      problemId: problem.id,
      messages: renderMessages(config.style, problem, []),
      guidance: { mode: "autonomous", strength, routeIds: [] }
    }
  })
}
