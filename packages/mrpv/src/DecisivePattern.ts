/**
 * Decisive-pattern extraction: align a negative route with the closest positive route step by step and
 * report the first divergent step and what differs there (a value computed, a rule or term applied, a step
 * missing or added, or only the final answer). Used to build SFT targets, to score decisive-step claims when
 * a route carries no `decisiveStep`, and for reports.
 */
import type { Route } from "@realm-lm/core"
import { multisetMinus, oneLine, sameTokens, similarity, tokenize } from "./internal/text.ts"
import type { Token } from "./internal/text.ts"

/** The part of a route alignment needs: id, steps and final answer (labels play no part). */
export interface Reference {
  readonly id: string
  readonly steps: ReadonlyArray<string>
  readonly answer: string
}

/** What differs at the decisive step. */
export type DecisiveKind = "value" | "rule" | "value+rule" | "order" | "missing-step" | "extra-step" | "answer"

/** The first divergence of a negative route from its closest positive reference. */
export interface DecisivePattern {
  /** 0-based index of the first divergent step of the negative route; `steps.length` when only the answer differs or the route stops early. */
  readonly step: number
  /** Id of the reference route aligned against (`"gold"` for a problem's gold steps). */
  readonly referenceId: string
  readonly kind: DecisiveKind
  /** The reference's step text at `step` (`""` when the reference has no such step). */
  readonly expected: string
  /** The negative route's step text at `step` (`""` when it has no such step). */
  readonly actual: string
  /** Numbers only in the reference step (`expected`) and only in the negative step (`actual`), canonicalised. */
  readonly values: { readonly expected: ReadonlyArray<string>; readonly actual: ReadonlyArray<string> }
  /** Words and symbols only in the reference step and only in the negative step (filler words ignored). */
  readonly terms: { readonly expected: ReadonlyArray<string>; readonly actual: ReadonlyArray<string> }
  /** One short line describing the divergence, e.g. `120 instead of 100`. */
  readonly summary: string
}

const FILLER = new Set([
  "a",
  "an",
  "the",
  "of",
  "to",
  "is",
  "are",
  "so",
  "and",
  "then",
  "we",
  "it",
  "this",
  "that",
  "be",
  "in",
  "on",
  "for",
  "by",
  "with",
  "as",
  "at",
  "which",
  "gives",
  "get",
  "now",
  "therefore",
  "thus"
])

const SUMMARY_MAX = 120

const list = (xs: ReadonlyArray<string>): string => xs.slice(0, 3).join(" ")

const numbersOf = (tokens: ReadonlyArray<Token>): Array<string> =>
  tokens.filter((t) => t.kind === "number").map((t) => t.text)

const termsOf = (tokens: ReadonlyArray<Token>): Array<string> =>
  tokens.filter((t) => t.kind !== "number" && !FILLER.has(t.text)).map((t) => t.text)

/** Length of the common prefix of two tokenised step lists. */
const commonPrefix = (a: ReadonlyArray<ReadonlyArray<Token>>, b: ReadonlyArray<ReadonlyArray<Token>>): number => {
  let i = 0
  while (i < a.length && i < b.length && sameTokens(a[i]!, b[i]!)) i++
  return i
}

/** Mean similarity of index-aligned steps, over the longer route's length. */
const alignedSimilarity = (a: ReadonlyArray<ReadonlyArray<Token>>, b: ReadonlyArray<ReadonlyArray<Token>>): number => {
  const n = Math.max(a.length, b.length)
  if (n === 0) return 1
  let total = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) total += similarity(a[i]!, b[i]!)
  return total / n
}

const describeStep = (
  values: { expected: ReadonlyArray<string>; actual: ReadonlyArray<string> },
  terms: { expected: ReadonlyArray<string>; actual: ReadonlyArray<string> }
): { kind: DecisiveKind; summary: string } => {
  const valueDiff = values.expected.length + values.actual.length > 0
  const termDiff = terms.expected.length + terms.actual.length > 0
  const valueText =
    values.actual.length > 0 && values.expected.length > 0
      ? `${list(values.actual)} instead of ${list(values.expected)}`
      : values.actual.length > 0
        ? `extra value ${list(values.actual)}`
        : `missing value ${list(values.expected)}`
  const termText =
    terms.actual.length > 0 && terms.expected.length > 0
      ? `"${list(terms.actual)}" instead of "${list(terms.expected)}"`
      : terms.actual.length > 0
        ? `adds "${list(terms.actual)}"`
        : `omits "${list(terms.expected)}"`
  if (valueDiff && termDiff) return { kind: "value+rule", summary: `${termText}; ${valueText}` }
  if (valueDiff) return { kind: "value", summary: valueText }
  if (termDiff) return { kind: "rule", summary: termText }
  return { kind: "order", summary: "same terms in a different order" }
}

