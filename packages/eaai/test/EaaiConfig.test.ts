import { assert, describe, it } from "@effect/vitest"
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
    assert.deepStrictEqual(EaaiConfig.decodeSync({ schedule: { totalSteps: 10 } }), {
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
    assert.deepStrictEqual(EaaiConfig.decodeSync({}).schedule, {
      kind: "exponential",
      initial: 1,
      warmupSteps: 0,
      autonomousFraction: 0.25,
      allowNoAutonomousPhase: false
    })
    assert.match(
      message(withSchedule({ autonomousFraction: 0 })),
      /never reaches the autonomous phase[\s\S]*\["schedule"\]\["autonomousFraction"\]/
    )
    assert.match(
      message(withSchedule({ kind: "cosine", halfLife: 5 })),
      /only used by kind "exponential"[\s\S]*\["schedule"\]\["halfLife"\]/
    )
    assert.match(message(withSchedule({ warmupSteps: 90 })), /starts at step 75[\s\S]*\["schedule"\]\["warmupSteps"\]/)
    assert.include(message(withSchedule({ initial: 0 })), `["schedule"]["initial"]`)
    assert.include(message(withSchedule({ autonomousFraction: 1 })), `["schedule"]["autonomousFraction"]`)
    assert.include(message(withSchedule({}, { guidance: { minRoutes: 5 } })), `["guidance"]["minRoutes"]`)
    assert.include(message(withSchedule({}, { rescue: { routeCount: 6 } })), `["rescue"]["routeCount"]`)
    assert.include(message(withSchedule({ kind: "linear" })), `["schedule"]["kind"]`)
  })

  it.effect("reads config path `curriculum`", () =>
    Effect.gen(function* () {
      const read = (root: unknown) => Effect.result(EaaiConfig.config.parse(ConfigProvider.fromUnknown(root)))
      const ok = yield* read({ curriculum: { seed: 3, schedule: { totalSteps: 40, kind: "stepwise", stages: 2 } } })
      assert.strictEqual(Result.isSuccess(ok) && ok.success.schedule.stages, 2)
      const bad = yield* read({ curriculum: { schedule: { totalSteps: 40, timeScale: 3 } } })
      assert.include(Result.isFailure(bad) ? String(bad.failure) : "", `["curriculum"]["schedule"]["timeScale"]`)
      assert.isTrue(Result.isSuccess(yield* read({ curriculum: {} })))
    })
  )
})
