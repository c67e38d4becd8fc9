/**
 * GRPO-family advantages: rewards of the G samples of one prompt are centred on their group mean and optionally
 * scaled by the group standard deviation (GRPO) or left unscaled (Dr. GRPO). Groups whose rewards are all equal
 * carry no learning signal and are reported as zero-variance.
 */

/** How to scale centred rewards. */
export type AdvantageScaling = "std" | "none"

/** Advantages of one step's rewards laid out as consecutive groups of `groupSize`. */
export interface GroupAdvantages {
  /** [groups * groupSize] advantages; zero for zero-variance groups. */
  readonly advantages: Float64Array
  /** Index of each group whose rewards were all equal (within 1e-12). */
  readonly zeroVarianceGroups: ReadonlyArray<number>
}

/** Compute group-normalised advantages. `epsilon` guards the division by a tiny std. */
export const groupAdvantages = (
  rewards: ArrayLike<number>,
  groupSize: number,
  scaling: AdvantageScaling,
  epsilon = 1e-6
): GroupAdvantages => {
  if (!Number.isInteger(groupSize) || groupSize < 1 || rewards.length % groupSize !== 0) {
    throw new RangeError(`groupAdvantages: ${rewards.length} rewards do not split into groups of ${groupSize}`)
  }
  const advantages = new Float64Array(rewards.length)
  const zeroVarianceGroups: Array<number> = []
  for (let g = 0; g * groupSize < rewards.length; g++) {
    const start = g * groupSize
    let mean = 0
    for (let i = 0; i < groupSize; i++) mean += rewards[start + i]!
    mean /= groupSize
    let variance = 0
    for (let i = 0; i < groupSize; i++) variance += (rewards[start + i]! - mean) ** 2
    // Unbiased std as in the GRPO reference implementations (G - 1 in the denominator).
    const std = groupSize > 1 ? Math.sqrt(variance / (groupSize - 1)) : 0
    if (std <= 1e-12) {
      zeroVarianceGroups.push(g)
      continue
    }
    const scale = scaling === "std" ? 1 / (std + epsilon) : 1
    for (let i = 0; i < groupSize; i++) advantages[start + i] = (rewards[start + i]! - mean) * scale
  }
  return { advantages, zeroVarianceGroups }
}

/** Summary statistics of a vector (mean, std, min, max) for logging. */
export const stats = (xs: ArrayLike<number>): { mean: number; std: number; min: number; max: number } => {
  if (xs.length === 0) return { mean: 0, std: 0, min: 0, max: 0 }
  let mean = 0
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!
    mean += x
    if (x < min) min = x
    if (x > max) max = x
  }
  mean /= xs.length
  let variance = 0
  for (let i = 0; i < xs.length; i++) variance += (xs[i]! - mean) ** 2
  return { mean, std: Math.sqrt(variance / xs.length), min, max }
}
