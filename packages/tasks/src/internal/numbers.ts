/**
 * Numbers in model text: digits (grouped, decimal, fractions, mixed numbers, LaTeX), number words (hyphenated
 * `twenty-two`, `one hundred and five`, `three thousand`), and which number of a sentence is its conclusion
 * (`After 3 days he has 51 left.` → 51). Pure functions used by `Answer`.
 */

/** A number found in a text: its value, decimals as written, and where it stands. */
export interface NumberToken {
  readonly value: number
  /** Decimal places as written (`12.50` → 2); 0 for integers, fractions and words. */
  readonly decimals: number
  /** Start and end offsets in the text the token was found in. */
  readonly index: number
  readonly end: number
}

const SMALL: Readonly<Record<string, number>> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90
}
const SCALES: Readonly<Record<string, number>> = { thousand: 1e3, million: 1e6, billion: 1e9 }

/** Undo the formatting that hides numbers: LaTeX fractions, spacing and thousands groups, Unicode minus, markdown. */
export const clean = (text: string): string =>
  text
    .replace(/\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)")
    .replace(/\{,\}/g, ",")
    .replace(/\\[,;!: ]/g, "")
    .replace(/\\[$%]/g, (m) => m.slice(1))
    .replace(/\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}/g, " $1 ")
    .replace(/[\u2212\u2013\u2014](?=\s*\d)/g, "-")
    .replace(/[*_`]+/g, "")

// mixed number | fraction | grouped thousands | plain decimal. A minus sign counts only when it touches the digits
// and does not follow a word or digit (`16-3` is a subtraction, `-7` a negative number).
const DIGITS =
  /(?<![\w.)])(-?)(?:(\d+)\s+(\d+)\s*\/\s*(\d+)(?![\d.])|\(?(\d+(?:\.\d+)?)\)?\s*\/\s*\(?(\d+(?:\.\d+)?)\)?|(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+))/g

const WORD = `(?:${[...Object.keys(SMALL), "hundred", ...Object.keys(SCALES)].join("|")})`
const WORDS = new RegExp(`\\b(?:(?:minus|negative)\\s+)?${WORD}(?:(?:\\s+|-)(?:and\\s+)?${WORD})*\\b`, "gi")

/** Numbers written with digits, in order. `text` must already be `clean`ed for offsets to be meaningful. */
export const digitTokens = (text: string): Array<NumberToken> => {
  const out: Array<NumberToken> = []
  for (const m of text.matchAll(DIGITS)) {
    const sign = m[1] === "-" ? -1 : 1
    const at = { index: m.index ?? 0, end: (m.index ?? 0) + m[0].length }
    if (m[2] !== undefined) {
      const den = Number(m[4])
      if (den !== 0) out.push({ value: sign * (Number(m[2]) + Number(m[3]) / den), decimals: 0, ...at })
    } else if (m[5] !== undefined) {
      const den = Number(m[6])
      if (den !== 0) out.push({ value: (sign * Number(m[5])) / den, decimals: 0, ...at })
    } else if (m[7] !== undefined) {
      const raw = m[7].replace(/,/g, "")
      const dot = raw.indexOf(".")
      out.push({ value: sign * Number(raw), decimals: dot < 0 ? 0 : raw.length - dot - 1, ...at })
    }
  }
  return out
}

/** The value of a run of number words (`twenty-two`, `one hundred and five`, `three thousand four hundred`). */
const wordValue = (run: string): number => {
  const parts = run
    .toLowerCase()
    .split(/[\s-]+/)
    .filter((w) => w !== "and")
  const sign = parts[0] === "minus" || parts[0] === "negative" ? -1 : 1
  let total = 0
  let current = 0
  for (const w of sign < 0 ? parts.slice(1) : parts) {
    if (w === "hundred") current = (current === 0 ? 1 : current) * 100
    else if (SCALES[w] !== undefined) {
      total += (current === 0 ? 1 : current) * SCALES[w]
      current = 0
    } else current += SMALL[w] ?? 0
  }
  return sign * (total + current)
}

/** Numbers written as words, in order. A lone `one` is skipped unless `loneOne` (it is usually a pronoun). */
export const wordTokens = (text: string, loneOne = true): Array<NumberToken> => {
  const out: Array<NumberToken> = []
  for (const m of text.matchAll(WORDS)) {
    if (!loneOne && m[0].toLowerCase() === "one") continue
    out.push({ value: wordValue(m[0]), decimals: 0, index: m.index ?? 0, end: (m.index ?? 0) + m[0].length })
  }
  return out
}

/** Digits and number words of a (cleaned) text, in order of appearance. */
export const tokens = (text: string, loneOne = true): Array<NumberToken> =>
  [...digitTokens(text), ...wordTokens(text, loneOne)].toSorted((a, b) => a.index - b.index)

// A number after one of these words sets the scene (`after 3 days`, `per 2 hours`) rather than answering.
const CONTEXT_BEFORE =
  /\b(?:after|in|for|within|per|every|each|over|from|by|on|at|than|until|before|during|since|day|days|week|hour|step|year)\s+(?:the\s+|about\s+|only\s+|just\s+|another\s+)?[$€£]?$/i
// A sentence starting with a number (after currency, approximation or a parenthesis) states the answer first.
const LEADING = /^\s*(?:[(["'$€£~≈]|about\s+|approximately\s+|roughly\s+|around\s+|exactly\s+|only\s+)*$/i
const ABBREVIATION = /\b(?:Mr|Mrs|Ms|Dr|St|vs|etc|e\.g|i\.e|approx|No)\.$/

/** The first sentence of a text: up to `. X`, `; `, or an explanatory `, since`/`, because`/`, which`. */
export const firstSentence = (text: string): string => {
  let from = 0
  for (;;) {
    const rest = text.slice(from)
    const m = /[.!?](?=\s+["'(]?[A-Z])|;\s|,?\s+(?:since|because|as|which|so that)\s/.exec(rest)
    if (m === null) return text
    const end = from + m.index
    if (m[0].startsWith(".") && ABBREVIATION.test(text.slice(0, end + 1))) {
      from = end + 1
      continue
    }
    return text.slice(0, end)
  }
}

/** The last sentence of a text that contains a digit. */
export const lastSentenceWithNumber = (text: string): string | undefined => {
  const sentences = text.split(/(?<=[.!?])\s+(?=["'(]?[A-Z])/)
  return sentences.findLast((s) => /\d/.test(s))
}

const isContext = (text: string, token: NumberToken): boolean => CONTEXT_BEFORE.test(text.slice(0, token.index))

/**
 * The number a sentence concludes with: after its last `=`; the first number when the sentence opens with it
 * (`51 apples after 3 days`); else the last number that is not scene-setting (`After 3 days he has 51 left`).
 */
export const conclusion = (sentence: string, found: (text: string) => Array<NumberToken>): NumberToken | undefined => {
  const eq = sentence.lastIndexOf("=")
  if (eq >= 0) {
    const after = found(sentence.slice(eq + 1))
    if (after.length > 0) return conclusion(sentence.slice(eq + 1), found)
  }
  const all = found(sentence)
  const first = all[0]
  if (first === undefined) return undefined
  if (LEADING.test(sentence.slice(0, first.index))) return first
  return all.filter((t) => !isContext(sentence, t)).at(-1) ?? all.at(-1)
}
