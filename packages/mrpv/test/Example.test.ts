import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { program } from "../examples/quickstart.ts"

describe("examples/quickstart.ts (README)", () => {
  it.effect("prints the prompt and scores the ideal completion at the maximum and the flawed one low", () =>
    Effect.gen(function* () {
      const out = yield* program
      assert.match(
        out.text,
        /^user: Q: A claim of 1,200[\s\S]*Route C:[\s\S]*Verify each route, then solve\.\n\nassistant:$/
      )
      assert.deepStrictEqual(out.idealReward, {
        total: 2.2,
        components: { answer: 1, verdict: 0.5, decisive: 0.5, format: 0.2 },
        correct: true,
        answer: "800",
        metrics: { format: 1, verdictAccuracy: 1, decisiveAccuracy: 1 }
      })
      assert.isFalse(out.flawedReward.correct)
      assert.closeTo(out.flawedReward.total, 0.5 / 3 + (0.2 * 4) / 6, 1e-12)
    })
  )
})
