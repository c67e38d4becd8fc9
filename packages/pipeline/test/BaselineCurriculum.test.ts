/**
 * The baselines run on the configured curriculum: ReaLM as configured, CoT-Synthesizer-style at a fixed full
 * guidance and GRPO at none, through the implementation's own `fixedGuidance`, or on the registered `fixed`
 * curriculum when the configured one declares none. Built the way `Pipeline.run` builds each method's slots.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Curriculum } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Problems } from "@realm-lm/test-support"
import { Context, Effect, Layer } from "effect"
import { join } from "node:path"
import * as Methods from "../src/Methods.ts"
import type { PipelineConfig } from "../src/PipelineConfig.ts"
import * as Wiring from "../src/Wiring.ts"

const fixtures = join(import.meta.dirname, "fixtures")
const problem: Problem.Problem = Problems.minimal("p")

/** The curriculum service one method trains with, under `config`. */
const curriculumOf = (config: PipelineConfig, name: Methods.MethodName) =>
  Effect.gen(function* () {
    const wiring = yield* Wiring.make(config, fixtures)
    const method = Methods.plan([name]).at(-1) as Methods.Method
    const layer = yield* wiring.slotLayer("curriculum", Wiring.methodSlots(config, method).curriculum)
    const context = yield* Layer.build(layer)
    const curriculum = Context.get(context, Curriculum.Curriculum)
    // As the trainer does before its first RL step.
    if (curriculum.start !== undefined) yield* curriculum.start({ totalSteps: 10 })
    const [decision] = yield* curriculum.decide(3, [problem])
    return { snapshot: yield* curriculum.snapshot, decision, strength: curriculum.strength(3) }
  }).pipe(Effect.scoped)

describe("baseline curricula", () => {
  it.effect("a swapped curriculum is used by ReaLM and by both baselines, at their fixed guidance", () =>
    Effect.gen(function* () {
      const config: PipelineConfig = {
        curriculum: { use: "./steady-curriculum.ts", with: { routes: 2, strength: 0.4 } }
      }
      const realm = yield* curriculumOf(config, "realm")
      assert.deepStrictEqual(realm.snapshot, { id: "steady", guidance: "configured", horizon: 10 })
      assert.deepStrictEqual([realm.strength, realm.decision?.routeCount], [0.4, 2])
      const cot = yield* curriculumOf(config, "cot-synthesizer")
      assert.deepStrictEqual(cot.snapshot, { id: "steady", guidance: "always-routes", horizon: 10 })
      assert.deepStrictEqual([cot.strength, cot.decision?.routeCount], [1, 2])
      const grpo = yield* curriculumOf(config, "grpo")
      assert.deepStrictEqual(grpo.snapshot, { id: "steady", guidance: "none", horizon: 10 })
      assert.deepStrictEqual([grpo.strength, grpo.decision?.routeCount], [0, 0])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a curriculum without fixedGuidance serves ReaLM; the baselines get the registered fixed curriculum", () =>
    Effect.gen(function* () {
      const config: PipelineConfig = { curriculum: { use: "./plain-curriculum.ts" } }
      assert.deepStrictEqual((yield* curriculumOf(config, "realm")).snapshot, { id: "plain" })
      const cot = yield* curriculumOf(config, "cot-synthesizer")
      assert.deepStrictEqual([cot.snapshot, cot.strength, cot.decision?.routeCount], [{ kind: "fixed" }, 1, 4])
      const grpo = yield* curriculumOf(config, "grpo")
      assert.deepStrictEqual([grpo.snapshot, grpo.strength, grpo.decision?.routeCount], [{ kind: "fixed" }, 0, 0])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect(
    "the built-in EAAI runs the always-routes baseline at s = 1 with its most routes, and learns its horizon from start",
    () =>
      Effect.gen(function* () {
        const config: PipelineConfig = { curriculum: { use: "eaai", with: { guidance: { maxRoutes: 3 } } } }
        const cot = yield* curriculumOf(config, "cot-synthesizer")
        assert.deepStrictEqual([cot.strength, cot.decision?.routeCount], [1, 3])
        const fixed = yield* curriculumOf({ curriculum: { use: "fixed", with: { routeCount: 2 } } }, "cot-synthesizer")
        assert.deepStrictEqual([fixed.strength, fixed.decision?.routeCount], [1, 2])
      }).pipe(Effect.provide(NodeServices.layer))
  )
})
