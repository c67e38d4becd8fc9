import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FileSystem, Schema } from "effect"
import { RunDir } from "@realm-lm/core/node"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { define, StageFailed } from "../src/Stage.ts"
import { runStage } from "../src/StageRunner.ts"

const info = (runDir: string) => ({ runDir, seed: 1, packages: { "@realm-lm/pipeline": "0.1.0" } })

/** A toy stage: doubles each number of `input.txt` into `out.txt`, one line per item, resuming where it stopped. */
const makeDoubler = (
  calls: { runs: number; items: number },
  pauseAfter?: { at: number; gate: Deferred.Deferred<void> }
) =>
  define({
    name: "double",
    implementation: "test/doubler",
    config: Schema.Struct({ factor: Schema.Int.check(Schema.isGreaterThan(0)) }),
    inputs: () => ["input.txt"],
    outputs: () => ["out.txt"],
    run: ({ runDir, stageDir, config }) =>
      Effect.gen(function* () {
        calls.runs++
        const fs = yield* FileSystem.FileSystem
        const numbers = (yield* fs.readFileString(join(runDir, "input.txt"))).trim().split("\n").map(Number)
        const out = join(stageDir, "out.txt")
        const done = (yield* fs.exists(out)) ? (yield* fs.readFileString(out)).split("\n").filter(Boolean).length : 0
        for (let i = done; i < numbers.length; i++) {
          if (pauseAfter !== undefined && i === pauseAfter.at) yield* Deferred.await(pauseAfter.gate)
          yield* fs.writeFileString(out, `${numbers[i]! * config.factor}\n`, { flag: "a" })
          calls.items++
        }
      }).pipe(Effect.mapError((e) => new StageFailed({ stage: "double", detail: String(e) })))
  })

const setup = () => {
  const runDir = mkdtempSync(join(tmpdir(), "realm-pipe-"))
  writeFileSync(join(runDir, "input.txt"), "1\n2\n3\n4\n")
  return runDir
}

/** A fresh run directory and the doubler counting into `calls`; `run(factor)` runs it there. */
const doublerRun = () => {
  const runDir = setup()
  const calls = { runs: 0, items: 0 }
  const stage = makeDoubler(calls)
  return { runDir, calls, run: (factor: number) => runStage(info(runDir), stage, { factor }) }
}

