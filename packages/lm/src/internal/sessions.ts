/**
 * Lazily compiled sessions keyed by graph kind and shape bucket, all on one executor (so they read the same
 * parameters from its state) and released with the scope they were created in. Plus bucket arithmetic.
 */
import type { Device, Executor, Session } from "@realm-lm/graph"
import { Graph } from "@realm-lm/graph"
import { Effect, Scope } from "effect"

/** Errors of building and compiling a graph. */
export type CompileError =
  | Device.DeviceUnavailable
  | Session.SessionCreateFailed
  | Graph.InvalidGraph
  | Graph.ShapeMismatch

/** A cache of compiled sessions. */
export type Sessions = (key: string, build: () => Graph.Graph) => Effect.Effect<Session.Session, CompileError>

/** A session cache on `executor` whose sessions close with the current scope. */
export const make = (executor: Executor.ExecutorShape): Effect.Effect<Sessions, never, Scope.Scope> =>
  Effect.map(Effect.scope, (scope) => {
    const cache = new Map<string, Session.Session>()
    return (key, build) =>
      Effect.gen(function* () {
        const hit = cache.get(key)
        if (hit !== undefined) return hit
        const graph = yield* Effect.try({
          try: build,
          catch: (e) =>
            e instanceof Graph.InvalidGraph || e instanceof Graph.ShapeMismatch
              ? e
              : new Graph.InvalidGraph({ detail: String(e) })
        })
        const session = yield* Scope.provide(scope)(executor.compile(graph))
        cache.set(key, session)
        return session
      })
  })

/** The smallest bucket ≥ n, or n rounded up to a multiple of `step` beyond the last bucket. */
export const bucketFor = (buckets: ReadonlyArray<number>, n: number, step = 256): number =>
  buckets.find((b) => b >= n) ?? Math.ceil(n / step) * step

/** Powers of two from `from` up to (and including one ≥) `to`. */
export const powersOfTwo = (from: number, to: number): Array<number> => {
  const out: Array<number> = []
  for (let b = from; ; b *= 2) {
    out.push(b)
    if (b >= to) return out
  }
}
