/**
 * Small text helpers shared by the prompt builder, parser and decisive-pattern extraction: route letters,
 * one-line clipping and a tokenizer that canonicalises numbers so `1,200` and `1200.0` compare equal.
 */

/** Route letter for a 0-based index: 0 → `A`. Indices are bounded by the config (at most 26 routes). */
export const routeLetter = (index: number): string => String.fromCharCode(65 + index)

/** 0-based index of a single route letter (`a`/`A` → 0), `undefined` for anything else. */
export const letterIndex = (letter: string): number | undefined => {
  if (letter.length !== 1) return undefined
  const code = letter.toUpperCase().charCodeAt(0)
  return code >= 65 && code <= 90 ? code - 65 : undefined
}

/** Collapse all whitespace (newlines included) to single spaces and clip to `max` characters. */
export const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 3)).trimEnd()}...`
}

/** A token of a reasoning step. */
export interface Token {
  readonly kind: "number" | "word" | "symbol"
  readonly text: string
}

const TOKEN = /(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)|(\p{L}+)|([+\-*/×÷=<>%$^])/gu

/** Canonical spelling of a number token: thousands separators dropped, `1200.0` → `1200`, `0.50` → `0.5`. */
export const canonicalNumber = (raw: string): string => {
  const value = Number(raw.replace(/,/g, ""))
  return Number.isFinite(value) ? String(value) : raw.replace(/,/g, "")
}

/** Tokens of a step: numbers (canonical), lower-cased words, and arithmetic/comparison symbols. */
export const tokenize = (text: string): Array<Token> => {
  const out: Array<Token> = []
  for (const m of text.toLowerCase().matchAll(TOKEN)) {
    if (m[1] !== undefined) out.push({ kind: "number", text: canonicalNumber(m[1]) })
    else if (m[2] !== undefined) out.push({ kind: "word", text: m[2] })
    else if (m[3] !== undefined) out.push({ kind: "symbol", text: m[3] })
  }
  return out
}

/** Whether two token sequences are identical. */
export const sameTokens = (a: ReadonlyArray<Token>, b: ReadonlyArray<Token>): boolean =>
  a.length === b.length && a.every((t, i) => t.kind === b[i]?.kind && t.text === b[i]?.text)

/** Elements of `a` not matched in `b`, as multisets, in `a`'s order. */
export const multisetMinus = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): Array<string> => {
  const counts = new Map<string, number>()
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) + 1)
  const out: Array<string> = []
  for (const x of a) {
    const c = counts.get(x) ?? 0
    if (c > 0) counts.set(x, c - 1)
    else out.push(x)
  }
  return out
}

/** Multiset Jaccard similarity of two token lists in [0, 1] (1 for two empty lists). */
export const similarity = (a: ReadonlyArray<Token>, b: ReadonlyArray<Token>): number => {
  if (a.length === 0 && b.length === 0) return 1
  const ka = a.map((t) => `${t.kind}:${t.text}`)
  const kb = b.map((t) => `${t.kind}:${t.text}`)
  const onlyA = multisetMinus(ka, kb).length
  const shared = ka.length - onlyA
  return shared / (ka.length + kb.length - shared)
}
