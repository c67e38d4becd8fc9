/**
 * Admission before work. A request counts against `maxPending` from the moment it is admitted, so a full server
 * answers 429 before rendering or encoding the prompt, not after. Encoding is synchronous and runs on the event
 * loop, so prompts are encoded one at a time, and the encoder keeps a debt: the time it held the loop, less the time
 * the loop has had since. Past `debtLimitMs`, the next encode waits until the loop has had that much time to itself.
 * Small prompts are encoded as they come (batching is unchanged); under a burst of large ones, encoding takes at most
 * half the loop, and health checks, new connections and streamed tokens are served between two prompts instead of
 * after all of them.
 */
import { Effect, Semaphore } from "effect"
import * as ApiError from "./ApiError.ts"

/** The admission gate of one engine. */
export interface Admission {
  /**
   * Admit a request and run its `encode` alone, or fail with 429 when `maxPending` requests are already admitted
   * or waiting; the request counts as pending until `encode` ends (it then joins the batcher's own count).
   */
  readonly encode: <A, E>(encode: Effect.Effect<A, E>) => Effect.Effect<A, E | ApiError.ApiError>
  /** Requests admitted and not yet encoded. */
  readonly admitted: () => number
}

/** Encoding time the event loop may owe before the next encode waits for it to be repaid, in ms. */
export const debtLimitMs = 10

/** Give the event loop to I/O for `ms`, on a real timer: this shares the real event loop, whatever clock the caller uses. */
const pause = (ms: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const handle = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(handle))
  })

/** A gate admitting at most `maxPending` requests beyond the `waiting()` ones already queued for a batch. */
export const make = (maxPending: number, waiting: () => number): Admission => {
  const encoder = Semaphore.makeUnsafe(1)
  let admitted = 0
  /** Encoding time not yet repaid, as of `lastEnd` (a `performance.now()` time). */
  let debt = 0
  let lastEnd = 0
  const repaid = () => Math.max(0, debt - (performance.now() - lastEnd))
  const timed = <A, E>(work: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const owed = repaid()
      const run = Effect.suspend(() => {
        const start = performance.now()
        return Effect.ensuring(
          work,
          Effect.sync(() => {
            lastEnd = performance.now()
            debt = (owed > debtLimitMs ? 0 : owed) + (lastEnd - start)
          })
        )
      })
      return owed > debtLimitMs ? Effect.andThen(pause(owed), run) : run
    })
  const encode = <A, E>(work: Effect.Effect<A, E>): Effect.Effect<A, E | ApiError.ApiError> =>
    Effect.suspend((): Effect.Effect<A, E | ApiError.ApiError> => {
      const pending = admitted + waiting()
      if (pending >= maxPending) return Effect.fail(ApiError.overloaded(pending))
      admitted += 1
      return encoder.withPermit(timed(work)).pipe(Effect.ensuring(Effect.sync(() => (admitted -= 1))))
    })
  return { encode, admitted: () => admitted }
}
