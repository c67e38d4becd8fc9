import { assert, describe, it } from "@effect/vitest"
import { Curriculum as CoreCurriculum } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Problems } from "@realm-lm/test-support"
import { Effect, Result } from "effect"
import fc from "fast-check"
import * as AdaptiveState from "../src/AdaptiveState.ts"
import * as Curriculum from "../src/Curriculum.ts"
import * as EaaiConfig from "../src/EaaiConfig.ts"
import { decodeTimedSync as decodeSync } from "../src/EaaiConfig.ts"
import * as Schedule from "../src/Schedule.ts"
import { zeroFrom } from "../src/Schedule.ts"
import { configArb, outcome, outcomesArb, params } from "./fixtures/arbitraries.ts"

const problem = (id: string): Problem.Problem => Problems.minimal(id)
const config = decodeSync({ schedule: { totalSteps: 100, kind: "cosine" } })
const fail = (id: string, mode: "assisted" | "hint" | "autonomous") => outcome(id, mode, [false, false, false])

describe("AdaptiveState", () => {
  it("rescues exactly the groups where every sample failed (property)", () => {
    fc.assert(
      fc.property(outcomesArb(["autonomous", "hint"]), fc.integer({ min: 0, max: 70 }), (outcomes, step) => {
        const { rescues } = AdaptiveState.observe(config, AdaptiveState.empty, step, outcomes)
        const failed = outcomes.filter((o) => o.correct.every((c) => !c)).map((o) => o.problemId)
        assert.deepStrictEqual(
          rescues.map((r) => r.problemId),
          failed
        )
        for (const r of rescues) {
          const from = outcomes.find((o) => o.problemId === r.problemId)!.guidance.mode
          assert.isTrue(r.rescue)
          assert.deepStrictEqual([r.routeCount, r.hintFraction], from === "autonomous" ? [0, 0.5] : [2, 0])
        }
      }),
      params(300)
    )
  })

  it("never rescues in the autonomous phase, after routes, when disabled, or past maxRounds", () => {
    assert.strictEqual(
      AdaptiveState.observe(config, AdaptiveState.empty, zeroFrom(config.schedule), [fail("a", "autonomous")]).rescues
        .length,
      0
    )
    assert.strictEqual(AdaptiveState.observe(config, AdaptiveState.empty, 3, [fail("a", "assisted")]).rescues.length, 0)
    const off = { ...config, rescue: { ...config.rescue, enabled: false } }
    assert.strictEqual(AdaptiveState.observe(off, AdaptiveState.empty, 3, [fail("a", "autonomous")]).rescues.length, 0)
    // Two rounds at step 3 (autonomous → hint → routes); a third failure at the same step is not rescued; the next step resets.
    const one = { ...config, rescue: { ...config.rescue, maxRounds: 1 } }
    const r1 = AdaptiveState.observe(one, AdaptiveState.empty, 3, [fail("a", "autonomous")])
    assert.strictEqual(r1.rescues.length, 1)
    assert.strictEqual(AdaptiveState.observe(one, r1.state, 3, [fail("a", "hint")]).rescues.length, 0)
    assert.strictEqual(AdaptiveState.observe(one, r1.state, 4, [fail("a", "hint")]).rescues.length, 1)
  })

  it("fades faster on problems solved without help, and never gives guidance in the final phase", () => {
    let state = AdaptiveState.empty
    for (let step = 0; step < 3; step++) {
      state = AdaptiveState.observe(config, state, step, [
        outcome("easy", "autonomous", [true, true, true, true])
      ]).state
    }
    const s = (id: string, step: number) => AdaptiveState.problemStrength(config, state, step, id)
    assert.closeTo(s("easy", 10), s("fresh", 10) * 0.25, 1e-12) // pass rate 1 → 1 - 0.75
    // One failed autonomous group pulls the rate (EMA 0.3) back down, so guidance comes back.
    const after = AdaptiveState.observe(config, state, 3, [outcome("easy", "autonomous", [false, false])]).state
    assert.closeTo(AdaptiveState.problemStrength(config, after, 10, "easy"), s("fresh", 10) * (1 - 0.75 * 0.7), 1e-12)
    for (let step = zeroFrom(config.schedule); step < 130; step++) {
      const d = AdaptiveState.decideFor(config, state, step, "fresh")
      assert.deepStrictEqual([d.strength, d.routeCount, d.hintFraction], [0, 0, 0])
    }
  })

  it("with routes off, a failed hint group is not escalated to routes", () => {
    const hintsOnly = { ...config, guidance: { ...config.guidance, routes: false } }
    const first = AdaptiveState.observe(hintsOnly, AdaptiveState.empty, 3, [fail("a", "autonomous")])
    assert.deepStrictEqual(
      first.rescues.map((r) => [r.routeCount, r.hintFraction]),
      [[0, config.rescue.hintFraction]]
    )
    assert.strictEqual(AdaptiveState.observe(hintsOnly, first.state, 3, [fail("a", "hint")]).rescues.length, 0)
    // The same hint failure with routes on escalates to routes.
    assert.deepStrictEqual(
      AdaptiveState.observe(config, first.state, 3, [fail("a", "hint")]).rescues.map((r) => r.routeCount),
      [config.rescue.routeCount]
    )
  })

  it("a schedule of kind none never guides and never rescues, even after every sample failed", () => {
    const none = decodeSync({ schedule: { kind: "none", totalSteps: 20 } })
    let state = AdaptiveState.empty
    for (let step = 0; step < 20; step++) {
      const d = AdaptiveState.decideFor(none, state, step, "a")
      assert.deepStrictEqual([d.strength, d.routeCount, d.hintFraction], [0, 0, 0])
      const observed = AdaptiveState.observe(none, state, step, [
        outcome("a", "autonomous", [false, false, false, false])
      ])
      assert.strictEqual(observed.rescues.length, 0)
      state = observed.state
    }
  })

  it("rejects snapshots of another version, a bad shape or duplicate ids", () => {
    const detail = (json: unknown) => {
      const r = AdaptiveState.decode(json)
      return Result.isFailure(r) ? r.failure.detail : "decoded"
    }
    assert.match(detail({ version: 2, problems: [] }), /version 2 is not supported/)
    assert.match(detail(null), /version undefined is not supported/)
    assert.match(
      detail({ version: 1, problems: [{ id: "a", stats: { ...AdaptiveState.emptyStats, autoRate: 2 } }] }),
      /malformed/
    )
    assert.match(
      detail({
        version: 1,
        problems: [
          { id: "a", stats: AdaptiveState.emptyStats },
          { id: "a", stats: AdaptiveState.emptyStats }
        ]
      }),
      /duplicate problem id "a"/
    )
  })
})

