import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Result, Schema } from "effect"
import * as MrpvConfig from "../src/MrpvConfig.ts"

const decodeMessage = (input: unknown): string => {
  const r = Schema.decodeUnknownResult(MrpvConfig.MrpvConfig)(input)
  return Result.isFailure(r) ? r.failure.message : "decoded"
}

describe("MrpvConfig", () => {
  it("fills every default from an empty object", () => {
    assert.deepStrictEqual(MrpvConfig.defaults, {
      style: "compact",
      order: "verify-first",
      echoAnswers: false,
      compareAnswers: false,
      maxRoutes: 4,
      mix: { positiveRatio: 0.5, allPositive: 0.15, allNegative: 0.15 },
      missingRoutes: "fallback",
      hintPlacement: "prompt",
      weights: { answer: 1, verdict: 0.5, decisive: 0.5, format: 0.2 },
      verdictFormat: true,
      decisiveTolerance: 0,
      length: { weight: 0, targetChars: 1000, spanChars: 1000 },
      drills: { lines: 3, min: 10, max: 300 }
    })
  })

  it("rejects nonsense with the field path", () => {
    assert.include(decodeMessage({ maxRoutes: 27 }), `["maxRoutes"]`)
    assert.match(
      decodeMessage({ mix: { allPositive: 0.7, allNegative: 0.5 } }),
      /allPositive \+ allNegative[\s\S]*\["mix"\]\["allPositive"\]/
    )
    assert.include(decodeMessage({ weights: { verdict: -1 } }), `["weights"]["verdict"]`)
    assert.include(
      decodeMessage({ weights: { answer: 0, verdict: 0, decisive: 0, format: 0 } }),
      "at least one reward weight"
    )
    assert.include(decodeMessage({ style: "fancy" }), `["style"]`)
    assert.include(decodeMessage({ length: { spanChars: 0 } }), `["length"]["spanChars"]`)
    assert.include(decodeMessage({ drills: { min: 50, max: 50 } }), `max (50) must be above min (50)`)
    assert.include(decodeMessage({ drills: { lines: 27 } }), `["drills"]["lines"]`)
    assert.match(
      decodeMessage({ compareAnswers: true, echoAnswers: true }),
      /compareAnswers needs order: solve-first[\s\S]*\["compareAnswers"\]/
    )
    assert.include(decodeMessage({ compareAnswers: true, order: "solve-first" }), "echoAnswers: false")
    assert.strictEqual(decodeMessage({ compareAnswers: true, order: "solve-first", echoAnswers: true }), "decoded")
  })

  it.effect("reads config path `verifier`, defaulting when absent and failing on bad values", () =>
    Effect.gen(function* () {
      const read = (root: unknown) => MrpvConfig.config.parse(ConfigProvider.fromUnknown(root))
      assert.deepStrictEqual(yield* read({}), MrpvConfig.defaults)
      const custom = yield* read({ verifier: { style: "verbose", weights: { answer: 2 } } })
      assert.strictEqual(custom.style, "verbose")
      assert.deepStrictEqual(custom.weights, { ...MrpvConfig.defaults.weights, answer: 2 })
      const bad = yield* Effect.result(read({ verifier: { maxRoutes: 0 } }))
      assert.include(Result.isFailure(bad) ? String(bad.failure) : "", `["verifier"]["maxRoutes"]`)
    })
  )
})
