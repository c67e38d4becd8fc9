/**
 * Learning-rate schedules as pure functions of the optimizer step: linear warmup, then constant, linear or
 * cosine decay to a floor. The trainer feeds the value into the graph as a run-time input each step.
 */
import { Schema } from "effect"

/** Schedule settings (`trainer.*.lr`). */
export const LrScheduleConfig = Schema.Struct({
  /** Peak learning rate after warmup. */
  peak: Schema.Finite.check(Schema.isGreaterThan(0)),
  /** Steps of linear warmup from 0 to `peak` (default 0). */
  warmupSteps: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** Shape after warmup. */
  decay: Schema.Literals(["constant", "linear", "cosine"]),
  /** Final learning rate as a fraction of `peak` (0..1, default 0.1). */
  floor: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
})
export type LrScheduleConfig = typeof LrScheduleConfig.Type

/** Learning rate at 0-based `step` of `totalSteps`. */
export const learningRate = (config: LrScheduleConfig, step: number, totalSteps: number): number => {
  const { peak, warmupSteps, decay, floor } = config
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps
  if (decay === "constant") return peak
  const span = Math.max(1, totalSteps - warmupSteps - 1)
  const progress = Math.min(1, (step - warmupSteps) / span)
  const shape = decay === "linear" ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress))
  return peak * (floor + (1 - floor) * shape)
}
