/**
 * Off-main-thread training: a job runs in a worker thread, progress arrives on the calling thread,
 * results come back by message, and failures are typed.
 */
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { threadId } from "node:worker_threads"
import { expect } from "vitest"
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
      expect(seen.map((p) => p.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
      expect(new Set(seen.map((p) => p.thread)).size).toBe(1)
      expect(seen[0]?.thread).not.toBe(threadId) // sessions ran off this thread
      expect(result.loss).toBeLessThan((seen[0] as { loss: number }).loss)
      expect(result.w1).toBeInstanceOf(Float32Array)
      expect(result.w1.length).toBe(32)
    })
  )

  it.effect("a failing job surfaces as WorkerFailed with the job's error tag", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(Worker.run(job, { steps: 1, fail: true }))
      expect(err._tag).toBe("WorkerFailed")
      expect(err.tag).toBe("SchemaError")
      expect(err.message).toMatch(/optimizer/)
    })
  )
})
