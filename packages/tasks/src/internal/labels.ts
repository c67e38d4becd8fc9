/**
 * Labels from a closed set in model text, with the options of a multiple-choice question: letters (`B`, `(B)`,
 * `B)`, `option B`) and option texts (`False`, `bank`) name the same answer, and the article `A` (`A wumpus is …`)
 * is not the letter A. Pure functions used by `Answer`.
 */

/** An option of a multiple-choice question, as shown in its text: `(B) library`. */
export interface Option {
  readonly label: string
  readonly text: string
}

/** A label named in a text: which, where, and how many characters name it. */
export interface Mention {
  readonly label: string
  readonly index: number
  readonly length: number
  /** Written in brackets, `(B)` or `[B]`: the clearest way to name a letter. */
  readonly bracketed?: boolean
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

// Judging runs once per sampled completion, so each label's pattern is compiled once.
const patterns = new Map<string, RegExp>()
const compiled = (source: string, flags: string): RegExp => {
  const key = `${flags}/${source}`
  let pattern = patterns.get(key)
  if (pattern === undefined) {
    if (patterns.size > 20_000) patterns.clear()
    pattern = new RegExp(source, flags)
    patterns.set(key, pattern)
  }
  return pattern
}

/** Text compared loosely: lowercase, single spaces, no surrounding quotes or closing punctuation. */
const loose = (text: string): string =>
  text
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/^[\s"'“”‘’]+|[\s"'“”‘’.,;:!]+$/g, "")

/** SQuAD-style text normalisation: lowercase, no punctuation or articles, single spaces. */
export const normalizeText = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, " ")
    .replace(/\b(a|an|the)\b/g, " ")
    .replace(/\s+/g, " ")
    .trim()

/**
 * The options written in a question: one per line (`(A) text`, `A) text`, `A)text`, `A. text`), else inline
 * (`(A) True (B) False`). Fewer than two found means the question has no options.
 */
export const optionsOf = (question: string): Array<Option> => {
  const lines = [...question.matchAll(/^\s*\(?([A-Z])(?:\)|\.\s)\s*(.+?)\s*$/gm)].map((m) => ({
    label: m[1]!,
    text: m[2]!
  }))
  if (lines.length >= 2) return lines
  const inline = [...question.matchAll(/\(([A-Z])\)\s*([^()\n]+?)(?=\s*\([A-Z]\)|\s*$)/gm)].map((m) => ({
    label: m[1]!,
    text: m[2]!
  }))
  return inline.length >= 2 ? inline : []
}

/** Words after a capital `A`/`I` that make it a letter (`A is correct`, `A because …`), not an article or pronoun. */
const LETTER_FOLLOWERS =
  /^\s+(?:is|was|would|should|must|seems|fits|looks|appears|matches|best|because|since|as|and|or|but|which|it|-|–)\b/

/** Where single-letter labels stand alone in a text: `B`, `(B)`, `[B]`, `B)`, `B.`; the article `A` is skipped. */
const letterMentions = (
  text: string,
  labels: ReadonlyArray<string>,
  options: ReadonlyArray<Option>,
  lowercase: boolean
): Array<Mention> => {
  const out: Array<Mention> = []
  for (const label of labels.filter((l) => l.length === 1)) {
    const pattern = compiled(
      `(?<![\\p{L}\\p{N}'’°-])[(\\[]?${escapeRegExp(label)}(?![\\p{L}\\p{N}'’])`,
      lowercase ? "giu" : "gu"
    )
    for (const m of text.matchAll(pattern)) {
      const index = m.index ?? 0
      const after = text.slice(index + m[0].length)
      const bracketed = m[0].length > 1
      const upper = m[0].endsWith(label)
      // A lower-case letter counts only where it stands as a choice: `(b)`, or `b` before `)`, `.`, `:` or the end.
      if (!upper && !bracketed && !/^(?:[)\].:,!]|\s*$)/.test(after)) continue
      // `A wumpus`, `I think`: an article or pronoun, unless its own option text or a verb of choosing follows.
      if (!bracketed && /^[AI]$/i.test(label) && /^\s+\p{L}/u.test(after)) {
        const option = options.find((o) => o.label === label)
        const ownText = option !== undefined && `${normalizeText(after)} `.startsWith(`${normalizeText(option.text)} `)
        if (!ownText && !LETTER_FOLLOWERS.test(after)) continue
      }
      out.push({ label, index, length: m[0].length, bracketed: bracketed && /^[)\]]/.test(after) })
    }
  }
  return out
}

/** The words of a text (letter and digit runs, lower-cased) with their offsets, articles left out as `normalizeText` does. */
const wordsOf = (text: string): Array<{ readonly word: string; readonly index: number }> =>
  [...text.matchAll(/[\p{L}\p{N}]+/gu)]
    .map((m) => ({ word: m[0].toLowerCase(), index: m.index ?? 0 }))
    .filter((w) => w.word !== "a" && w.word !== "an" && w.word !== "the")

/** Where word labels (`Yes`, `Uncertain`) and option texts (`library`, `False`) stand in a text, as labels. */
const wordMentions = (text: string, labels: ReadonlyArray<string>, options: ReadonlyArray<Option>): Array<Mention> => {
  const out: Array<Mention> = []
  const words = wordsOf(text)
  const add = (phrase: string, label: string) => {
    const target = normalizeText(phrase)
      .split(" ")
      .filter((w) => w !== "")
    if (target.length === 0) return
    for (let i = 0; i + target.length <= words.length; i++) {
      if (!target.every((w, k) => words[i + k]?.word === w)) continue
      const last = words[i + target.length - 1] as { word: string; index: number }
      const index = (words[i] as { index: number }).index
      out.push({ label, index, length: last.index + last.word.length - index })
    }
  }
  for (const label of labels.filter((l) => l.length > 1)) add(label, label)
  for (const option of options) {
    const label = labelOfOption(option, labels)
    // Two options with the same text (a dataset's duplicate) name neither.
    const shared = options.some((o) => o.label !== option.label && normalizeText(o.text) === normalizeText(option.text))
    if (label !== undefined && !shared) add(option.text, label)
  }
  return out
}

