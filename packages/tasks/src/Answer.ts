/**
 * Answer extraction, normalisation and comparison per answer type (the `AnswerJudge` contract). Built for the
 * messy text real models write: `#### 1,200`, `\boxed{3/4}`, `**Answer:** $12.50`, `twenty-two`, `Answer: After 3
 * days he has 51 left.`, `the answer is (B)`, `Answer: False` for the option `(B) False`. Pure, synchronous
 * functions; the layer just wraps them.
 */
import { AnswerJudge } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Layer } from "effect"
import * as Labels from "./internal/labels.ts"
import * as Numbers from "./internal/numbers.ts"

/** A parsed number: its value and how many decimals it was written with (for comparison as written). */
export interface ParsedNumber {
  readonly value: number
  /** Decimal places as written (`12.50` → 2); 0 for integers, fractions and number words. */
  readonly decimals: number
}

const plain = (t: Numbers.NumberToken): ParsedNumber => ({ value: t.value, decimals: t.decimals })

/** Every number written with digits in a text, in order of appearance. */
export const numbersIn = (text: string): Array<ParsedNumber> => Numbers.digitTokens(Numbers.clean(text)).map(plain)

/** Parse the first number of a string (`"$1,200.50"`, `"3/4 cup"`, `"-7"`, `"twenty-two"`), else `undefined`. */
export const parseNumber = (text: string): ParsedNumber | undefined => {
  const cleaned = Numbers.clean(text)
  const found = Numbers.digitTokens(cleaned)[0] ?? Numbers.wordTokens(cleaned)[0]
  return found === undefined ? undefined : plain(found)
}

/** Canonical text of a number: integers without separators, other values with at most 6 decimals. */
export const formatNumber = (value: number): string => {
  if (Number.isInteger(value)) return String(value)
  return value.toFixed(6).replace(/0+$/, "").replace(/\.$/, "")
}

/** Relative difference below which two doubles are the same number: float noise of `2 1/3`-style arithmetic, a few ulps. */
const SAME = 4 * Number.EPSILON

/**
 * Whether two numbers are the same as written: equal values (`3,000,001` ≠ `3000000`), or one written rounded to
 * d >= 2 decimals and the other a non-integer that rounds to it (`0.33` matches `1/3`, `12.5` does not match
 * `12.54`). `relativeTolerance` widens this only where the problem asks for it (`metadata.tolerance`).
 */
export const numbersEqual = (a: ParsedNumber, b: ParsedNumber, relativeTolerance = 0): boolean => {
  const scale = Math.max(Math.abs(a.value), Math.abs(b.value))
  if (Math.abs(a.value - b.value) <= Math.max(SAME, relativeTolerance) * scale) return true
  const roundsTo = (x: ParsedNumber, y: ParsedNumber) =>
    x.decimals >= 2 &&
    !Number.isInteger(y.value) &&
    Math.abs(x.value - Number(y.value.toFixed(x.decimals))) <= SAME * scale
  return roundsTo(a, b) || roundsTo(b, a)
}

// `Answer: …`, `The final answer is …`, `answer would be: …`, and a `Final Answer` heading over its line.
const MARKER =
  /(?:final answer|answer)\s*(?:(?:is|was|would be|should be|will be|must be|has to be)\b\s*[:=]?|[:=])\s*|final answer\s*\n\s*/gi

