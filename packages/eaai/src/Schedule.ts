/**
 * Schedules of external-signal strength s(t) ∈ [0, 1] over training steps, as pure functions. Each is
 * `initial` through warm-up, decays asymptotically (exponential, inverse-time), to zero (cosine) or in
 * stages (stepwise) over the decay span, and is exactly 0 in the final autonomous phase.
 */
import type { TimedSchedule } from "./EaaiConfig.ts"

/** First step of the autonomous phase (s = 0 from here on); `Infinity` when the config allows no such phase. */
export const zeroFrom = (schedule: TimedSchedule): number =>
  schedule.kind === "none"
    ? 0
    : schedule.autonomousFraction === 0
      ? Number.POSITIVE_INFINITY
      : schedule.totalSteps - Math.ceil(schedule.autonomousFraction * schedule.totalSteps)

/** Length in steps of the decay span between warm-up and the autonomous phase (or the end of training). */
export const decaySpan = (schedule: TimedSchedule): number =>
  Math.max(0, Math.min(zeroFrom(schedule), schedule.totalSteps) - schedule.warmupSteps)

/** Half-life used by the exponential schedule, in steps. */
export const halfLife = (schedule: TimedSchedule): number =>
  schedule.halfLife ?? Math.max(decaySpan(schedule) / 6, 1e-9)

/** Time scale used by the inverse-time schedule, in steps. */
export const timeScale = (schedule: TimedSchedule): number =>
  schedule.timeScale ?? Math.max(decaySpan(schedule) / 10, 1e-9)

/** Stage count used by the stepwise schedule. */
export const stages = (schedule: TimedSchedule): number => schedule.stages ?? 4

/**
 * Signal strength at training step `step` (0-based; negative or NaN steps count as 0). Non-increasing in
 * `step`, in [0, initial], and exactly 0 for every step ≥ {@link zeroFrom}.
 */
export const strength = (schedule: TimedSchedule, step: number): number => {
  const t = Number.isNaN(step) ? 0 : Math.max(0, step)
  if (t >= zeroFrom(schedule)) return 0
  const s0 = schedule.initial
  if (t < schedule.warmupSteps) return s0
  const u = t - schedule.warmupSteps
  const span = decaySpan(schedule)
  switch (schedule.kind) {
    case "none":
      return 0
    case "constant":
      return s0
    case "exponential":
      return s0 * Math.pow(2, -u / halfLife(schedule))
    case "inverse-time":
      return s0 / (1 + u / timeScale(schedule))
    case "cosine":
      return span === 0 || u >= span ? 0 : s0 * 0.5 * (1 + Math.cos((Math.PI * u) / span))
    case "stepwise": {
      const n = stages(schedule)
      if (span === 0) return s0 / n
      const stage = Math.min(n - 1, Math.floor((Math.min(u, span) * n) / span))
      return (s0 * (n - stage)) / n
    }
  }
}

/** s(t) for steps 0..count-1 as a typed array, `[count]`; handy for plots and reports. */
export const curve = (schedule: TimedSchedule, count: number = schedule.totalSteps): Float64Array => {
  const out = new Float64Array(Math.max(0, count))
  for (let t = 0; t < out.length; t++) out[t] = strength(schedule, t)
  return out
}
