/**
 * Batching of concurrent requests: the first request to arrive while the engine is idle waits `windowMs` for
 * others, then everything pending (up to `maxRows` sequences, never splitting a request) runs as one call of
 * `run`. Requests that arrive during a call form the next batch. Cancelled requests are dropped before their
 * batch starts (their `submit` is interrupted). The loop lives in the scope it was made in.
 */
import { Deferred, Duration, Effect, Queue, Schema } from "effect"
import type { Scope } from "effect"

/** Too many requests are waiting. */
export class Overloaded extends Schema.TaggedError<Overloaded>()("Overloaded", { pending: Schema.Int }) {
  override get message(): string {
    return `${this.pending} requests are already waiting`
  }
}

/** Batching settings. */
export interface BatcherOptions<Req> {
  readonly windowMs: number
  /** Most sequences per call (a single larger request still runs, alone). */
  readonly maxRows: number
  /** Most requests waiting; more are refused with `Overloaded`. */
  readonly maxPending: number
  /** Sequences a request adds to a batch (e.g. its `n`). */
  readonly rowsOf: (request: Req) => number
  /** Whether a waiting request was given up on (skipped, never run, its `submit` interrupted). */
  readonly isCancelled: (request: Req) => boolean
}

/** Counters since start. */
export interface BatcherStats {
  /** Calls of `run`. */
  readonly batches: number
  /** Requests run. */
  readonly requests: number
  /** Most requests in one call. */
  readonly largestBatch: number
}

/** A running batcher. */
export interface Batcher<Req, Res, E> {
  /** Queue a request and wait for its result from the batch it joins. */
  readonly submit: (request: Req) => Effect.Effect<Res, E | Overloaded>
  readonly stats: () => BatcherStats
  /** Requests waiting now. */
  readonly pending: () => number
}

interface Job<Req, Res, E> {
  readonly request: Req
  readonly done: Deferred.Deferred<Res, E>
}

/** Start a batcher over `run`, which must return one result per request, in order. */
export const make = <Req, Res, E>(
  run: (requests: ReadonlyArray<Req>) => Effect.Effect<ReadonlyArray<Res>, E>,
  options: BatcherOptions<Req>
): Effect.Effect<Batcher<Req, Res, E>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const waiting: Array<Job<Req, Res, E>> = []
    const wake = yield* Queue.unbounded<void>()
    let stats: BatcherStats = { batches: 0, requests: 0, largestBatch: 0 }

    /** Take the next batch off the front of `waiting`. */
    const nextBatch = (): Array<Job<Req, Res, E>> => {
      const batch: Array<Job<Req, Res, E>> = []
      let rows = 0
      while (waiting.length > 0) {
        const job = waiting[0]!
        if (options.isCancelled(job.request)) {
          waiting.shift()
          Deferred.doneUnsafe(job.done, Effect.interrupt)
          continue
        }
        const r = options.rowsOf(job.request)
        if (batch.length > 0 && rows + r > options.maxRows) break
        batch.push(job)
        rows += r
        waiting.shift()
      }
      return batch
    }

    const runBatch = (batch: ReadonlyArray<Job<Req, Res, E>>) =>
      Effect.gen(function* () {
        stats = {
          batches: stats.batches + 1,
          requests: stats.requests + batch.length,
          largestBatch: Math.max(stats.largestBatch, batch.length)
        }
        const outcome = yield* Effect.exit(run(batch.map((j) => j.request)))
        if (outcome._tag === "Success") {
          for (const [i, job] of batch.entries()) {
            const value = outcome.value[i]
            yield* value === undefined
              ? Deferred.die(
                  job.done,
                  new Error(`batch run returned ${outcome.value.length} results for ${batch.length} requests`)
                )
              : Deferred.succeed(job.done, value)
          }
        } else {
          for (const job of batch) yield* Deferred.failCause(job.done, outcome.cause)
        }
      })

    const loop = Effect.gen(function* () {
      yield* Queue.take(wake)
      if (options.windowMs > 0) yield* Effect.sleep(Duration.millis(options.windowMs))
      yield* Queue.clear(wake)
      for (let batch = nextBatch(); batch.length > 0; batch = nextBatch()) yield* runBatch(batch)
    }).pipe(Effect.forever)
    yield* Effect.forkScoped(loop)

    const submit = (request: Req): Effect.Effect<Res, E | Overloaded> =>
      Effect.gen(function* () {
        if (waiting.length >= options.maxPending) return yield* new Overloaded({ pending: waiting.length })
        const done = yield* Deferred.make<Res, E>()
        waiting.push({ request, done })
        Queue.offerUnsafe(wake, undefined)
        return yield* Deferred.await(done)
      })

    return { submit, stats: () => stats, pending: () => waiting.length }
  })
