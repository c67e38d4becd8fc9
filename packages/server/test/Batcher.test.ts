import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Batcher from "../src/Batcher.ts"

interface Req {
  readonly id: number
  readonly rows: number
  readonly cancelled?: boolean
}

const setup = (options: Partial<Batcher.BatcherOptions<Req>> = {}, fail?: (reqs: ReadonlyArray<Req>) => boolean) =>
  Effect.gen(function* () {
    const calls: Array<Array<number>> = []
    const batcher = yield* Batcher.make(
      (reqs: ReadonlyArray<Req>) => {
        calls.push(reqs.map((r) => r.id))
        return fail?.(reqs) === true ? Effect.fail("boom" as const) : Effect.succeed(reqs.map((r) => `done ${r.id}`))
      },
      {
        windowMs: 10,
        maxRows: 8,
        maxPending: 100,
        rowsOf: (r) => r.rows,
        isCancelled: (r) => r.cancelled === true,
        ...options
      }
    )
    return { batcher, calls }
  })

describe("Batcher", () => {
  it.effect("requests arriving within the window share one call; each gets its own result", () =>
    Effect.gen(function* () {
      const { batcher, calls } = yield* setup()
      const fibers = yield* Effect.forEach([1, 2, 3], (id) => Effect.forkChild(batcher.submit({ id, rows: 2 })))
      yield* TestClock.adjust(10)
      const results = yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(results, ["done 1", "done 2", "done 3"])
      assert.deepStrictEqual(calls, [[1, 2, 3]])
      assert.deepStrictEqual(batcher.stats(), { batches: 1, requests: 3, largestBatch: 3 })
    }).pipe(Effect.scoped)
  )

  it.effect(
    "splits at maxRows without splitting a request; an oversized request runs alone; cancelled ones are skipped",
    () =>
      Effect.gen(function* () {
        const { batcher, calls } = yield* setup()
        const reqs: Array<Req> = [
          { id: 1, rows: 5 },
          { id: 2, rows: 2 },
          { id: 3, rows: 3, cancelled: true },
          { id: 4, rows: 4 },
          { id: 5, rows: 12 },
          { id: 6, rows: 1 }
        ]
        const fibers = yield* Effect.forEach(reqs, (r) => Effect.forkChild(batcher.submit(r)))
        yield* TestClock.adjust(10)
        for (const [i, f] of fibers.entries()) if (i !== 2) yield* Fiber.join(f)
        assert.deepStrictEqual(calls, [[1, 2], [4], [5], [6]])
        const skipped = yield* Fiber.await(fibers[2]!)
        assert.isTrue(Exit.hasInterrupts(skipped), "the skipped request's submit is interrupted, not left waiting")
        assert.strictEqual(batcher.pending(), 0)
      }).pipe(Effect.scoped)
  )

  it.effect("a failed call fails every request of its batch, and the next batch runs", () =>
    Effect.gen(function* () {
      const { batcher, calls } = yield* setup({}, (reqs) => reqs.some((r) => r.id === 1))
      const a = yield* Effect.forkChild(batcher.submit({ id: 1, rows: 1 }))
      const b = yield* Effect.forkChild(batcher.submit({ id: 2, rows: 1 }))
      yield* TestClock.adjust(10)
      assert.strictEqual(yield* Effect.flip(Fiber.join(a)), "boom")
      assert.strictEqual(yield* Effect.flip(Fiber.join(b)), "boom")
      const c = yield* Effect.forkChild(batcher.submit({ id: 3, rows: 1 }))
      yield* TestClock.adjust(10)
      assert.strictEqual(yield* Fiber.join(c), "done 3")
      assert.deepStrictEqual(calls, [[1, 2], [3]])
    }).pipe(Effect.scoped)
  )

  it.effect("refuses requests beyond maxPending with Overloaded", () =>
    Effect.gen(function* () {
      const { batcher } = yield* setup({ maxPending: 2 })
      yield* Effect.forkChild(batcher.submit({ id: 1, rows: 1 }))
      yield* Effect.forkChild(batcher.submit({ id: 2, rows: 1 }))
      yield* Effect.yieldNow
      const e = yield* Effect.flip(batcher.submit({ id: 3, rows: 1 }))
      if (typeof e === "string") return assert.fail(`expected Overloaded, got ${e}`)
      assert.strictEqual(e._tag, "Overloaded")
      assert.match(e.message, /2 requests/)
    }).pipe(Effect.scoped)
  )

  it.effect("requests that arrive during a call form the next batch", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const calls: Array<Array<number>> = []
      const batcher = yield* Batcher.make(
        (reqs: ReadonlyArray<Req>) =>
          Effect.as(
            Effect.sync(() => calls.push(reqs.map((r) => r.id))).pipe(
              Effect.andThen(calls.length === 1 ? Deferred.await(gate) : Effect.void)
            ),
            reqs.map((r) => r.id)
          ),
        { windowMs: 10, maxRows: 8, maxPending: 100, rowsOf: (r) => r.rows, isCancelled: () => false }
      )
      const first = yield* Effect.forkChild(batcher.submit({ id: 1, rows: 1 }))
      yield* TestClock.adjust(10)
      const later = yield* Effect.forEach([2, 3], (id) => Effect.forkChild(batcher.submit({ id, rows: 1 })))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* TestClock.adjust(10)
      yield* Effect.forEach(later, Fiber.join)
      assert.deepStrictEqual(calls, [[1], [2, 3]])
    }).pipe(Effect.scoped)
  )
})