const firstLine = (s: string): string => {
  const trimmed = s.replace(/^[\s*_:#]+/, "")
  const nl = trimmed.indexOf("\n")
  return nl < 0 ? trimmed : trimmed.slice(0, nl)
}

interface Cue {
  readonly at: number
  readonly segment: string
}

/** Final-answer cues of a text: `####`, `\boxed{}`, answer markers, and for labels `The correct option is`. */
const cuesOf = (text: string, choices: boolean): Array<Cue> => {
  const cues: Array<Cue> = []
  const hash = text.lastIndexOf("####")
  if (hash >= 0) cues.push({ at: hash, segment: firstLine(text.slice(hash + 4)) })
  for (const m of text.matchAll(/\\boxed\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}/g))
    cues.push({ at: m.index ?? 0, segment: m[1]! })
  for (const m of text.matchAll(MARKER))
    cues.push({ at: m.index ?? 0, segment: firstLine(text.slice((m.index ?? 0) + m[0].length)) })
  if (choices) {
    const choice = Labels.choiceSegment(text)
    if (choice !== undefined) cues.push({ at: choice.at, segment: choice.segment })
  }
  return cues.toSorted((x, y) => x.at - y.at)
}

/** The text after the last final-answer cue, if any: `####`, `\boxed{}`, `Answer:`, `answer is`, `final answer`. */
export const answerSegment = (text: string): string | undefined => cuesOf(text, false).at(-1)?.segment

/** The number an answer segment states: its first sentence's conclusion (`After 3 days he has 51 left.` → 51). */
const statedNumber = (segment: string): Numbers.NumberToken | undefined =>
  Numbers.conclusion(Numbers.firstSentence(Numbers.clean(segment).trim()), (s) => Numbers.tokens(s))

/** The number a text ends on without a cue: the conclusion of its last sentence with a number. */
const closingNumber = (text: string): Numbers.NumberToken | undefined => {
  const cleaned = Numbers.clean(text)
  const line = cleaned.split("\n").findLast((l) => /\d/.test(l))
  const sentence = line === undefined ? undefined : Numbers.lastSentenceWithNumber(line)
  if (sentence !== undefined) return Numbers.conclusion(sentence, Numbers.digitTokens)
  // No digits anywhere: the last number word (`… so she has twenty-two.`), never a lone pronoun `one`.
  return Numbers.wordTokens(cleaned, false).at(-1)
}

/**
 * The final number of a model text: the one the last answer cue states (none when the cue states none, as in a
 * truncated `Answer:`), else, without any cue, the one the text concludes with.
 */
export const extractNumber = (text: string): string | undefined => {
  const segment = answerSegment(text)
  const found = segment === undefined ? closingNumber(text) : statedNumber(segment)
  return found === undefined ? undefined : formatNumber(found.value)
}

/**
 * The label a text chooses from a closed set, returned as written in the set. With `options` (the question's
 * `(A) text` lines), a letter and its option's text name the same answer: `Answer: False` chooses `(B) False`.
 */
export const extractLabel = (
  text: string,
  labels: ReadonlyArray<string>,
  options: ReadonlyArray<Labels.Option> = []
): string | undefined => {
  const cleaned = Numbers.clean(text)
  const segment = cuesOf(cleaned, true).at(-1)?.segment
  if (segment !== undefined) {
    // The segment is an answer (`False`, `(B) library`); else its first sentence names one, letters before option
    // texts (`MgBr2 (B)`: the letter is deliberate, a short option text may be a word of the sentence).
    const whole = Labels.labelsOf(segment, labels, options)
    // Several options share the answer's text (a dataset's duplicates): no label rather than a guess.
    if (whole.length > 0) return whole.length === 1 ? whole[0] : undefined
    for (const part of [Numbers.firstSentence(segment), segment]) {
      const found = Labels.letters(part, labels, options, true)[0] ?? Labels.words(part, labels, options)[0]
      if (found !== undefined) return found.label
    }
  }
  const closing = Labels.closingLabel(cleaned, labels, options)
  if (closing !== undefined) return closing
  if (labels.every((l) => l.length === 1)) {
    // Without a cue a letter counts only in option syntax: `(B)`, `option B`, `B)` at a line start; or an option's text.
    const letters = [...cleaned.matchAll(/(?:\(([A-Za-z])\)|option\s+([A-Za-z])\b|^\s*([A-Za-z])\))/gim)].map((m) => ({
      label: labels.find((l) => l.toLowerCase() === (m[1] ?? m[2] ?? m[3] ?? "").toLowerCase()),
      index: m.index ?? 0
    }))
    return [...letters, ...Labels.words(cleaned, labels, options)]
      .filter((m) => m.label !== undefined)
      .toSorted((a, b) => a.index - b.index)
      .at(-1)?.label
  }
  // Word labels: an answer-first reply (`Yes. Frost …`, `No, because …`), else the last label the text names.
  const opening = /^[\s*_`"]*([\p{L}]+)[*_`"]*[.,!:;]/u.exec(cleaned)
  const first = opening === null ? undefined : Labels.asLabel(opening[1]!, labels, options)
  return first ?? Labels.words(cleaned, labels, options).at(-1)?.label
}

/** SQuAD-style text normalisation: lowercase, no punctuation or articles, single spaces. */
export const normalizeText = Labels.normalizeText

/** The options a problem's question shows (`(A) text` lines), for label problems. */
export const optionsOf = (problem: Problem.Problem): Array<Labels.Option> =>
  problem.answerType === "label" ? Labels.optionsOf(problem.question) : []

/** Extract and normalise a problem's final answer from model text. */
export const extract = (problem: Problem.Problem, text: string): string | undefined => {
  switch (problem.answerType) {
    case "number":
      return extractNumber(text)
    case "label":
      return extractLabel(text, problem.labels ?? [], optionsOf(problem))
    case "text": {
      const segment =
        answerSegment(text) ??
        text
          .trim()
          .split("\n")
          .filter((l) => l.trim().length > 0)
          .at(-1)
      const normalized = segment === undefined ? "" : normalizeText(Numbers.clean(segment))
      return normalized.length === 0 ? undefined : normalized
    }
  }
}

/** The relative tolerance a problem asks for in `metadata.tolerance` (a number >= 0), else 0: exact. */
export const toleranceOf = (problem: Problem.Problem): number => {
  const t = problem.metadata.tolerance
  return typeof t === "number" && Number.isFinite(t) && t >= 0 ? t : 0
}

/** Whether two answers agree for the problem's answer type (`"1,200"` = `"1200.0"`; `"False"` = `"B"` for `(B) False`). */
export const equivalent = (problem: Problem.Problem, a: string, b: string): boolean => {
  switch (problem.answerType) {
    case "number": {
      const pa = statedNumber(a)
      const pb = statedNumber(b)
      if (pa !== undefined && pb !== undefined) return numbersEqual(plain(pa), plain(pb), toleranceOf(problem))
      return normalizeText(a) === normalizeText(b) && normalizeText(a) !== ""
    }
    case "label": {
      const labels = problem.labels ?? []
      const options = optionsOf(problem)
      const canonical = (s: string) =>
        (Labels.asLabel(s, labels, options) ?? s.trim().replace(/^\(|\)$/g, "")).toLowerCase()
      return a.trim() !== "" && canonical(a) === canonical(b)
    }
    case "text":
      return normalizeText(a) === normalizeText(b) && normalizeText(a) !== ""
  }
}

/** Extract the answer and compare it with gold. */
export const judge = (problem: Problem.Problem, text: string): AnswerJudge.Judgement => {
  const extracted = extract(problem, text)
  return { extracted, correct: extracted !== undefined && equivalent(problem, extracted, problem.gold) }
}

/** The judge as a service value. */
export const make = (): AnswerJudge.AnswerJudge["Service"] => AnswerJudge.AnswerJudge.of({ extract, equivalent, judge })

/** `AnswerJudge` layer for every answer type. */
export const layer = Layer.succeed(AnswerJudge.AnswerJudge, make())
