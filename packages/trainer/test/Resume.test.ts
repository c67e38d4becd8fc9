/**
 * Checkpoints and resume: a run killed (SIGKILL) in a child process and resumed from its newest checkpoint logs
 * exactly the losses, rewards and accuracies of an uninterrupted run (CPU, one thread); a corrupted checkpoint
 * fails with a typed error naming the file while the previous one still loads; an interrupted fiber stops at a step
 * boundary after writing a checkpoint.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { spawn } from "node:child_process"
import { appendFileSync, readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import * as Checkpoint from "../src/Checkpoint.ts"
import * as Metrics from "../src/Metrics.ts"
import * as Rl from "../src/Rl.ts"
import { jobLayer, resumeConfig } from "./fixtures/resumeJob.ts"
import { weakPriorModel } from "./fixtures/prior.ts"
import * as Toy from "./fixtures/toy.ts"

const job = join(import.meta.dirname, "fixtures", "resumeJob.ts")

/** Run the job in a child; resolve with its stdout lines. With `killAfter`, SIGKILL it once it reports that step. */
const runChild = (args: object, killAfter?: number) =>
  Effect.callback<{ readonly lines: Array<string>; readonly killed: boolean }, Error>((resume) => {
    const child = spawn(process.execPath, [job, JSON.stringify(args)], { stdio: ["ignore", "pipe", "pipe"] })
    const lines: Array<string> = []
    let killed = false
    let err = ""
    let buffer = ""
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      const parts = buffer.split("\n")
      buffer = parts.pop() ?? ""
      for (const l of parts) {
        lines.push(l)
        if (killAfter !== undefined && l === `step ${killAfter}` && !killed) {
          killed = true
          child.kill("SIGKILL")
        }
      }
    })
    child.stderr.on("data", (chunk: Buffer) => void (err += chunk.toString()))
    child.on("exit", (code) => {
      if (killed || code === 0) resume(Effect.succeed({ lines, killed }))
      else resume(Effect.fail(new Error(`job exited with ${code}: ${err}`)))
    })
  })

const keys = [
  "loss",
  "grad_norm",
  "reward_mean",
  "reward_std",
  "truth_accuracy",
  "advantage_std",
  "entropy",
  "clip_fraction",
  "ratio_mean",
  "rescue_groups",
  "dropped_groups",
  "lr"
]
const comparable = (text: string) => Metrics.parse(text).map((l) => [l.step, ...keys.map((k) => l[k])])

describe("Resume", () => {
  it.effect("a killed and resumed run logs exactly what an uninterrupted run logs", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(4)
      const steps = 8
      yield* Rl.train({ init, corpus, outDir: join(dir, "straight"), resume: false }, resumeConfig(steps)).pipe(
        Effect.provide(jobLayer)
      )
      const args = { init, corpus, outDir: join(dir, "killed"), steps }
      const first = yield* runChild({ ...args, resume: false }, 5)
      assert.isTrue(first.killed)
      const second = yield* runChild({ ...args, resume: true })
      assert.strictEqual(second.lines[0], "step 5", "resumed after the checkpoint of step 4")
      assert.strictEqual(second.lines.at(-1), "done")
      const straight = comparable(readFileSync(join(dir, "straight", Metrics.metricsFile), "utf8"))
      const resumed = comparable(readFileSync(join(dir, "killed", Metrics.metricsFile), "utf8"))
      assert.strictEqual(resumed.length, steps)
      assert.deepStrictEqual(resumed, straight)
      assert.isTrue(
        straight.some((l) => (l[keys.indexOf("rescue_groups") + 1] as number) > 0),
        "the curriculum rescued groups (its state was restored)"
      )
      const kept = (yield* Checkpoint.list(join(dir, "killed"))).map((c) => c.step)
      assert.deepStrictEqual(kept, [6, 8])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a corrupted checkpoint fails with a typed error naming the file; the previous one still loads", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(2)
      const outDir = join(dir, "rl")
      yield* Rl.train({ init, corpus, outDir, resume: false }, resumeConfig(4)).pipe(Effect.provide(jobLayer))
      const [older, newest] = yield* Checkpoint.list(outDir)
      appendFileSync(join(newest?.dir as string, "model.safetensors"), "x")
      const error = yield* Effect.flip(Checkpoint.latest(outDir))
      assert.strictEqual(error._tag, "CheckpointCorrupted")
      if (error._tag === "CheckpointCorrupted") {
        assert.strictEqual(error.file, "model.safetensors")
        assert.strictEqual(error.previous, older?.dir)
        assert.match(error.message, /model\.safetensors/)
      }
      const previous = yield* Checkpoint.load(older?.dir as string)
      assert.strictEqual(previous.state.step, 2)
      assert.strictEqual((yield* previous.optimizer).size > 0, true)
      const resumeError = yield* Effect.flip(
        Rl.train({ init, corpus, outDir, resume: true }, resumeConfig(4)).pipe(Effect.provide(jobLayer))
      )
      assert.strictEqual(resumeError._tag, "CheckpointCorrupted")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("an interrupt stops at a step boundary after writing a checkpoint", () =>
    Effect.gen(function* () {
      const { dir, init, corpus } = yield* weakPriorModel(2)
      const outDir = join(dir, "rl")
      const config = { ...resumeConfig(50), checkpoint: { ...resumeConfig(50).checkpoint, every: 0 } }
      const fiber = yield* Effect.forkChild(
        Rl.train({ init, corpus, outDir, resume: false }, config).pipe(Effect.provide(jobLayer))
      )
      // Wait (without timing) until three steps are logged, then interrupt.
      for (;;) {
        yield* Effect.yieldNow
        const text = yield* Effect.orElseSucceed(
          Effect.try(() => readFileSync(join(outDir, Metrics.metricsFile), "utf8")),
          () => ""
        )
        if (Metrics.parse(text).length >= 3) break
      }
      yield* Fiber.interrupt(fiber)
      const logged = Metrics.parse(readFileSync(join(outDir, Metrics.metricsFile), "utf8")).length
      const saved = yield* Checkpoint.latest(outDir)
      assert.isDefined(saved)
      assert.strictEqual(saved?.state.step, logged, "the checkpoint is at the last logged step")
      assert.isBelow(logged, 50)
      assert.deepStrictEqual(
        readdirSync(join(outDir, Checkpoint.checkpointsDir)).filter((n) => n.startsWith(".tmp")),
        []
      )
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, Toy.verifierLayer)))
  )
})
