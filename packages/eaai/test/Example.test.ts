import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { program } from "../examples/quickstart.ts"

describe("examples/quickstart.ts (README)", () => {
  it.effect("shows the schedule, decisions, a rescue and an exact restore", () =>
    Effect.gen(function* () {
      const out = yield* program
      assert.deepStrictEqual(out.curve, [
        [0, 1],
        [10, 1],
        [30, 0.812],
        [50, 0.389],
        [79, 0.001],
        [80, 0],
        [99, 0]
      ])
      assert.deepStrictEqual(
        out.decisions.map((d) => d.problemId),
        ["p0", "p1", "p2"]
      )
      assert.deepStrictEqual(
        out.rescues.map((r) => [r.problemId, r.rescue, r.routeCount, r.hintFraction]),
        [["p1", true, 0, 0.5]]
      )
      assert.isTrue(out.same)
    })
  )
})