describe("Curriculum", () => {
  it.effect("implements the core contract: strength, decide, observe", () =>
    Effect.gen(function* () {
      const curriculum = yield* CoreCurriculum.Curriculum
      assert.strictEqual(curriculum.strength(0), 1)
      assert.strictEqual(curriculum.strength(75), 0)
      const decisions = yield* curriculum.decide(5, [problem("a"), problem("b")])
      assert.deepStrictEqual(
        decisions.map((d) => d.problemId),
        ["a", "b"]
      )
      assert.deepStrictEqual(yield* curriculum.decide(5, [problem("b")]), [decisions[1]!])
      const rescues = yield* curriculum.observe(5, [outcome("a", "autonomous", [false, false])])
      assert.deepStrictEqual(
        rescues.map((r) => [r.problemId, r.rescue, r.hintFraction]),
        [["a", true, 0.5]]
      )
    }).pipe(Effect.provide(Curriculum.layerTest))
  )

  it.effect("takes the trainer's horizon when its settings give no length, and keeps a length they give", () =>
    Effect.gen(function* () {
      const unset = yield* Curriculum.make(EaaiConfig.decodeSync({ schedule: { kind: "cosine" } }))
      yield* unset.start!({ totalSteps: 40 })
      // Over 40 steps the autonomous phase starts at 30; the same schedule configured with 40 steps decides alike.
      const given = yield* Curriculum.make(decodeSync({ schedule: { kind: "cosine", totalSteps: 40 } }))
      assert.deepStrictEqual([29, 30].map(unset.strength), [29, 30].map(given.strength))
      assert.isTrue(unset.strength(29) > 0)
      assert.strictEqual(unset.strength(30), 0)
      assert.deepStrictEqual(yield* unset.decide(3, [problem("a")]), yield* given.decide(3, [problem("a")]))
      yield* given.start!({ totalSteps: 400 })
      assert.strictEqual(given.strength(30), 0)
      const tooShort = yield* Curriculum.make(EaaiConfig.decodeSync({ schedule: { warmupSteps: 10 } }))
      const error = yield* Effect.flip(tooShort.start!({ totalSteps: 8 }))
      assert.strictEqual(error._tag, "CurriculumHorizonInvalid")
      assert.match(error.message, /8 RL steps: warm-up \(10 steps\)/)
    })
  )

  it("fixedGuidance: routes at full strength in every step, or none, keeping the other settings", () => {
    const base = EaaiConfig.decodeSync({
      seed: 3,
      schedule: { kind: "cosine", warmupSteps: 2 },
      guidance: { maxRoutes: 3 }
    })
    const always = EaaiConfig.timed(
      EaaiConfig.fixedGuidance({ ...base, schedule: { ...base.schedule, totalSteps: 10 } }, "always-routes")
    )
    assert.deepStrictEqual(Array.from(Schedule.curve(always.schedule)), Array(10).fill(1))
    assert.deepStrictEqual([always.seed, always.guidance.maxRoutes], [3, 3])
    assert.deepStrictEqual(AdaptiveState.decideFor(always, AdaptiveState.empty, 9, "a").routeCount, 3)
    const none = EaaiConfig.withHorizon(EaaiConfig.fixedGuidance(base, "none"), 10)
    assert.isTrue(Result.isSuccess(none) && Array.from(Schedule.curve(none.success.schedule)).every((s) => s === 0))
    // The decoded form of the old raw settings ({ kind: "constant", initial: 1, autonomousFraction: 0, allowNoAutonomousPhase: true }).
    assert.deepStrictEqual(
      EaaiConfig.fixedGuidance(base, "always-routes").schedule,
      EaaiConfig.decodeSync({
        schedule: { kind: "constant", initial: 1, autonomousFraction: 0, allowNoAutonomousPhase: true }
      }).schedule
    )
    assert.deepStrictEqual(
      EaaiConfig.fixedGuidance(base, "none").schedule,
      EaaiConfig.decodeSync({ schedule: { kind: "none" } }).schedule
    )
  })

  it.effect("restores exactly from a JSON round trip of its snapshot (property)", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          configArb,
          fc.array(outcomesArb(["autonomous", "hint", "assisted"]), { maxLength: 6 }),
          (cfg, batches) =>
            Effect.runPromise(
              Effect.gen(function* () {
                const original = yield* Curriculum.make(cfg)
                for (const [step, batch] of batches.entries()) yield* original.observe(step, batch)
                const snapshot = yield* original.snapshot
                const restored = yield* Curriculum.make(cfg)
                yield* restored.restore(JSON.parse(JSON.stringify(snapshot)))
                assert.deepStrictEqual(yield* restored.snapshot, snapshot)
                const probe = ["p0", "p1", "p5", "p11", "new"].map(problem)
                const step = batches.length
                assert.deepStrictEqual(yield* restored.decide(step, probe), yield* original.decide(step, probe))
                // Failures at the last observed step exercise the rescue rounds already used there; then a fresh step.
                const next = [
                  outcome("p0", "autonomous", [false]),
                  outcome("p1", "hint", [false, false]),
                  outcome("p2", "autonomous", [true, false]),
                  outcome("p3", "hint", [false])
                ]
                const last = Math.max(0, step - 1)
                assert.deepStrictEqual(yield* restored.observe(last, next), yield* original.observe(last, next))
                assert.deepStrictEqual(yield* restored.observe(step, next), yield* original.observe(step, next))
                assert.deepStrictEqual(yield* restored.snapshot, yield* original.snapshot)
              })
            )
        ),
        params(150)
      )
    )
  )

  it.effect("fails restore with CurriculumStateError and keeps its state", () =>
    Effect.gen(function* () {
      const curriculum = yield* CoreCurriculum.Curriculum
      yield* curriculum.observe(1, [outcome("a", "autonomous", [true])])
      const before = yield* curriculum.snapshot
      const error = yield* Effect.flip(curriculum.restore({ version: 1, problems: "nope" }))
      assert.strictEqual(error._tag, "CurriculumStateError")
      assert.deepStrictEqual(yield* curriculum.snapshot, before)
    }).pipe(Effect.provide(Curriculum.layerTest))
  )
})
