/**
 * SFT examples (`internal/data.ts`): warm starts cover the problems in shuffled rounds, and a configured share of
 * them are hint prompts (a prefix fraction in [0.2, 0.8], no routes) instead of route prompts.
 */
import { Rng } from "@realm-lm/core"
import type { Curriculum } from "@realm-lm/core"
import { Verifier } from "@realm-lm/core"
import { Effect } from "effect"
import { assert, describe, it } from "vitest"
import * as Data from "../src/internal/data.ts"
import * as Toy from "./fixtures/toy.ts"

const examplesWith = (warm: { ratio: number; hints: number }, n = 40) => {
  const decisions: Array<Curriculum.GuidanceDecision> = []
  const recording = Verifier.Verifier.of({
    ...Toy.verifier,
    example: (request) => {
      decisions.push(request.decision)
      return Toy.verifier.example(request)
    }
  })
  const examples = Effect.runSync(
    Data.sftExamples(
      recording,
      { records: Toy.records(Toy.problems(n)), pairs: [] },
      {
        prompt: "verifier",
        routesPerProblem: 1,
        warm: { ...warm, minRoutes: 1, maxRoutes: 2 },
        rng: Rng.Rng.make(3, "warm")
      }
    )
  )
  return { examples, decisions }
}

describe("Data.sftExamples warm starts", () => {
  it("a ratio of 1 gives every problem exactly one warm start", () => {
    const { examples, decisions } = examplesWith({ ratio: 1, hints: 0 })
    assert.lengthOf(
      examples.filter((e) => e.kind === "warm"),
      40
    )
    assert.strictEqual(new Set(decisions.map((d) => d.problemId)).size, 40)
    assert.isTrue(decisions.every((d) => d.routeCount >= 1 && d.routeCount <= 2 && d.hintFraction === 0))
  })

  it("the hint share turns that share of warm starts into hint prompts with a prefix fraction in [0.2, 0.8]", () => {
    const { decisions } = examplesWith({ ratio: 2, hints: 0.5 }, 200)
    const hints = decisions.filter((d) => d.hintFraction > 0)
    assert.isAbove(hints.length / decisions.length, 0.42)
    assert.isBelow(hints.length / decisions.length, 0.58)
    assert.isTrue(hints.every((d) => d.routeCount === 0 && d.hintFraction >= 0.2 && d.hintFraction <= 0.8))
    assert.isTrue(decisions.filter((d) => d.hintFraction === 0).every((d) => d.routeCount >= 1))
  })
})
