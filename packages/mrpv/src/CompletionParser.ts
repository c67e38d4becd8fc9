/**
 * Parser for MRPV completions: route verdicts (`Route B: wrong at step 2`), a one-line reflection, the policy's
 * own `Step k:` lines and `Answer: ...`. Line-based and total: any string parses (partial outputs, missing
 * sections, markdown decoration, extra text, unknown route names), and format problems become failed checks.
 */
import type { CompletionOrder } from "./MrpvConfig.ts"
import { letterIndex } from "./internal/text.ts"

/** A verdict as read: `unclear` when a route line names neither correct nor wrong. */
export type VerdictValue = "correct" | "wrong" | "unclear"

/** One `Route X: ...` line. */
export interface ParsedVerdict {
  /** 0-based route index from the letter (`A` → 0), `undefined` when the name is not a single letter. */
  readonly index: number | undefined
  /** The route name as written. */
  readonly name: string
  readonly verdict: VerdictValue
  /** 1-based step named as the first wrong one, when given. */
  readonly step: number | undefined
}

/** One `Step k: ...` line. */
export interface ParsedStep {
  readonly number: number
  readonly text: string
}

/** Everything read from a completion. */
export interface ParsedCompletion {
  readonly verdicts: ReadonlyArray<ParsedVerdict>
  /** Texts of all `Reflection:` lines, in order. */
  readonly reflections: ReadonlyArray<string>
  readonly steps: ReadonlyArray<ParsedStep>
  /** Text of the first `Answer:` line, `undefined` when there is none. */
  readonly answer: string | undefined
  /** Non-empty lines before the answer that match no section. */
  readonly extra: ReadonlyArray<string>
  /** Non-empty lines after the first answer line (solve-first: other than verdict and reflection lines). */
  readonly trailing: ReadonlyArray<string>
  /** Whether sections appear in the expected order (verdicts, reflection, steps, answer; solve-first: steps, answer, verdicts, reflection). */
  readonly ordered: boolean
  /** The policy's own reasoning for the answer judge: step, extra and answer lines up to the first answer, verdict and reflection lines removed. */
  readonly judgeText: string
}

/** Names of the format checks; the format score is the fraction passed. */
export type FormatCheck = "verdicts" | "reflection" | "noRouteSections" | "steps" | "answer" | "order" | "clean"

const VERDICT = /^route\s+([^\s:.)\-–—]{1,8})\s*(?:[:.)\-–—]|(?=is\b))\s*(.*)$/i
const STEP = /^step\s*#?\s*(\d{1,9})\s*[:.)\-–—]\s*(.*)$/i
const REFLECTION = /^reflection\s*[:\-–—]\s*(.*)$/i
const ANSWER = /^(?:final\s+answer|answer)\s*(?:is\s*)?[:\-–—=]\s*(.*)$/i
const WRONG =
  /\b(?:not\s+(?:correct|right|valid)|incorrect|wrong|invalid|errors?|erroneous|flawed|false|fails?|mistakes?)\b/
const CORRECT = /\b(?:correct|right|valid|true|ok|sound)\b/
const WRONG_STEP = /\bstep\s*#?\s*(\d{1,9})\b/

