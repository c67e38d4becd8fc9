import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { TaskSource } from "@realm-lm/core"
import { join } from "node:path"
import * as CustomModule from "../src/CustomModule.ts"
import type { Implementation } from "../src/Implementation.ts"

/** The fixtures need no other slot's service, so their layers are closed here for the test. */
const closed = (impl: Implementation<"tasks", unknown>, settings: unknown) =>
  CustomModule.toLayer(impl, settings) as Layer.Layer<TaskSource.TaskSource, CustomModule.CustomStageInvalid>

const fixtures = join(import.meta.dirname, "fixtures")

describe("CustomModule", () => {
  it.effect("loads a user's TaskSource module and provides the service from its settings", () =>
    Effect.gen(function* () {
      const impl = yield* CustomModule.load("tasks", "./countdown-tasks.ts", fixtures)
      assert.strictEqual(impl.id, "example/countdown-tasks")
      const problems = yield* Effect.gen(function* () {
        const tasks = yield* TaskSource.TaskSource
        return yield* Stream.runCollect(tasks.problems("test"))
      }).pipe(Effect.provide(closed(impl, { start: 3 })))
      assert.deepStrictEqual(
        problems.map((p) => p.gold),
        ["2", "1", "0"]
      )
    })
  )

  it.effect("rejects bad settings of a custom module with the field path", () =>
    Effect.gen(function* () {
      const impl = yield* CustomModule.load("tasks", join(fixtures, "countdown-tasks.ts"), "/")
      const error = yield* Effect.flip(Layer.build(closed(impl, { start: 0 })).pipe(Effect.scoped))
      assert.strictEqual(error._tag, "CustomStageInvalid")
      assert.include(error.message, "start: ")
    })
  )

  it.effect(
    "explains what is wrong with a module: missing file, no export, wrong slot, layer without the service",
    () =>
      Effect.gen(function* () {
        const missing = yield* Effect.flip(CustomModule.load("tasks", "./nope.ts", fixtures))
        assert.include(missing.message, "cannot import")
        const none = yield* Effect.flip(CustomModule.load("tasks", "./no-export.ts", fixtures))
        assert.include(none.message, "exports no `implementation`")
        const wrong = yield* Effect.flip(CustomModule.load("tasks", "./wrong-slot.ts", fixtures))
        assert.include(wrong.message, 'implements slot "verifier"')
        const empty = yield* CustomModule.load("tasks", "./empty-layer.ts", fixtures)
        const error = yield* Effect.flip(Layer.build(closed(empty, {})).pipe(Effect.scoped))
        assert.include(error.message, "does not provide @realm-lm/core/TaskSource")
      })
  )

  it("tells module paths from built-in names", () => {
    assert.isTrue(CustomModule.isModulePath("./my-stage.ts"))
    assert.isTrue(CustomModule.isModulePath("/abs/stage.js"))
    assert.isFalse(CustomModule.isModulePath("@realm-lm/mrpv"))
  })
})
