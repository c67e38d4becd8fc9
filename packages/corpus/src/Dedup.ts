/**
 * Removal of near-identical routes: two routes with the same answer whose steps, compared position by position
 * (character-trigram Jaccard of each normalised step, averaged over the longer route), are at least a threshold
 * similar count once; the first one written is kept. Position matters: the same steps in another order are a
 * different route.
 */

/** The parts of a route that dedup compares. */
export interface RouteText {
  readonly steps: ReadonlyArray<string>
  readonly answer: string
}

/** Lower-case step text without a `Step n:` prefix, punctuation runs or repeated spaces. */
export const normalizeStep = (step: string): string =>
  step
    .replace(/^\s*step\s*\d+\s*[:.)-]\s*/i, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}%+\-x/=]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim()

const trigrams = (text: string): Set<string> => {
  const out = new Set<string>()
  const padded = `  ${text}  `
  for (let i = 0; i + 3 <= padded.length; i++) out.add(padded.slice(i, i + 3))
  return out
}

/** Jaccard similarity of the character trigram sets of two texts, in [0, 1]. */
export const textSimilarity = (a: string, b: string): number => {
  if (a === b) return 1
  const ta = trigrams(a)
  const tb = trigrams(b)
  let shared = 0
  for (const t of ta) if (tb.has(t)) shared++
  return shared / (ta.size + tb.size - shared)
}

/** Position-by-position similarity of two routes' normalised steps, in [0, 1]. */
export const similarity = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  const n = Math.max(a.length, b.length)
  if (n === 0) return 1
  let total = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) total += textSimilarity(a[i]!, b[i]!)
  return total / n
}

/** Keep the first of each group of near-identical routes (same answer, similarity >= threshold). */
export const dedupe = <R extends RouteText>(
  routes: ReadonlyArray<R>,
  threshold: number
): { readonly kept: Array<R>; readonly dropped: number } => {
  const kept: Array<R> = []
  const keys: Array<{ readonly answer: string; readonly steps: Array<string> }> = []
  for (const route of routes) {
    const steps = route.steps.map(normalizeStep)
    const answer = route.answer.trim().toLowerCase()
    if (keys.some((k) => k.answer === answer && similarity(k.steps, steps) >= threshold)) continue
    kept.push(route)
    keys.push({ answer, steps })
  }
  return { kept, dropped: routes.length - kept.length }
}
