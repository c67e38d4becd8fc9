/**
 * Per-problem sampling metrics: majority vote (self-consistency), the unbiased pass@k estimator, and answer
 * consistency across samples. Pure functions over the answers extracted from k samples of one problem.
 */

/** Majority answer among samples (ignoring samples with no answer); ties go to the answer seen first. */
export const majorityVote = (answers: ReadonlyArray<string | undefined>): string | undefined => {
  const counts = new Map<string, number>() // insertion order = order of first appearance
  for (const answer of answers) {
    if (answer === undefined || answer === "") continue
    counts.set(answer, (counts.get(answer) ?? 0) + 1)
  }
  let best: string | undefined
  let bestCount = 0
  for (const [answer, c] of counts) {
    if (c > bestCount) {
      best = answer
      bestCount = c
    }
  }
  return best
}

/**
 * Unbiased pass@k from n samples of which c are correct (Chen et al. 2021): 1 - C(n-c, k) / C(n, k),
 * computed as a stable product. Requires 1 <= k <= n.
 */
export const passAtK = (n: number, c: number, k: number): number => {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || k < 1 || k > n || c < 0 || c > n) {
    throw new RangeError(`passAtK: need integers 0 <= c <= n and 1 <= k <= n, got n=${n} c=${c} k=${k}`)
  }
  if (n - c < k) return 1
  let fail = 1
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i
  return 1 - fail
}

/** Fraction of samples whose answer equals the majority answer (1 when all agree; 0 when none answered). */
export const consistency = (answers: ReadonlyArray<string | undefined>): number => {
  const majority = majorityVote(answers)
  if (majority === undefined || answers.length === 0) return 0
  return answers.filter((a) => a === majority).length / answers.length
}

/** Whether the majority answer is correct, given each sample's answer and correctness. */
export const selfConsistencyCorrect = (
  answers: ReadonlyArray<string | undefined>,
  correct: ReadonlyArray<boolean>
): boolean => {
  const majority = majorityVote(answers)
  if (majority === undefined) return false
  const index = answers.indexOf(majority)
  return correct[index] === true
}
