/**
 * Counters and an event log shared by a teacher and the corpus builder: requests, retries by reason, malformed
 * responses, token usage and cost. Teachers record; the builder reads snapshots for progress and drains the
 * events into `events.jsonl`, so malformed responses are kept for audit without crashing the run.
 */
import { Context, Effect, Layer, Schema } from "effect"

/** One noteworthy thing a teacher saw. Never contains credentials. */
export const TeacherEvent = Schema.Struct({
  type: Schema.Literals(["retry", "malformed", "request-failed"]),
  problemId: Schema.String,
  /** `rate-limited`, `timeout`, `server`, `malformed`, `unavailable`, `budget`. */
  reason: Schema.String,
  detail: Schema.String,
  /** 0-based attempt number of the request. */
  attempt: Schema.Int,
  /** Backoff chosen before the next attempt, for retries. */
  delayMs: Schema.optionalKey(Schema.Finite),
  /** Start of the offending response body (at most 200 characters), for malformed responses. */
  excerpt: Schema.optionalKey(Schema.String)
})
export type TeacherEvent = typeof TeacherEvent.Type

/** Totals since the teacher was created. */
export interface Snapshot {
  readonly requests: number
  readonly retries: number
  readonly malformed: number
  readonly failedRequests: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly costUsd: number
}

/** Shared teacher counters. */
export class TeacherMetrics extends Context.Service<
  TeacherMetrics,
  {
    readonly record: (event: TeacherEvent) => Effect.Effect<void>
    readonly request: Effect.Effect<void>
    readonly usage: (promptTokens: number, completionTokens: number, costUsd: number) => Effect.Effect<void>
    readonly snapshot: Effect.Effect<Snapshot>
    /** Events recorded since the last drain, oldest first. */
    readonly drain: Effect.Effect<Array<TeacherEvent>>
  }
>()("@realm-lm/corpus/TeacherMetrics") {}

/** Fresh counters. */
export const make = Effect.sync((): TeacherMetrics["Service"] => {
  const totals = {
    requests: 0,
    retries: 0,
    malformed: 0,
    failedRequests: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0
  }
  let pending: Array<TeacherEvent> = []
  return TeacherMetrics.of({
    record: (event) =>
      Effect.sync(() => {
        if (event.type === "retry") totals.retries++
        if (event.type === "request-failed") totals.failedRequests++
        if (event.type === "malformed") totals.malformed++
        pending.push(event)
      }),
    request: Effect.sync(() => void totals.requests++),
    usage: (promptTokens, completionTokens, costUsd) =>
      Effect.sync(() => {
        totals.promptTokens += promptTokens
        totals.completionTokens += completionTokens
        totals.costUsd += costUsd
      }),
    snapshot: Effect.sync(() => ({ ...totals })),
    drain: Effect.sync(() => {
      const out = pending
      pending = []
      return out
    })
  })
})

/** A layer with fresh counters. */
export const layer = Layer.effect(TeacherMetrics, make)
