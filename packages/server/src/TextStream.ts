/**
 * A completion's text as its tokens arrive: the part that is safe to send now and the final text, with OpenAI's
 * stop-sequence semantics (the text ends before the first stop sequence, which is never sent). Text that may be
 * the start of a stop sequence, or an incomplete UTF-8 character (decoded as U+FFFD), is held back until the
 * next token settles it.
 */

/** Incremental detokenisation of one completion. */
export interface TextStream {
  /** Feed the completion's tokens so far; returns the text newly safe to send (maybe ""). */
  readonly update: (tokens: ReadonlyArray<number>, finished: boolean) => string
  /** The text so far, cut before a stop sequence. */
  readonly text: () => string
  /** Whether a stop sequence was found (the text ends before it). */
  readonly stopped: () => boolean
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop sequence. */
export const heldForStops = (text: string, stops: ReadonlyArray<string>): number => {
  let held = 0
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > held; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        held = k
        break
      }
    }
  }
  return held
}

/** Where the first stop sequence starts in `text`, or -1. */
export const stopIndex = (text: string, stops: ReadonlyArray<string>): number => {
  let first = -1
  for (const stop of stops) {
    const at = text.indexOf(stop)
    if (at >= 0 && (first < 0 || at < first)) first = at
  }
  return first
}

/** A stream over `decode` (token ids → text) for the given stop sequences. */
export const make = (decode: (tokens: ReadonlyArray<number>) => string, stops: ReadonlyArray<string>): TextStream => {
  let sent = 0
  let current = ""
  let stopped = false
  return {
    update: (tokens, finished) => {
      const full = decode(tokens)
      const cut = stopIndex(full, stops)
      current = cut >= 0 ? full.slice(0, cut) : full
      stopped = cut >= 0
      let safe = current.length
      if (cut < 0 && !finished) {
        let replacement = 0
        while (replacement < current.length && current[current.length - 1 - replacement] === "\uFFFD") replacement++
        safe = Math.max(0, current.length - Math.max(replacement, heldForStops(current, stops)))
      }
      if (safe <= sent) return ""
      const delta = current.slice(sent, safe)
      sent = safe
      return delta
    },
    text: () => current,
    stopped: () => stopped
  }
}
