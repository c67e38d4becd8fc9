/**
 * Answer extraction, normalisation and comparison per answer type (the `AnswerJudge` contract). Built for the
 * messy text real models write: `#### 1,200`, `\boxed{3/4}`, `**Answer:** $12.50`, `the answer is (B)`,
 * Unicode minus signs, trailing units, number words. Pure, synchronous functions; the layer just wraps them.
 */
import { AnswerJudge } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Layer } from "effect"

/** A parsed number: its value and how many decimals it was written with (for rounding-tolerant comparison). */
export interface ParsedNumber {
  readonly value: number
  /** Decimal places as written (`12.50` → 2); 0 for integers and fractions. */
  readonly decimals: number
}

const WORDS: Readonly<Record<string, number>> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11,
  twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90, hundred: 100
}

/** Undo the formatting that hides numbers: LaTeX fractions and thousands groups, Unicode minus, markdown. */
const clean = (text: string): string =>
  text
    .replace(/\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)")
    .replace(/\{,\}/g, ",")
    .replace(/\\[$%]/g, (m) => m.slice(1))
    .replace(/\\(?:text|mathrm|mbox)\{([^{}]*)\}/g, " $1 ")
    .replace(/[\u2212\u2013\u2014](?=\s*\d)/g, "-")
    .replace(/[*_`]+/g, "")

// mixed number | fraction | grouped thousands | plain decimal; sign allowed before each.
const NUMBER = /(-?)\s*(?:(\d+)\s+(\d+)\s*\/\s*(\d+)|\(?(\d+(?:\.\d+)?)\)?\s*\/\s*\(?(\d+(?:\.\d+)?)\)?|(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+))/g

/** Every number in a text, in order of appearance. */
export const numbersIn = (text: string): Array<ParsedNumber> => {
  const out: Array<ParsedNumber> = []
  for (const m of clean(text).matchAll(NUMBER)) {
    const sign = m[1] === "-" ? -1 : 1
    if (m[2] !== undefined) {
      const den = Number(m[4])
      if (den !== 0) out.push({ value: sign * (Number(m[2]) + Number(m[3]) / den), decimals: 0 })
    } else if (m[5] !== undefined) {
      const den = Number(m[6])
      if (den !== 0) out.push({ value: (sign * Number(m[5])) / den, decimals: 0 })
    } else if (m[7] !== undefined) {
      const raw = m[7].replace(/,/g, "")
      const dot = raw.indexOf(".")
      out.push({ value: sign * Number(raw), decimals: dot < 0 ? 0 : raw.length - dot - 1 })
    }
  }
  return out
}

/** Parse the first number of a string (`"$1,200.50"`, `"3/4 cup"`, `"-7"`, `"twelve"`), else `undefined`. */
export const parseNumber = (text: string): ParsedNumber | undefined => {
  const found = numbersIn(text)[0]
  if (found !== undefined) return found
  const word = /\b([a-z]+)\b/i.exec(text.trim())
  const value = word === null ? undefined : WORDS[(word[1] as string).toLowerCase()]
  return value === undefined ? undefined : { value, decimals: 0 }
}

/** Canonical text of a number: integers without separators, other values with at most 6 decimals. */
export const formatNumber = (value: number): string => {
  if (Number.isInteger(value)) return String(value)
  return value.toFixed(6).replace(/0+$/, "").replace(/\.$/, "")
}

/**
 * Two numbers are equal within 1e-6 relative, or when `a` was written rounded to d >= 2 decimals and `b` is not
 * an integer and rounds to it (so `0.33` matches a gold `1/3`, but `12.5` does not match `12.54`).
 */
export const numbersEqual = (a: ParsedNumber, b: ParsedNumber): boolean => {
  const scale = Math.max(1, Math.abs(a.value), Math.abs(b.value))
  if (Math.abs(a.value - b.value) <= 1e-6 * scale) return true
  const rounded = (x: ParsedNumber, d: number) => Math.abs(x.value - Number(b.value.toFixed(d))) <= 1e-9 * scale
  return (a.decimals >= 2 && !Number.isInteger(b.value) && rounded(a, a.decimals)) ||
    (b.decimals >= 2 && !Number.isInteger(a.value) && Math.abs(b.value - Number(a.value.toFixed(b.decimals))) <= 1e-9 * scale)
}

/** The text after the final-answer marker, if any: `####`, `\boxed{}`, `Answer:`, `answer is`. */
export const answerSegment = (text: string): string | undefined => {
  const hash = text.lastIndexOf("####")
  if (hash >= 0) return firstLine(text.slice(hash + 4))
  const boxed = [...text.matchAll(/\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}/g)].at(-1)
  if (boxed !== undefined) return boxed[1] as string
  const marker = [...text.matchAll(/(?:final answer|answer)\s*(?:is|:|=)\s*(?:[:=]\s*)?/gi)].at(-1)
  if (marker !== undefined) return firstLine(text.slice((marker.index ?? 0) + marker[0].length))
  return undefined
}

const firstLine = (s: string): string => {
  const trimmed = s.replace(/^[\s*_:]+/, "")
  const nl = trimmed.indexOf("\n")
  return nl < 0 ? trimmed : trimmed.slice(0, nl)
}

/** The final number of a model text: after the answer marker when there is one, else the last number. */
export const extractNumber = (text: string): string | undefined => {
  const segment = answerSegment(text)
  // `Answer: 16 - 3 = 13`: the value after the last `=` is the answer.
  const tail = segment?.includes("=") === true ? segment.slice(segment.lastIndexOf("=") + 1) : segment
  const parsed = tail !== undefined ? parseNumber(tail) : numbersIn(text).at(-1)
  return parsed === undefined ? undefined : formatNumber(parsed.value)
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** The first label of `labels` in a segment; single-letter labels must stand alone (`B`, `(B)`, `B)`). */
const firstLabelIn = (segment: string, labels: ReadonlyArray<string>): string | undefined => {
  let best: { label: string; at: number } | undefined
  for (const label of labels) {
    const pattern = label.length === 1
      ? new RegExp(`(?<![A-Za-z])\\(?${escapeRegExp(label)}\\)?(?![A-Za-z])`, "g")
      : new RegExp(`\\b${escapeRegExp(label)}\\b`, "gi")
    const m = pattern.exec(segment)
    if (m !== null && (best === undefined || m.index < best.at)) best = { label, at: m.index }
  }
  return best?.label
}

/** The label a text chooses from a closed set, matched case-insensitively and returned as written in the set. */
export const extractLabel = (text: string, labels: ReadonlyArray<string>): string | undefined => {
  const segment = answerSegment(clean(text))
  if (segment !== undefined) {
    const found = firstLabelIn(segment, labels)
    if (found !== undefined) return found
    // A bare lower-case letter after the marker (`the answer is b.`) still names an option.
    const bare = /^\(?([a-z])\)?[.!]?$/.exec(segment.trim())
    const letter = bare === null ? undefined : labels.find((l) => l.toLowerCase() === bare[1])
    if (letter !== undefined) return letter
  }
  const letters = labels.every((l) => l.length === 1)
  if (letters) {
    // Without a marker only explicit option syntax counts: `(B)`, `option B`, `B)` at a line start.
    const option = [...text.matchAll(/(?:\(([A-Za-z])\)|option\s+([A-Za-z])\b|^\s*([A-Za-z])\))/gim)].at(-1)
    const letter = option === undefined ? undefined : (option[1] ?? option[2] ?? option[3])
    return letter === undefined ? undefined : labels.find((l) => l.toLowerCase() === letter.toLowerCase())
  }
  let last: { label: string; at: number } | undefined
  for (const label of labels) {
    for (const m of text.matchAll(new RegExp(`\\b${escapeRegExp(label)}\\b`, "gi"))) {
      if (last === undefined || (m.index ?? 0) >= last.at) last = { label, at: m.index ?? 0 }
    }
  }
  return last?.label
}

/** SQuAD-style text normalisation: lowercase, no punctuation or articles, single spaces. */
export const normalizeText = (text: string): string =>
  text.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, " ").replace(/\b(a|an|the)\b/g, " ").replace(/\s+/g, " ").trim()

/** Extract and normalise a problem's final answer from model text. */
export const extract = (problem: Problem.Problem, text: string): string | undefined => {
  switch (problem.answerType) {
    case "number":
      return extractNumber(text)
    case "label":
      return extractLabel(text, problem.labels ?? [])
    case "text": {
      const segment = answerSegment(text) ?? text.trim().split("\n").filter((l) => l.trim().length > 0).at(-1)
      const normalized = segment === undefined ? "" : normalizeText(segment)
      return normalized.length === 0 ? undefined : normalized
    }
  }
}

/** Whether two answers agree for the problem's answer type. */
export const equivalent = (problem: Problem.Problem, a: string, b: string): boolean => {
  switch (problem.answerType) {
    case "number": {
      const pa = parseNumber(a)
      const pb = parseNumber(b)
      return pa !== undefined && pb !== undefined ? numbersEqual(pa, pb) : normalizeText(a) === normalizeText(b) && normalizeText(a) !== ""
    }
    case "label":
      return a.trim().replace(/^\(|\)$/g, "").toLowerCase() === b.trim().replace(/^\(|\)$/g, "").toLowerCase() && a.trim() !== ""
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
