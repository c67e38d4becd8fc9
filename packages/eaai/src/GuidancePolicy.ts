/**
 * The signal policy: what a strength s means for one prompt (probability routes are shown, how many, hint
 * fraction otherwise) and the seeded, deterministic decision per (step, problem). Random draws come from core
 * `Rng` streams split by path, so a decision never depends on what else was decided.
 */
import { Rng } from "@realm-lm/core"
import type { Curriculum } from "@realm-lm/core"
import type { GuidanceConfig } from "./EaaiConfig.ts"

/** What a strength s maps to. */
export interface Levels {
  /** Probability that the prompt shows routes. */
  readonly routeProbability: number
  /** Routes shown when routes are shown, k(s). */
  readonly routeCount: number
  /** Probability that a route-less prompt gets a hint. */
  readonly hintProbability: number
  /** Hint prefix fraction when a hint is given. */
  readonly hintFraction: number
}

const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0)

/** The levels for strength `s` (clamped to [0, 1]); all zero at s = 0. */
export const levels = (guidance: GuidanceConfig, s: number): Levels => {
  const x = clamp01(s)
  if (x === 0) return { routeProbability: 0, routeCount: 0, hintProbability: 0, hintFraction: 0 }
  const hintFraction = Math.min(1, guidance.hintScale * x)
  return {
    routeProbability: guidance.routes ? Math.pow(x, guidance.routeExponent) : 0,
    routeCount: guidance.minRoutes + Math.round((guidance.maxRoutes - guidance.minRoutes) * x),
    hintProbability: hintFraction > 0 ? guidance.hintShare : 0,
    hintFraction
  }
}

/** Probability of each guidance mode at strength `s`: the behaviour mixture the sampler drew prompts from. */
export const modeProbabilities = (
  guidance: GuidanceConfig,
  s: number
): { readonly assisted: number; readonly hint: number; readonly autonomous: number } => {
  const lv = levels(guidance, s)
  const assisted = lv.routeProbability
  const hint = (1 - assisted) * lv.hintProbability
  return { assisted, hint, autonomous: 1 - assisted - hint }
}

/** The random stream for the decision on `problemId` at `step`. */
export const decisionRng = (seed: number, step: number, problemId: string): Rng.Rng =>
  Rng.Rng.make(seed, "eaai", "decide", step, problemId)

/**
 * The decision for one problem at one step with per-problem strength `s`. Deterministic in (seed, step,
 * problemId, s); s = 0 gives no routes and no hint. The decision's `seed` drives the prompt builder.
 */
export const decide = (
  guidance: GuidanceConfig,
  seed: number,
  step: number,
  problemId: string,
  s: number
): Curriculum.GuidanceDecision => {
  const rng = decisionRng(seed, step, problemId)
  const lv = levels(guidance, s)
  const routes = rng.float() < lv.routeProbability
  const hint = !routes && rng.float() < lv.hintProbability
  return {
    problemId,
    strength: clamp01(s),
    routeCount: routes ? lv.routeCount : 0,
    hintFraction: hint ? lv.hintFraction : 0,
    rescue: false,
    seed: rng.split("prompt").seed()
  }
}
