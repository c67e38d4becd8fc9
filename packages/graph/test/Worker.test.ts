/**
 * Off-main-thread training: a job runs in a worker thread, progress arrives on the calling thread,
 * results come back by message, and failures are typed.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { threadId } from "node:worker_threads"

import * as Worker from "../src/Worker.ts"

const job = new URL("./support/trainJob.ts", import.meta.url)

describe("Worker.run", () => {
  it.effect("trains on another thread: progress per step arrives here, weights come back", () =>
    Effect.gen(function* () {
      const seen: Array<{ step: number; loss: number; thread: number }> = []
      const result = yield* Worker.run<
        { steps: number },
        { loss: number; w1: Float32Array },
        { step: number; loss: number; thread: number }
      >(job, { steps: 60 }, (p) => {
        seen.push(p)
      })
      assert.deepStrictEqual(
        seen.map((p) => p.step),
        Array.from({ length: 60 }, (_, i) => i + 1)
      )
      assert.strictEqual(new Set(seen.map((p) => p.thread)).size, 1)
      assert.notStrictEqual(seen[0]?.thread, threadId) // sessions ran off this thread
      assert.isBelow(result.loss, (seen[0] as { loss: number }).loss)
      assert.instanceOf(result.w1, Float32Array)
      assert.strictEqual(result.w1.length, 32)
    })
  )

  it.effect("a failing job surfaces as WorkerFailed with the job's error tag", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(Worker.run(job, { steps: 1, fail: true }))
      assert.strictEqual(err._tag, "WorkerFailed")
      assert.strictEqual(err.tag, "SchemaError")
      assert.match(err.message, /optimizer/)
    })
  )
})
