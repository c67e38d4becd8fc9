/**
 * Live progress of a training run for a CLI or UI: an optional service the runner provides; the trainer reports
 * every step (done/total, so an ETA follows, plus a short detail line) and does nothing when it is absent.
 */
import { Context, Effect, Layer, Option } from "effect"

/** One progress report. */
export interface ProgressEvent {
  /** `sft`, `rft`, `rl`. */
  readonly phase: string
  /** What is counted, e.g. `sft`, `rft sample`, `rl`; apps/runner's progress bar shows it as the label. */
  readonly label: string
  readonly done: number
  readonly total: number
  /** Short human-readable state, e.g. `loss 1.23 reward 0.41 s 0.62`. */
  readonly detail: string
  /** The step's metrics (the same values as metrics.jsonl). */
  readonly metrics: Readonly<Record<string, number>>
}

/** Receives progress reports. */
export class Progress extends Context.Service<
  Progress,
  {
    readonly report: (event: ProgressEvent) => Effect.Effect<void>
  }
>()("@realm-lm/trainer/Progress") {}

/** A progress service calling `f` for every report. */
export const layer = (f: (event: ProgressEvent) => Effect.Effect<void>): Layer.Layer<Progress> =>
  Layer.succeed(Progress, Progress.of({ report: f }))

/** Report to the provided `Progress` service, if any. */
export const report = (event: ProgressEvent): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(Progress), (p) => (Option.isSome(p) ? p.value.report(event) : Effect.void))

/** `key value` pairs of the named metrics that exist, for progress detail lines. */
export const detail = (metrics: Readonly<Record<string, number>>, keys: ReadonlyArray<string>): string =>
  keys
    .flatMap((k) => {
      const v = metrics[k]
      return v === undefined || !Number.isFinite(v)
        ? []
        : [`${k} ${Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)}`]
    })
    .join("  ")