/**
 * The first divergence of `negative` from the closest of `references` (most leading steps in common, then
 * most similar overall, then first given). `undefined` when there is no reference or the negative route
 * matches its closest reference in every step and in the answer. `sameAnswer` decides answer equality
 * (default: equal token sequences, so `1,200` = `1200.0`).
 */
export const decisivePattern = (
  negative: Reference,
  references: ReadonlyArray<Reference>,
  sameAnswer: (a: string, b: string) => boolean = (a, b) => sameTokens(tokenize(a), tokenize(b))
): DecisivePattern | undefined => {
  if (references.length === 0) return undefined
  const neg = negative.steps.map(tokenize)
  let best: { ref: Reference; steps: Array<Array<Token>>; prefix: number; sim: number } | undefined
  for (const ref of references) {
    const steps = ref.steps.map(tokenize)
    const prefix = commonPrefix(neg, steps)
    const sim = alignedSimilarity(neg, steps)
    if (best === undefined || prefix > best.prefix || (prefix === best.prefix && sim > best.sim)) {
      best = { ref, steps, prefix, sim }
    }
  }
  if (best === undefined) return undefined
  const { ref, prefix: d } = best
  const negLen = negative.steps.length
  const refLen = ref.steps.length
  const none = { expected: [], actual: [] }
  if (d < negLen && d < refLen) {
    const a = neg[d]!
    const e = best.steps[d]!
    const values = {
      expected: multisetMinus(numbersOf(e), numbersOf(a)),
      actual: multisetMinus(numbersOf(a), numbersOf(e))
    }
    const terms = { expected: multisetMinus(termsOf(e), termsOf(a)), actual: multisetMinus(termsOf(a), termsOf(e)) }
    const { kind, summary } = describeStep(values, terms)
    return {
      step: d,
      referenceId: ref.id,
      kind,
      expected: ref.steps[d] ?? "",
      actual: negative.steps[d] ?? "",
      values,
      terms,
      summary: oneLine(summary, SUMMARY_MAX)
    }
  }
  if (d < negLen) {
    return {
      step: d,
      referenceId: ref.id,
      kind: "extra-step",
      expected: "",
      actual: negative.steps[d] ?? "",
      values: none,
      terms: none,
      summary: oneLine(`extra step: ${negative.steps[d] ?? ""}`, SUMMARY_MAX)
    }
  }
  if (d < refLen) {
    return {
      step: d,
      referenceId: ref.id,
      kind: "missing-step",
      expected: ref.steps[d] ?? "",
      actual: "",
      values: none,
      terms: none,
      summary: oneLine(`stops before: ${ref.steps[d] ?? ""}`, SUMMARY_MAX)
    }
  }
  if (sameAnswer(negative.answer, ref.answer)) return undefined
  return {
    step: d,
    referenceId: ref.id,
    kind: "answer",
    expected: ref.answer,
    actual: negative.answer,
    values: none,
    terms: none,
    summary: oneLine(`answer ${negative.answer} instead of ${ref.answer}`, SUMMARY_MAX)
  }
}

/** The problem's gold solution as a reference (`"gold"`), when the task source gives gold steps. */
export const goldReference = (problem: {
  readonly goldSteps?: ReadonlyArray<string>
  readonly gold: string
}): Reference | undefined =>
  problem.goldSteps !== undefined && problem.goldSteps.length > 0
    ? { id: "gold", steps: problem.goldSteps, answer: problem.gold }
    : undefined

/**
 * The 0-based step a verdict should name for a negative route: its own `decisiveStep` when the corpus knows it,
 * else the aligned divergence against the given positive routes (then gold steps), clamped to the route's last
 * step (a divergence only in the answer, or a route that stops early, is blamed on its last step).
 * `undefined` when neither is available or the route has no steps.
 */
export const decisiveStepOf = (
  route: Route.Route,
  positives: ReadonlyArray<Reference>,
  sameAnswer?: (a: string, b: string) => boolean
): number | undefined => {
  if (route.steps.length === 0) return undefined
  if (route.decisiveStep !== undefined) return Math.min(route.decisiveStep, route.steps.length - 1)
  const pattern = decisivePattern(route, positives, sameAnswer)
  return pattern === undefined ? undefined : Math.min(pattern.step, route.steps.length - 1)
}
