/**
 * Data and math for off-policy safety. Every completion carries the exact prompt it was sampled from, guidance
 * included (`Completion.prompt`), and the trainer computes log-probs on that prompt, which keeps RL on-policy.
 * For an optional importance-weighted variant that also trains the autonomous prompt on guided samples, this
 * module gives the autonomous counterpart of a decision, the behaviour mixture over guidance modes, and
 * truncated per-token importance ratios.
 */
import type { Curriculum, Prompt } from "@realm-lm/core"
import type { GuidanceConfig } from "./EaaiConfig.ts"
import * as GuidancePolicy from "./GuidancePolicy.ts"

/** The same decision with all guidance removed: build it with the Verifier to get the bare prompt x_auto. */
export const autonomousCounterpart = (decision: Curriculum.GuidanceDecision): Curriculum.GuidanceDecision => ({
  ...decision,
  strength: 0,
  routeCount: 0,
  hintFraction: 0,
  rescue: false
})

/** Whether a prompt's guidance carries external signal (routes or a hint). */
export const isGuided = (guidance: Prompt.Guidance): boolean => guidance.mode !== "autonomous"

/** Probability of each guidance mode for a decision's strength (the behaviour mixture; rescues are forced, not drawn). */
export const behaviourMixture = (
  guidance: GuidanceConfig,
  decision: Curriculum.GuidanceDecision
): { readonly assisted: number; readonly hint: number; readonly autonomous: number } =>
  decision.rescue
    ? {
        assisted: decision.routeCount > 0 ? 1 : 0,
        hint: decision.routeCount === 0 && decision.hintFraction > 0 ? 1 : 0,
        autonomous: decision.routeCount === 0 && decision.hintFraction === 0 ? 1 : 0
      }
    : GuidancePolicy.modeProbabilities(guidance, decision.strength)

/**
 * Truncated per-token importance ratios min(cap, exp(target[i] - behaviour[i])), `[tokens]`, where `target`
 * holds log π_θ(y_i | x_auto, y_<i) (current policy, autonomous prompt) and `behaviour` the sampling log-probs
 * log μ(y_i | x_guided, y_<i) recorded in `Completion.logprobs`. Non-finite differences give 0.
 */
export const truncatedRatios = (target: ArrayLike<number>, behaviour: ArrayLike<number>, cap: number): Float64Array => {
  if (target.length !== behaviour.length) {
    throw new RangeError(
      `truncatedRatios: target has ${target.length} log-probs, behaviour ${behaviour.length}; both must cover the same completion tokens`
    )
  }
  const out = new Float64Array(target.length)
  for (let i = 0; i < out.length; i++) {
    const r = Math.exp(target[i]! - behaviour[i]!)
    out[i] = Number.isFinite(r) ? Math.min(cap, r) : Number.isNaN(r) ? 0 : cap
  }
  return out
}