describe("runStage", () => {
  it.effect("runs once, then skips while config, inputs and outputs are unchanged", () =>
    Effect.gen(function* () {
      const { runDir, calls, run } = doublerRun()
      assert.strictEqual(yield* run(2), "ran")
      assert.strictEqual(readFileSync(join(runDir, "double", "out.txt"), "utf8"), "2\n4\n6\n8\n")
      const manifest = yield* RunDir.readManifest(runDir, "double")
      assert.strictEqual(manifest?.status, "complete")
      assert.strictEqual(manifest?.inputs[0]?.path, "input.txt")
      assert.strictEqual(manifest?.outputs[0]?.path, "out.txt")
      assert.strictEqual(yield* run(2), "skipped")
      assert.strictEqual(calls.runs, 1)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a manifest hashed from a former config of the same work is skipped and re-keyed, not run again", () =>
    Effect.gen(function* () {
      const runDir = setup()
      const calls = { runs: 0, items: 0 }
      const stage = makeDoubler(calls)
      // An earlier version recorded { factor: 2 } with a setting it no longer hashes; same work, new hash.
      const loose = define({
        ...stage,
        config: Schema.Struct({ factor: Schema.Int, legacy: Schema.optionalKey(Schema.String) })
      })
      assert.strictEqual(yield* runStage(info(runDir), loose, { factor: 2, legacy: "x" }), "ran")
      const before = yield* RunDir.readManifest(runDir, "double")
      const rekeyed = define({ ...loose, formerConfigs: [{ factor: 2, legacy: "x" }] })
      assert.strictEqual(yield* runStage(info(runDir), rekeyed, { factor: 2 }), "skipped")
      assert.strictEqual(calls.runs, 1)
      const after = yield* RunDir.readManifest(runDir, "double")
      assert.notStrictEqual(after?.configHash, before?.configHash, "the manifest now carries the new config's hash")
      assert.deepStrictEqual(after?.config, { factor: 2 })
      assert.deepStrictEqual(after?.outputs, before?.outputs)
      assert.strictEqual(yield* runStage(info(runDir), loose, { factor: 2 }), "skipped", "and is up to date without it")
      // A former config of other work does not count: { factor: 3 } was never recorded here.
      const other = define({ ...loose, formerConfigs: [{ factor: 3 }] })
      assert.strictEqual(yield* runStage(info(runDir), other, { factor: 2, legacy: "y" }), "ran")
      assert.strictEqual(calls.runs, 2)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("re-runs when the config, an input or an output changes", () =>
    Effect.gen(function* () {
      const { runDir, calls, run } = doublerRun()
      yield* run(2)
      writeFileSync(join(runDir, "double", "out.txt"), "") // stage output wiped by a user
      assert.strictEqual(yield* run(2), "ran")
      writeFileSync(join(runDir, "input.txt"), "5\n")
      assert.strictEqual(yield* run(2), "ran")
      assert.strictEqual(yield* run(3), "ran")
      assert.strictEqual(calls.runs, 4)
      // Changed work starts over: the output is entirely the new config's, nothing stale is resumed.
      assert.strictEqual(readFileSync(join(runDir, "double", "out.txt"), "utf8"), "15\n")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a deleted output makes the stage run again instead of failing", () =>
    Effect.gen(function* () {
      const { runDir, run } = doublerRun()
      yield* run(2)
      rmSync(join(runDir, "double", "out.txt"))
      assert.strictEqual(yield* run(2), "ran")
      assert.strictEqual(readFileSync(join(runDir, "double", "out.txt"), "utf8"), "2\n4\n6\n8\n")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a different run seed is different work", () =>
    Effect.gen(function* () {
      const runDir = setup()
      const calls = { runs: 0, items: 0 }
      yield* runStage(info(runDir), makeDoubler(calls), { factor: 2 })
      assert.strictEqual(yield* runStage({ ...info(runDir), seed: 2 }, makeDoubler(calls), { factor: 2 }), "ran")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("an interrupted stage is marked interrupted and the next run resumes instead of redoing work", () =>
    Effect.gen(function* () {
      const runDir = setup()
      const calls = { runs: 0, items: 0 }
      const gate = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(runStage(info(runDir), makeDoubler(calls, { at: 2, gate }), { factor: 2 }))
      while (calls.items < 2) yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      assert.strictEqual((yield* RunDir.readManifest(runDir, "double"))?.status, "interrupted")
      assert.strictEqual(yield* runStage(info(runDir), makeDoubler(calls), { factor: 2 }), "ran")
      assert.strictEqual(calls.items, 4) // 2 before the interrupt + the remaining 2, none redone
      assert.strictEqual(readFileSync(join(runDir, "double", "out.txt"), "utf8"), "2\n4\n6\n8\n")
      assert.strictEqual((yield* RunDir.readManifest(runDir, "double"))?.status, "complete")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a failing stage leaves a failed manifest and its error; a stage that forgets its output fails", () =>
    Effect.gen(function* () {
      const runDir = setup()
      const failing = define({
        ...makeDoubler({ runs: 0, items: 0 }),
        run: () => Effect.fail(new StageFailed({ stage: "double", detail: "boom" }))
      })
      const error = yield* Effect.flip(runStage(info(runDir), failing, { factor: 2 }))
      assert.strictEqual(error._tag, "StageFailed")
      assert.strictEqual((yield* RunDir.readManifest(runDir, "double"))?.status, "failed")
      const lazy = define({ ...makeDoubler({ runs: 0, items: 0 }), run: () => Effect.void })
      const missing = yield* Effect.flip(runStage(info(runDir), lazy, { factor: 2 }))
      assert.strictEqual(missing._tag, "StageFailed")
      if (missing._tag === "StageFailed") assert.include(missing.detail, "out.txt")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("rejects bad config with the field path, and missing inputs with the path and a hint", () =>
    Effect.gen(function* () {
      const runDir = setup()
      const stage = makeDoubler({ runs: 0, items: 0 })
      const bad = yield* Effect.flip(runStage(info(runDir), stage, { factor: 0 }))
      assert.strictEqual(bad._tag, "StageConfigInvalid")
      assert.include(bad.message, '["factor"]')
      const empty = mkdtempSync(join(tmpdir(), "realm-pipe-"))
      const missing = yield* Effect.flip(runStage(info(empty), stage, { factor: 2 }))
      assert.strictEqual(missing._tag, "StageInputMissing")
      assert.include(missing.message, "run the stage that produces it first")
      assert.isFalse(existsSync(join(empty, "double")))
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
