/**
 * The pure parts of an RL step: group-normalised advantages over sampled groups (zero-variance groups dropped and
 * counted), the rollouts the update trains on (truncated completions masked out when asked), and the step's
 * reward, truth, guidance and advantage statistics.
 */
import type { Rollout } from "./steps.ts"
import type { Group } from "./rollout.ts"
import * as RouteTraces from "./routeTraces.ts"
import type { Traced } from "./routeTraces.ts"
import { groupAdvantages, stats } from "../Advantages.ts"

/** Groups turned into training rollouts. */
export interface Prepared {
  readonly rollouts: Array<Rollout>
  /** Advantage of each trained rollout (for statistics). */
  readonly advantages: Array<number>
  readonly zeroVarianceGroups: number
  /** Completions excluded from the loss because they hit `maxNewTokens`. */
  readonly truncatedMasked: number
  /** Indices into `rollouts` of the route traces (`Sample.offPolicy`), whose old log-probs are still to be scored. */
  readonly offPolicy: Array<number>
}

/**
 * Advantages per group (`scaling` as in `Advantages.groupAdvantages`); zero-variance groups contribute nothing.
 * Each rollout's sequence is exactly the group's prompt ids followed by the sampled tokens.
 */
export const prepare = (groups: ReadonlyArray<Group>, scaling: "std" | "none", maskTruncated: boolean): Prepared => {
  const rollouts: Array<Rollout> = []
  const advantages: Array<number> = []
  const offPolicy: Array<number> = []
  let zeroVarianceGroups = 0
  let truncatedMasked = 0
  for (const g of groups) {
    const a = groupAdvantages(
      g.samples.map((s) => s.reward.total),
      g.samples.length,
      scaling
    )
    if (a.zeroVarianceGroups.length > 0) {
      zeroVarianceGroups += 1
      continue
    }
    g.samples.forEach((s, i) => {
      if (s.tokens.length === 0) return
      if (maskTruncated && s.finishReason === "length") {
        truncatedMasked += 1
        return
      }
      if (s.offPolicy === true) offPolicy.push(rollouts.length)
      rollouts.push({
        prompt: g.promptIds,
        completion: s.tokens,
        advantage: a.advantages[i]!,
        oldLogProbs: s.logProbs
      })
      advantages.push(a.advantages[i]!)
    })
  }
  return { rollouts, advantages, zeroVarianceGroups, truncatedMasked, offPolicy }
}

const mean = (xs: ReadonlyArray<number>): number =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length

/** Reward, truth, guidance and sampling statistics of a step's groups (`round 0` = the decided groups). */
export const rolloutMetrics = (groups: ReadonlyArray<Group>): Record<string, number> => {
  const all = groups.flatMap((g) => g.samples)
  const decided = groups.filter((g) => g.round === 0)
  const decidedSamples = decided.flatMap((g) => g.samples)
  const autonomous = decided.filter((g) => g.prompt.guidance.mode === "autonomous").flatMap((g) => g.samples)
  const rescue = groups.filter((g) => g.round > 0)
  const rewards = stats(all.map((s) => s.reward.total))
  const out: Record<string, number> = {
    reward_mean: rewards.mean,
    reward_std: rewards.std,
    truth_accuracy: mean(decidedSamples.map((s) => (s.reward.correct ? 1 : 0))),
    truth_accuracy_autonomous: mean(autonomous.map((s) => (s.reward.correct ? 1 : 0))),
    guided_fraction: mean(decided.map((g) => (g.prompt.guidance.mode === "autonomous" ? 0 : 1))),
    routes_shown: mean(decided.map((g) => g.prompt.guidance.routeIds.length)),
    rescue_groups: rescue.length,
    rescue_accuracy: mean(rescue.flatMap((g) => g.samples).map((s) => (s.reward.correct ? 1 : 0))),
    completion_tokens: mean(all.map((s) => s.tokens.length)),
    truncated_fraction: mean(all.map((s) => (s.finishReason === "length" ? 1 : 0))),
    // Monte-Carlo entropy estimate: mean −log π of the sampled tokens.
    entropy: mean(all.flatMap((s) => s.logProbs.map((l) => -l)))
  }
  const components = new Set(all.flatMap((s) => Object.keys(s.reward.components)))
  for (const c of components) out[`reward/${c}`] = mean(all.map((s) => s.reward.components[c] ?? 0))
  // Unweighted verifier diagnostics (e.g. verdict accuracy), averaged over the completions that report them.
  const diagnostics = new Set(all.flatMap((s) => Object.keys(s.reward.metrics ?? {})))
  for (const d of diagnostics)
    out[`verifier/${d}`] = mean(all.flatMap((s) => (s.reward.metrics?.[d] === undefined ? [] : [s.reward.metrics[d]])))
  return out
}

/** Advantage statistics of the trained rollouts. */
export const advantageMetrics = (advantages: ReadonlyArray<number>): Record<string, number> => {
  const s = stats(advantages)
  return { advantage_mean: s.mean, advantage_std: s.std, advantage_min: s.min, advantage_max: s.max }
}

/**
 * Route-trace statistics of a step (`rl.routeTraces`): traces added, failed groups that got none (by reason), and the
 * traces' mean reward; zero traces on steps where the curriculum no longer guides (`traced` undefined).
 */
export const traceMetrics = (traced: Traced | undefined): Record<string, number> => {
  const traces = (traced?.groups ?? []).flatMap((g) => g.samples.filter((s) => s.offPolicy === true))
  const skipped = traced?.skipped ?? RouteTraces.noneSkipped()
  return {
    route_traces: traced?.added ?? 0,
    route_traces_skipped: Object.values(skipped).reduce((a, b) => a + b, 0),
    ...Object.fromEntries(Object.entries(skipped).map(([reason, n]) => [`route_traces_skipped/${reason}`, n])),
    route_trace_reward: mean(traces.map((s) => s.reward.total))
  }
}
