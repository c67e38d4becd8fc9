/**
 * The admission gate: requests past `maxPending` are refused before their work runs; encodes run one at a time; and
 * after a long encode the next one waits until the event loop has had as long to itself, so timers and I/O run
 * between two encodes instead of after all of them. Real time: the gate paces the real event loop.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import * as Admission from "../src/Admission.ts"

/** Hold the event loop for `ms`, as a synchronous tokenizer does. */
const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end) {
    /* spin */
  }
}

describe("Admission", () => {
  it.live("paces long encodes: each waits as long as the last one took, and the event loop runs in between", () =>
    Effect.gen(function* () {
      const gate = Admission.make(100, () => 0)
      const spans: Array<{ start: number; end: number }> = []
      const ticks: Array<number> = []
      const ticker = setInterval(() => ticks.push(performance.now()), 1)
      const encode = Effect.sync(() => {
        const start = performance.now()
        busy(40)
        spans.push({ start, end: performance.now() })
      })
      yield* Effect.all(
        Array.from({ length: 4 }, () => gate.encode(encode)),
        { concurrency: "unbounded" }
      )
      clearInterval(ticker)
      assert.strictEqual(spans.length, 4)
      for (let i = 1; i < spans.length; i++) {
        const previous = spans[i - 1] as { start: number; end: number }
        const next = spans[i] as { start: number; end: number }
        const took = previous.end - previous.start
        assert.isAtLeast(next.start - previous.end, took * 0.9, `encode ${i} waited as long as encode ${i - 1} took`)
        assert.isTrue(
          ticks.some((t) => t > previous.end && t < next.start),
          `timers ran between encodes ${i - 1} and ${i}`
        )
      }
      assert.strictEqual(gate.admitted(), 0)
    })
  )

  it.live(
    "admits at most maxPending requests, counting those already waiting for a batch, and refuses the rest before their work",
    () =>
      Effect.gen(function* () {
        let ran = 0
        const work = Effect.sync(() => (ran += 1))
        const full = Admission.make(2, () => 2)
        const refused = yield* Effect.flip(full.encode(work))
        assert.strictEqual(refused.status, 429)
        assert.strictEqual(ran, 0)
        const gate = Admission.make(2, () => 1)
        const release = yield* Deferred.make<void>()
        const first = yield* Effect.forkChild(gate.encode(Effect.andThen(Deferred.await(release), work)))
        while (gate.admitted() < 1) yield* Effect.yieldNow
        const second = yield* Effect.flip(gate.encode(work))
        assert.strictEqual(second.status, 429, "one admitted plus one waiting fill maxPending 2")
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(first)
        assert.strictEqual(ran, 1)
        assert.strictEqual(gate.admitted(), 0)
      })
  )
})
