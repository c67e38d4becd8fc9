/**
 * Per-sequence decoding state and the token choice of one step: sample (or argmax) from one logits row, record
 * raw and sampling log-probs, and decide whether the sequence is finished (stop token, stop string, token or
 * context limit). Plain synchronous code over typed arrays.
 */
import type { Rng } from "@realm-lm/core"
import type { FinishReason, GenerateOptions } from "../Generator.ts"
import * as Sampling from "../Sampling.ts"

/** What a sequence starts from. */
export interface SequenceStart {
  readonly prompt: ReadonlyArray<number>
  readonly maxNew: number
  /** Uniform [0, 1) draws, one per sampled token. */
  readonly coin: () => number
  readonly sampling: Sampling.SamplingConfig
  readonly stopTokens: ReadonlySet<number>
  readonly stopStrings: ReadonlyArray<string>
  readonly onToken?: (tokens: ReadonlyArray<number>, finished: FinishReason | undefined) => void
  readonly signal?: AbortSignal
}

/** A sequence being generated. */
export interface SequenceState extends Omit<SequenceStart, "onToken" | "signal"> {
  /** Trailing tokens decoded to look for stop strings (each token is at least one byte of text). */
  readonly window: number
  /** Told about each chosen token (and the finish reason once done); dropped after it throws. */
  onToken: ((tokens: ReadonlyArray<number>, finished: FinishReason | undefined) => void) | undefined
  readonly signal: AbortSignal | undefined
  readonly tokens: Array<number>
  readonly logProbs: Array<number>
  readonly samplingLogProbs: Array<number>
  done: boolean
  finishReason: FinishReason
}

const utf8 = new TextEncoder()

/** The coin source of a core `Rng` stream. */
export const rngCoin =
  (rng: Rng.Rng): (() => number) =>
  () =>
    rng.float()

/** A fresh sequence. */
export const startSequence = (start: SequenceStart): SequenceState => ({
  ...start,
  onToken: start.onToken,
  signal: start.signal,
  window: Math.max(0, ...start.stopStrings.map((s) => utf8.encode(s).length)) + 1,
  tokens: [],
  logProbs: [],
  samplingLogProbs: [],
  done: false,
  finishReason: "length"
})

/**
 * Choose the next token of `s` from its logits row `[vocab]` and update its state. The coin walks the candidates
 * as `Sampling.sample` does; the recorded sampling log-prob is that candidate's renormalised probability.
 */
export const pick = (s: SequenceState, logits: Float32Array, options: GenerateOptions, maxContext: number): void => {
  choose(s, logits, options, maxContext)
  notify(s)
}

/** End a sequence whose request was aborted (before its next step). */
export const cancelIfAborted = (s: SequenceState): void => {
  if (!s.done && s.signal?.aborted === true) {
    finish(s, "length")
    notify(s)
  }
}

/** Call the sequence's listener; one that throws is dropped and its sequence ends, so the rest of the batch goes on. */
const notify = (s: SequenceState): void => {
  const listener = s.onToken
  if (listener === undefined) return
  try {
    listener(s.tokens, s.done ? s.finishReason : undefined)
  } catch {
    s.onToken = undefined
    if (!s.done) finish(s, "length")
  }
}

const choose = (s: SequenceState, logits: Float32Array, options: GenerateOptions, maxContext: number): void => {
  const sampling = s.sampling
  const { token, logProb, samplingLogProb } = Sampling.choose(
    logits,
    sampling,
    sampling.temperature === 0 ? 0 : s.coin()
  )
  s.tokens.push(token)
  s.logProbs.push(logProb)
  s.samplingLogProbs.push(samplingLogProb)
  if (s.stopTokens.has(token)) return finish(s, "eos")
  if (s.stopStrings.length > 0 && options.decode !== undefined) {
    const tail = options.decode(s.tokens.slice(-s.window))
    if (s.stopStrings.some((stop) => tail.includes(stop))) return finish(s, "stop")
  }
  // The last token must still fit at a position < maxContext to be fed back, as in ReferenceModel.generate.
  if (s.tokens.length >= s.maxNew || s.prompt.length + s.tokens.length > maxContext) finish(s, "length")
}

const finish = (s: SequenceState, reason: FinishReason): void => {
  s.done = true
  s.finishReason = reason
}
