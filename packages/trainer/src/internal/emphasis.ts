/**
 * Loss weights of completion tokens from the character ranges a verifier marks (`Verifier.Example.emphasis`, the
 * trainer's `sft.warmStart.emphasis`): tokens of a marked range weigh `weight`, the others 1. Tokens are matched to
 * ranges by encoding the text piece by piece (each range widened to the whitespace before it, which tokenizers
 * attach to the next word) and checking that the pieces' tokens are exactly the whole text's: where they are not,
 * the text's tokens do not fall on the range's edges and nothing is weighted (the caller counts those).
 */
import type { Verifier } from "@realm-lm/core"

/** Ranges sorted, widened over the whitespace before each, clipped to the text and to the range before. */
const widened = (text: string, spans: ReadonlyArray<Verifier.TextSpan>): Array<Verifier.TextSpan> => {
  const out: Array<Verifier.TextSpan> = []
  for (const s of spans.toSorted((a, b) => a.start - b.start)) {
    const floor = out.at(-1)?.end ?? 0
    let start = Math.max(floor, Math.min(s.start, text.length))
    const end = Math.max(start, Math.min(s.end, text.length))
    while (start > floor && /\s/.test(text[start - 1]!)) start -= 1
    if (end > start) out.push({ start, end })
  }
  return out
}

/**
 * Per-token weights of `whole` = `encode(text)` (without EOS, as the caller already has it) with the tokens of
 * `spans` at `weight`, or `undefined` when the tokens cannot be matched to the ranges (see the module note).
 */
export const tokenWeights = (
  encode: (text: string) => ReadonlyArray<number>,
  text: string,
  whole: ReadonlyArray<number>,
  spans: ReadonlyArray<Verifier.TextSpan>,
  weight: number
): Array<number> | undefined => {
  const weights: Array<number> = []
  const tokens: Array<number> = []
  const piece = (start: number, end: number, w: number) => {
    if (end <= start) return
    const t = encode(text.slice(start, end))
    tokens.push(...t)
    for (let i = 0; i < t.length; i++) weights.push(w)
  }
  let at = 0
  for (const s of widened(text, spans)) {
    piece(at, s.start, 1)
    piece(s.start, s.end, weight)
    at = s.end
  }
  piece(at, text.length, 1)
  const same = tokens.length === whole.length && tokens.every((t, i) => t === whole[i])
  return same ? weights : undefined
}
