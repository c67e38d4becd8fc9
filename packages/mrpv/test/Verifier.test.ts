import { assert, describe, it } from "@effect/vitest"
import { Verifier as CoreVerifier } from "@realm-lm/core"
import { ConfigProvider, Effect, Layer, Result } from "effect"
import { renderTarget } from "../src/Target.ts"
import * as MrpvConfig from "../src/MrpvConfig.ts"
import * as Verifier from "../src/Verifier.ts"
import { testJudgeLayer } from "./fixtures/judge.ts"
import { claim, claimRoutes } from "./fixtures/problems.ts"

const decision = { problemId: claim.id, strength: 0.9, routeCount: 3, hintFraction: 0, rescue: false, seed: 11 }

describe("Verifier", () => {
  it.effect("builds a prompt and scores a completion through the core contract", () =>
    Effect.gen(function* () {
      const verifier = yield* CoreVerifier.Verifier
      const prompt = yield* verifier.prompt({ problem: claim, routes: claimRoutes, decision })
      assert.strictEqual(prompt.guidance.routeIds.length, 3)
      const shown = prompt.guidance.routeIds.map((id) => claimRoutes.find((r) => r.id === id)!)
      const reward = yield* verifier.score({
        problem: claim,
        prompt,
        routes: claimRoutes,
        completion: renderTarget(claim, shown)
      })
      assert.isTrue(reward.correct)
      assert.strictEqual(reward.total, 1 + 0.5 + (shown.some((r) => r.label === "negative") ? 0.5 : 0) + 0.2)
      const bad = yield* Effect.result(
        verifier.score({ problem: claim, prompt, routes: [], completion: "Answer: 800" })
      )
      assert.isTrue(
        Result.isFailure(bad) && bad.failure._tag === "VerifierError" && bad.failure.detail.includes("not among")
      )
      const other = yield* Effect.result(
        verifier.score({ problem: { ...claim, id: "other" }, prompt, routes: claimRoutes, completion: "Answer: 800" })
      )
      assert.isTrue(Result.isFailure(other) && other.failure.detail.includes("built for problem"))
    }).pipe(Effect.provide(Verifier.layerTest.pipe(Layer.provide(testJudgeLayer))))
  )

  it.effect("example gives the same prompt as prompt() and an ideal completion that scores full marks", () =>
    Effect.gen(function* () {
      const verifier = yield* CoreVerifier.Verifier
      const example = yield* verifier.example({ problem: claim, routes: claimRoutes, decision })
      assert.deepStrictEqual(example.prompt, yield* verifier.prompt({ problem: claim, routes: claimRoutes, decision }))
      const reward = yield* verifier.score({
        problem: claim,
        prompt: example.prompt,
        routes: claimRoutes,
        completion: example.completion
      })
      assert.isTrue(reward.correct)
      assert.strictEqual(reward.components.format, 0.2)
    }).pipe(Effect.provide(Verifier.layerTest.pipe(Layer.provide(testJudgeLayer))))
  )

  it.effect("reads its config from path `verifier` and fails on bad config with the field path", () =>
    Effect.gen(function* () {
      const withProvider = (root: unknown) =>
        Verifier.layer.pipe(
          Layer.provide(testJudgeLayer),
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(root)))
        )
      const prompt = yield* CoreVerifier.Verifier.use((v) =>
        v.prompt({ problem: claim, routes: claimRoutes, decision })
      ).pipe(Effect.provide(withProvider({ verifier: { style: "verbose", maxRoutes: 2 } })))
      assert.deepStrictEqual(
        prompt.messages.map((m) => m.role),
        ["system", "user"]
      )
      assert.strictEqual(prompt.guidance.routeIds.length, 2)
      const failed = yield* Effect.result(
        CoreVerifier.Verifier.use((v) => v.prompt({ problem: claim, routes: claimRoutes, decision })).pipe(
          Effect.provide(withProvider({ verifier: { mix: { allNegative: 2 } } }))
        )
      )
      assert.isTrue(Result.isFailure(failed) && String(failed.failure).includes(`["verifier"]["mix"]["allNegative"]`))
    })
  )

  it.effect("verdicts reads a completion's verdict on each shown route, in the config's order", () =>
    Effect.gen(function* () {
      const verifier = yield* CoreVerifier.Verifier
      const completion =
        "Route A: correct\nRoute B: wrong at step 2\nRoute C: hmm\nReflection: B slips.\nStep 1: 2 + 2 = 4\nAnswer: 4"
      assert.deepStrictEqual(verifier.verdicts?.(completion, ["r1", "r2", "r3", "r4"]), [
        { routeId: "r1", verdict: "correct" },
        { routeId: "r2", verdict: "wrong", step: 2 },
        { routeId: "r3", verdict: "unclear" },
        { routeId: "r4", verdict: "missing" }
      ])
      // Solve-first verdicts come after the answer: read there by a solve-first verifier, trailing text for verify-first.
      const solveFirst = "Step 1: 2 + 2 = 4\nAnswer: 4\nRoute A: wrong at step 1\nReflection: A slips."
      assert.deepStrictEqual(
        Verifier.readVerdicts({ ...MrpvConfig.defaults, order: "solve-first" }, solveFirst, ["r1"]),
        [{ routeId: "r1", verdict: "wrong", step: 1 }]
      )
      assert.deepStrictEqual(verifier.verdicts?.(solveFirst, ["r1"]), [{ routeId: "r1", verdict: "missing" }])
    }).pipe(Effect.provide(Verifier.layerTest.pipe(Layer.provide(testJudgeLayer))))
  )
})
