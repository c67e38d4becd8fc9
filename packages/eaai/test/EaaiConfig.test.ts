import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Result, Schema } from "effect"
import * as EaaiConfig from "../src/EaaiConfig.ts"

const message = (input: unknown): string => {
  const r = Schema.decodeUnknownResult(EaaiConfig.EaaiConfig)(input)
  return Result.isFailure(r) ? r.failure.message : "decoded"
}
const withSchedule = (schedule: Record<string, unknown>, rest: Record<string, unknown> = {}) => ({
  schedule: { totalSteps: 100, ...schedule },
  ...rest
})

describe("EaaiConfig", () => {
  it("fills defaults around the required totalSteps", () => {
    expect(EaaiConfig.decodeSync({ schedule: { totalSteps: 10 } })).toEqual({
      seed: 0,
      schedule: {
        kind: "exponential",
        initial: 1,
        totalSteps: 10,
        warmupSteps: 0,
        autonomousFraction: 0.25,
        allowNoAutonomousPhase: false
      },
      guidance: { routes: true, maxRoutes: 4, minRoutes: 1, routeExponent: 1, hintShare: 0.5, hintScale: 1 },
      adaptive: { enabled: true, emaRate: 0.3, minObservations: 2, fadeBoost: 0.75 },
      rescue: { enabled: true, hintFraction: 0.5, routeCount: 2, maxRounds: 2 }
    })
  })

  it("rejects nonsense with the field path", () => {
    expect(EaaiConfig.decodeSync({}).schedule).toEqual({
      kind: "exponential",
      initial: 1,
      warmupSteps: 0,
      autonomousFraction: 0.25,
      allowNoAutonomousPhase: false
    })
    expect(message(withSchedule({ autonomousFraction: 0 }))).toMatch(
      /never reaches the autonomous phase[\s\S]*\["schedule"\]\["autonomousFraction"\]/
    )
    expect(message(withSchedule({ kind: "cosine", halfLife: 5 }))).toMatch(
      /only used by kind "exponential"[\s\S]*\["schedule"\]\["halfLife"\]/
    )
    expect(message(withSchedule({ warmupSteps: 90 }))).toMatch(
      /starts at step 75[\s\S]*\["schedule"\]\["warmupSteps"\]/
    )
    expect(message(withSchedule({ initial: 0 }))).toContain(`["schedule"]["initial"]`)
    expect(message(withSchedule({ autonomousFraction: 1 }))).toContain(`["schedule"]["autonomousFraction"]`)
    expect(message(withSchedule({}, { guidance: { minRoutes: 5 } }))).toContain(`["guidance"]["minRoutes"]`)
    expect(message(withSchedule({}, { rescue: { routeCount: 6 } }))).toContain(`["rescue"]["routeCount"]`)
    expect(message(withSchedule({ kind: "linear" }))).toContain(`["schedule"]["kind"]`)
  })

  it.effect("reads config path `curriculum`", () =>
    Effect.gen(function* () {
      const read = (root: unknown) => Effect.result(EaaiConfig.config.parse(ConfigProvider.fromUnknown(root)))
      const ok = yield* read({ curriculum: { seed: 3, schedule: { totalSteps: 40, kind: "stepwise", stages: 2 } } })
      expect(Result.isSuccess(ok) && ok.success.schedule.stages).toBe(2)
      const bad = yield* read({ curriculum: { schedule: { totalSteps: 40, timeScale: 3 } } })
      expect(Result.isFailure(bad) ? String(bad.failure) : "").toContain(`["curriculum"]["schedule"]["timeScale"]`)
      expect(Result.isSuccess(yield* read({ curriculum: {} }))).toBe(true)
    })
  )
})