/** The label an option stands for: its letter when letters are the labels, else its text when that is a label. */
const labelOfOption = (option: Option, labels: ReadonlyArray<string>): string | undefined =>
  labels.find((l) => l === option.label) ?? labels.find((l) => l.toLowerCase() === option.text.trim().toLowerCase())

const inOrder = (xs: Array<Mention>): Array<Mention> => xs.toSorted((a, b) => a.index - b.index || b.length - a.length)

/**
 * Letters standing alone, in order, bracketed ones (`(B)`) before bare ones (`B`, `B)`): in `21°C (B)` or
 * `Type B … (D)` the bracket names the choice. The article `A` and pronoun `I` are skipped.
 */
export const letters = (
  text: string,
  labels: ReadonlyArray<string>,
  options: ReadonlyArray<Option>,
  lowercase: boolean
): Array<Mention> => {
  const found = inOrder(letterMentions(text, labels, options, lowercase))
  return [...found.filter((m) => m.bracketed === true), ...found.filter((m) => m.bracketed !== true)]
}

/** Word labels and option texts, in order; at one position the longest wins (`8.75` over `8`). */
export const words = (text: string, labels: ReadonlyArray<string>, options: ReadonlyArray<Option>): Array<Mention> =>
  inOrder(wordMentions(text, labels, options))

/** A short answer as a label: the label itself, its letter in parentheses, or an option's text; else `undefined`. */
export const asLabel = (
  answer: string,
  labels: ReadonlyArray<string>,
  options: ReadonlyArray<Option>
): string | undefined => {
  const found = labelsOf(answer, labels, options)
  return found.length === 1 ? found[0] : undefined
}

/** The labels a short answer can stand for: none, one, or several when options share its text (a dataset's duplicates). */
export const labelsOf = (
  answer: string,
  labels: ReadonlyArray<string>,
  options: ReadonlyArray<Option>
): Array<string> => {
  const bare = answer.trim().replace(/^[\s*_`"'([]+|[\s*_`"'.)\]:!]+$/g, "")
  const direct = labels.find((l) => l.toLowerCase() === bare.toLowerCase())
  if (direct !== undefined) return [direct]
  if (normalizeText(bare) === "") return []
  // The option whose text this is: compared loosely first (`charge of -3` is not `charge of +3`), then normalised.
  for (const same of [
    (o: Option) => loose(o.text) === loose(bare),
    (o: Option) => normalizeText(o.text) === normalizeText(bare)
  ]) {
    const found = [...new Set(options.filter(same).map((o) => labelOfOption(o, labels)))].filter((l) => l !== undefined)
    if (found.length > 0) return found
  }
  return []
}

// Phrases that introduce a choice: `The correct option is B`, `I choose C`, `I'd go with (A)`.
const CHOICE_CUE =
  /\b(?:(?:correct|right|best|final)\s+(?:option|choice|letter)(?:\s+is|\s*:)|(?:option|choice)\s+is|I\s+(?:choose|pick|select)|I(?:'d| would| will)\s+(?:choose|pick|go with|select|say)|(?:go|going)\s+with)\s*/gi
// A closing conclusion on the last line: `…, so B.`, `Therefore (C)`, `thus: A`.
const CLOSING =
  /(?:^|[\s,;:])(?:so|thus|therefore|hence)[\s,:]+(?:it(?:'s| is)\s+)?(?:option\s+)?(\(?[A-Za-z]\)?)[.!]?\s*$/i

/** Where the last label-specific choice cue stands and the text after it, up to the end of its line. */
export const choiceSegment = (text: string): { readonly at: number; readonly segment: string } | undefined => {
  const cue = [...text.matchAll(CHOICE_CUE)].at(-1)
  if (cue === undefined) return undefined
  const rest = text.slice((cue.index ?? 0) + cue[0].length)
  const nl = rest.indexOf("\n")
  return { at: cue.index ?? 0, segment: nl < 0 ? rest : rest.slice(0, nl) }
}

/** A label from the last line alone: the line is a label or an option (`**B**`, `C. bank`, `False`), or ends `so B`. */
export const closingLabel = (
  text: string,
  labels: ReadonlyArray<string>,
  options: ReadonlyArray<Option>
): string | undefined => {
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .findLast((l) => l.length > 0)
  if (line === undefined) return undefined
  const whole = asLabel(line, labels, options)
  if (whole !== undefined) return whole
  // `C. bank`, `(C) bank`, `C) bank`, `C: bank`: a letter opening the line with its option after it.
  const lead = /^[\s*_`]*\(?([A-Za-z])(?:\)|\.(?=\s)|:)\s*(.*)$/.exec(line)
  if (lead !== null) {
    const label = asLabel(lead[1]!, labels, options)
    if (label !== undefined) return label
  }
  // `C is the correct answer.`, `(B) is right`.
  const named = /^[\s*_`]*\(?([A-Z])\)?\s+is\s+(?:the\s+)?(?:correct|right|best)\b/.exec(line)
  if (named !== null) {
    const label = asLabel(named[1]!, labels, options)
    if (label !== undefined) return label
  }
  const closing = CLOSING.exec(line)
  return closing === null ? undefined : asLabel(closing[1]!, labels, options)
}
