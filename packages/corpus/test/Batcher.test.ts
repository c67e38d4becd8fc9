import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as Batcher from "../src/internal/batcher.ts"

describe("Batcher", () => {
  it.live("runs requests that arrive together as one batch (at most max), each caller getting its own result", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const batches: Array<ReadonlyArray<number>> = []
        const submit = yield* Batcher.make(
          (batch: ReadonlyArray<number>) =>
            Effect.sync(() => {
              batches.push(batch)
              return batch.map((n) => n * 10)
            }),
          { max: 4, gatherMs: 5 }
        )
        const results = yield* Effect.forEach([1, 2, 3, 4, 5, 6], submit, { concurrency: "unbounded" })
        assert.deepStrictEqual(results, [10, 20, 30, 40, 50, 60])
        assert.deepStrictEqual(
          batches.map((b) => b.length),
          [4, 2]
        )
        assert.deepStrictEqual(batches.flat().toSorted(), [1, 2, 3, 4, 5, 6])
      })
    )
  )

  it.live("a failed batch fails each of its callers; a defect reaches them too, and later batches still run", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const submit = yield* Batcher.make(
          (batch: ReadonlyArray<number>) =>
            batch.includes(0)
              ? Effect.fail("bad batch")
              : batch.includes(-1)
                ? Effect.die("bug")
                : Effect.succeed(batch),
          { max: 8, gatherMs: 5 }
        )
        const failed = yield* Effect.forEach([0, 1], (n) => Effect.exit(submit(n)), { concurrency: "unbounded" })
        assert.isTrue(failed.every((e) => Exit.isFailure(e) && Cause.squash(e.cause) === "bad batch"))
        const died = yield* Effect.exit(submit(-1))
        assert.isTrue(Exit.isFailure(died) && Cause.hasDies(died.cause))
        assert.strictEqual(yield* submit(7), 7)
      })
    )
  )
})
