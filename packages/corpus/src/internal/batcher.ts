/**
 * Gathers requests that arrive close together into one call: a single loop takes the waiting requests (up to `max`),
 * waits `gatherMs` for more once it has fewer, runs them as one batch, and hands each caller its own result. The
 * local teacher uses it to generate the routes of the problems in flight in one batched generation.
 */
import { Deferred, Duration, Effect, Queue } from "effect"
import type { Scope } from "effect"

/** Submit one request; resolves with its own result when its batch has run. */
export type Submit<A, B, E> = (item: A) => Effect.Effect<B, E>

/**
 * Start the loop in the current scope. `run` gets a batch (1..max items, in arrival order) and returns one result per
 * item, in order, or fails the whole batch; a defect in it reaches that batch's callers and the loop goes on.
 */
export const make = <A, B, E>(
  run: (batch: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B>, E>,
  options: { readonly max: number; readonly gatherMs: number }
): Effect.Effect<Submit<A, B, E>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<{ readonly item: A; readonly done: Deferred.Deferred<B, E> }>()
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          const first = yield* Queue.takeBetween(queue, 1, options.max)
          const rest =
            first.length < options.max
              ? yield* Effect.andThen(
                  Effect.sleep(Duration.millis(options.gatherMs)),
                  Queue.takeBetween(queue, 0, options.max - first.length)
                )
              : []
          const batch = [...first, ...rest]
          yield* run(batch.map((p) => p.item)).pipe(
            Effect.flatMap((results) => Effect.forEach(batch, (p, i) => Deferred.succeed(p.done, results[i]!))),
            Effect.catchCause((cause) => Effect.forEach(batch, (p) => Deferred.failCause(p.done, cause)))
          )
        })
      )
    )
    return (item: A) =>
      Effect.gen(function* () {
        const done = yield* Deferred.make<B, E>()
        yield* Queue.offer(queue, { item, done })
        return yield* Deferred.await(done)
      })
  })