/** Strip markdown decoration a chat model may add: bullets, quotes, headings, bold/underline markers. */
const clean = (line: string): string =>
  line
    .replace(/\*\*|__/g, "")
    .replace(/^[\s#>*\-•]+/, "")
    .trim()

const ECHO = /^answer\s.*,\s*/

const readVerdict = (name: string, rest: string): ParsedVerdict => {
  // An echoed answer (`answer false, correct`, `answer true vs false, wrong`) is data, not a verdict: judge only
  // what follows its last comma.
  const text = rest.toLowerCase().replace(ECHO, "")
  const verdict: VerdictValue = WRONG.test(text) ? "wrong" : CORRECT.test(text) ? "correct" : "unclear"
  const m = verdict === "wrong" ? WRONG_STEP.exec(text) : null
  return { index: letterIndex(name), name, verdict, step: m === null ? undefined : Number(m[1]) }
}

/** Rank of each section in the expected order: verdict, reflection, step, answer (solve-first: steps, answer, verdicts, reflection). */
const ranks: Record<CompletionOrder, readonly [number, number, number, number]> = {
  "verify-first": [0, 1, 2, 3],
  "solve-first": [2, 3, 0, 1]
}

/** Parse a completion written in `order` (default verify-first). Never throws; every string yields a result. */
export const parseCompletion = (text: string, order: CompletionOrder = "verify-first"): ParsedCompletion => {
  const [verdictRank, reflectionRank, stepRank, answerRank] = ranks[order]
  const verdicts: Array<ParsedVerdict> = []
  const reflections: Array<string> = []
  const steps: Array<ParsedStep> = []
  const extra: Array<string> = []
  const trailing: Array<string> = []
  const judgeLines: Array<string> = []
  let answer: string | undefined
  let rank = 0
  let ordered = true
  const see = (r: number) => {
    if (r < rank) ordered = false
    rank = Math.max(rank, r)
  }
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = clean(raw)
    if (line.length === 0) continue
    let m: RegExpExecArray | null
    if (answer !== undefined) {
      // Solve-first completions verify the routes after their own answer; anything else after it is trailing.
      if (order === "solve-first" && (m = VERDICT.exec(line)) !== null) {
        see(verdictRank)
        verdicts.push(readVerdict(m[1] ?? "", m[2] ?? ""))
      } else if (order === "solve-first" && (m = REFLECTION.exec(line)) !== null) {
        see(reflectionRank)
        reflections.push((m[1] ?? "").trim())
      } else {
        trailing.push(line)
      }
      continue
    }
    if ((m = ANSWER.exec(line)) !== null) {
      see(answerRank)
      answer = (m[1] ?? "").trim()
      judgeLines.push(raw.trim())
    } else if ((m = STEP.exec(line)) !== null) {
      see(stepRank)
      steps.push({ number: Number(m[1]), text: (m[2] ?? "").trim() })
      judgeLines.push(raw.trim())
    } else if ((m = REFLECTION.exec(line)) !== null) {
      see(reflectionRank)
      reflections.push((m[1] ?? "").trim())
    } else if ((m = VERDICT.exec(line)) !== null) {
      see(verdictRank)
      verdicts.push(readVerdict(m[1] ?? "", m[2] ?? ""))
    } else {
      extra.push(line)
      judgeLines.push(raw.trim())
    }
  }
  return { verdicts, reflections, steps, answer, extra, trailing, ordered, judgeText: judgeLines.join("\n") }
}

/** The first verdict line for route `index`, if any. */
export const verdictFor = (parsed: ParsedCompletion, index: number): ParsedVerdict | undefined =>
  parsed.verdicts.find((v) => v.index === index)

/**
 * Format checks for a completion to a prompt that showed `routeCount` routes. Assisted prompts expect one
 * clear verdict per route in order A, B, … (and none for other names) and one non-empty reflection; prompts
 * without routes expect no verdict or reflection lines. All expect steps numbered 1..m (m ≥ 1), a non-empty
 * answer, sections in order and no unrecognised or trailing lines; a completion with no step, answer (or, for
 * assisted prompts, verdict) fails every check. With `verdicts` false, assisted prompts get only the common checks.
 */
export const formatChecks = (
  parsed: ParsedCompletion,
  routeCount: number,
  verdicts = true
): Partial<Record<FormatCheck, boolean>> => {
  // Checks for the absence of something only count once the completion has content of its own, so an empty
  // or off-format completion earns no format reward.
  const substantive =
    parsed.steps.length > 0 || parsed.answer !== undefined || (routeCount > 0 && parsed.verdicts.length > 0)
  const common = {
    steps: parsed.steps.length > 0 && parsed.steps.every((s, i) => s.number === i + 1),
    answer: parsed.answer !== undefined && parsed.answer.length > 0,
    order: substantive && parsed.ordered,
    clean: substantive && parsed.extra.length === 0 && parsed.trailing.length === 0
  }
  if (routeCount === 0) {
    return {
      noRouteSections: substantive && parsed.verdicts.length === 0 && parsed.reflections.length === 0,
      ...common
    }
  }
  // Without verdict checks (answer-only rewards), an assisted completion is held to the route-less format.
  if (!verdicts) return common
  return {
    verdicts:
      parsed.verdicts.length === routeCount &&
      parsed.verdicts.every((v, i) => v.index === i && v.verdict !== "unclear"),
    reflection: parsed.reflections.length === 1 && (parsed.reflections[0] ?? "").length > 0,
    ...common
  }
}

/** Fraction of format checks passed, in [0, 1]. */
export const formatScore = (parsed: ParsedCompletion, routeCount: number): number => {
  const checks = Object.values(formatChecks(parsed, routeCount))
  return checks.filter(Boolean).length / checks.length
}
