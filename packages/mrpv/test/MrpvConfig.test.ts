import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Result, Schema } from "effect"
import * as MrpvConfig from "../src/MrpvConfig.ts"

const decodeMessage = (input: unknown): string => {
  const r = Schema.decodeUnknownResult(MrpvConfig.MrpvConfig)(input)
  return Result.isFailure(r) ? r.failure.message : "decoded"
}

describe("MrpvConfig", () => {
  it("fills every default from an empty object", () => {
    expect(MrpvConfig.defaults).toEqual({
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
      length: { weight: 0, targetChars: 1000, spanChars: 1000 }
    })
  })

  it("rejects nonsense with the field path", () => {
    expect(decodeMessage({ maxRoutes: 27 })).toContain(`["maxRoutes"]`)
    expect(decodeMessage({ mix: { allPositive: 0.7, allNegative: 0.5 } })).toMatch(
      /allPositive \+ allNegative[\s\S]*\["mix"\]\["allPositive"\]/
    )
    expect(decodeMessage({ weights: { verdict: -1 } })).toContain(`["weights"]["verdict"]`)
    expect(decodeMessage({ weights: { answer: 0, verdict: 0, decisive: 0, format: 0 } })).toContain(
      "at least one reward weight"
    )
    expect(decodeMessage({ style: "fancy" })).toContain(`["style"]`)
    expect(decodeMessage({ length: { spanChars: 0 } })).toContain(`["length"]["spanChars"]`)
    expect(decodeMessage({ compareAnswers: true, echoAnswers: true })).toMatch(
      /compareAnswers needs order: solve-first[\s\S]*\["compareAnswers"\]/
    )
    expect(decodeMessage({ compareAnswers: true, order: "solve-first" })).toContain("echoAnswers: false")
    expect(decodeMessage({ compareAnswers: true, order: "solve-first", echoAnswers: true })).toBe("decoded")
  })

  it.effect("reads config path `verifier`, defaulting when absent and failing on bad values", () =>
    Effect.gen(function* () {
      const read = (root: unknown) => MrpvConfig.config.parse(ConfigProvider.fromUnknown(root))
      expect(yield* read({})).toEqual(MrpvConfig.defaults)
      const custom = yield* read({ verifier: { style: "verbose", weights: { answer: 2 } } })
      expect(custom.style).toBe("verbose")
      expect(custom.weights).toEqual({ ...MrpvConfig.defaults.weights, answer: 2 })
      const bad = yield* Effect.result(read({ verifier: { maxRoutes: 0 } }))
      expect(Result.isFailure(bad) ? String(bad.failure) : "").toContain(`["verifier"]["maxRoutes"]`)
    })
  )
})
