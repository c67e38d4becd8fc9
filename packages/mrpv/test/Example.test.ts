import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { program } from "../examples/quickstart.ts"
import { idealClaimReward } from "./fixtures/problems.ts"

describe("examples/quickstart.ts (README)", () => {
  it.effect("prints the prompt and scores the ideal completion at the maximum and the flawed one low", () =>
    Effect.gen(function* () {
      const out = yield* program
      assert.match(
        out.text,
        /^user: Q: A claim of 1,200[\s\S]*Route C:[\s\S]*Verify each route, then solve\.\n\nassistant:$/
      )
      assert.deepStrictEqual(out.idealReward, idealClaimReward)
      assert.isFalse(out.flawedReward.correct)
      assert.closeTo(out.flawedReward.total, 0.5 / 3 + (0.2 * 4) / 6, 1e-12)
    })
  )
})
