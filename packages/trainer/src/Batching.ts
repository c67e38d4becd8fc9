/**
 * Turning tokenized (prompt, completion) pairs into fixed-shape training batches: length bucketing (so each
 * batch is padded only to its bucket's length, one ORT session per bucket) and next-token targets with a loss
 * mask that covers completion tokens only.
 */
import type { Policy } from "@realm-lm/lm"

/** A tokenized example: prompt ids then completion ids. */
export interface TokenizedExample {
  readonly prompt: ReadonlyArray<number>
  readonly completion: ReadonlyArray<number>
}

/** One fixed-shape batch as `@realm-lm/lm` trains on it ([batch, length] ids, targets, completion-only mask). */
export interface TokenBatch extends Policy.TokenBatch {
  /** Number of completion tokens the loss is taken over. */
  readonly lossTokens: number
}

/** The smallest bucket length that holds `n` tokens, or `undefined` when none does. */
export const bucketFor = (n: number, buckets: ReadonlyArray<number>): number | undefined =>
  buckets.toSorted((a, b) => a - b).find((b) => b >= n)

/**
 * Build one batch of `examples.length` rows padded to `length`. Sequence = prompt ++ completion, truncated on
 * the left of the prompt if too long (the completion is kept whole when it fits).
 */
export const makeBatch = (examples: ReadonlyArray<TokenizedExample>, length: number, pad: number): TokenBatch => {
  const batch = examples.length
  const inputs = new Int32Array(batch * length).fill(pad)
  const targets = new Int32Array(batch * length).fill(pad)
  const lossMask = new Float32Array(batch * length)
  let lossTokens = 0
  examples.forEach((ex, row) => {
    // A row of `length` inputs predicts `length` targets, so it spans length + 1 tokens.
    const full = [...ex.prompt, ...ex.completion]
    const start = Math.max(0, full.length - (length + 1))
    const seq = full.slice(start)
    const completionStart = Math.max(0, ex.prompt.length - start)
    for (let t = 0; t < seq.length - 1; t++) {
      inputs[row * length + t] = seq[t]!
      targets[row * length + t] = seq[t + 1]!
      if (t + 1 >= completionStart) {
        lossMask[row * length + t] = 1
        lossTokens++
      }
    }
  })
  return { batch, length, inputs, targets, lossMask, lossTokens }
}

/** Group example indices by bucket length, in order; examples longer than every bucket are reported. */
export const bucketize = (
  examples: ReadonlyArray<TokenizedExample>,
  buckets: ReadonlyArray<number>
): { readonly byBucket: Map<number, Array<number>>; readonly tooLong: Array<number> } => {
  const byBucket = new Map<number, Array<number>>()
  const tooLong: Array<number> = []
  examples.forEach((ex, i) => {
    const b = bucketFor(ex.prompt.length + ex.completion.length - 1, buckets)
    if (b === undefined) tooLong.push(i)
    else {
      const list = byBucket.get(b)
      if (list === undefined) byBucket.set(b, [i])
      else list.push(i)
    }
  })
  return { byBucket, tooLong }
}
