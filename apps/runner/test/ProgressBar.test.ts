import { Effect } from "effect"
import { assert, describe, it } from "vitest"
import * as ProgressBar from "../src/ProgressBar.ts"

describe("ProgressBar", () => {
  it("formats done/total, rate, ETA and detail", () => {
    const line = ProgressBar.formatLine({ label: "corpus", done: 100, total: 400, detail: "pos 60 neg 40" }, 10, 8)
    assert.strictEqual(line, "corpus    [##......]  100/400  10.0/s  ETA 0:30  pos 60 neg 40")
  })

  it("shows a caller's own rate (this run's problems/s) with two decimals below 1/s, and its ETA", () => {
    // 100 of 400 done, 90 of them resumed at start: the 10 built in 40 s give 0.25/s, so 300 left take 20 min.
    const line = ProgressBar.formatLine(
      { label: "corpus", done: 100, total: 400, rate: 0.25, detail: "+10 -30" },
      40,
      8
    )
    assert.strictEqual(line, "corpus    [##......]  100/400  0.25/s  ETA 20:00  +10 -30")
  })

  it("says done with the elapsed time at the end, and handles unknown rates", () => {
    assert.strictEqual(
      ProgressBar.formatLine({ label: "sft", done: 50, total: 50 }, 3725, 4),
      "sft       [####]  50/50  0.01/s  done in 1:02:05"
    )
    assert.strictEqual(
      ProgressBar.formatLine({ label: "rl", done: 0, total: 10 }, 0, 4),
      "rl        [....]  0/10  --/s  ETA --:--"
    )
    assert.strictEqual(
      ProgressBar.formatLine({ label: "rl", done: 3, total: 10 }, 0.2, 4),
      "rl        [#...]  3/10  --/s  ETA --:--"
    )
  })

  it("in non-interactive mode prints at most one line per interval, then the final state on finish", async () => {
    const lines: Array<string> = []
    await Effect.runPromise(
      Effect.gen(function* () {
        const bar = yield* ProgressBar.make({ interactive: false, write: (t) => void lines.push(t) })
        for (let i = 1; i <= 500; i++) yield* bar.update({ label: "x", done: i, total: 500 })
        yield* bar.finish
      })
    )
    assert.strictEqual(lines.length, 2) // the first update, then the final state
    assert.include(lines[1], "500/500")
  })
})
