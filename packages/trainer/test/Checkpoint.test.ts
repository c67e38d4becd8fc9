/**
 * Checkpoint files: writes are atomic and verified on load (a truncated state file or a missing file is named),
 * rotation keeps the newest K plus the best by the chosen metric, metrics logs are cut back on resume, and data
 * order is a seeded permutation per epoch that resumes from any position.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Pretrained, Safetensors, Weights } from "@realm-lm/lm"
import { Effect } from "effect"
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Checkpoint from "../src/Checkpoint.ts"
import * as Metrics from "../src/Metrics.ts"
import * as Data from "../src/internal/data.ts"
import * as Steps from "../src/internal/steps.ts"
import * as Toy from "./fixtures/toy.ts"

const contents = (step: number, metrics: Record<string, number>): Checkpoint.Contents => ({
  phase: "sft",
  step,
  optimizerStep: step,
  totalSteps: 10,
  configHash: "h",
  config: {},
  data: { position: { epoch: 0, index: step } },
  rng: {},
  metrics,
  counters: {},
  optimizer: new Map([["w::m", { shape: [2], data: Float32Array.of(step, -step) }]])
})

const writeModel = (tmp: string) => Effect.sync(() => writeFileSync(join(tmp, "model.safetensors"), "weights"))

describe("Checkpoint", () => {
  it.effect("rotation keeps the last K and the best; loads verify every file", () =>
    Effect.gen(function* () {
      const out = Toy.tempDir()
      const losses = [5, 1, 4, 3, 2]
      for (const [i, loss] of losses.entries()) {
        const step = (i + 1) * 10
        const dir = join(out, Checkpoint.checkpointsDir, Checkpoint.stepName(step))
        yield* Checkpoint.write(dir, contents(step, { heldout_loss: loss }), writeModel)
        yield* Checkpoint.rotate(
          out,
          { dir, step, metrics: { heldout_loss: loss } },
          { keepLast: 2, bestMetric: "heldout_loss", maximize: false }
        )
      }
      assert.deepStrictEqual(
        (yield* Checkpoint.list(out)).map((c) => c.step),
        [20, 40, 50]
      )
      assert.strictEqual((yield* Checkpoint.best(out))?.step, 20)
      const latest = yield* Checkpoint.latest(out)
      assert.strictEqual(latest?.state.step, 50)
      assert.deepStrictEqual([...((yield* (latest as Checkpoint.Loaded).optimizer).get("w::m")?.data ?? [])], [50, -50])
      assert.isFalse(readdirSync(join(out, Checkpoint.checkpointsDir)).some((n) => n.startsWith(".tmp")))
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a truncated state file and a missing file are named", () =>
    Effect.gen(function* () {
      const out = Toy.tempDir()
      const dir = join(out, "c")
      yield* Checkpoint.write(dir, contents(1, {}), writeModel)
      rmSync(join(dir, "model.safetensors"))
      const missing = yield* Effect.flip(Checkpoint.load(dir))
      assert.strictEqual(missing.file, "model.safetensors")
      const state = readFileSync(join(dir, Checkpoint.stateFile), "utf8")
      writeFileSync(join(dir, Checkpoint.stateFile), state.slice(0, state.length / 2))
      const torn = yield* Effect.flip(Checkpoint.load(dir))
      assert.strictEqual(torn.file, Checkpoint.stateFile)
      assert.match(torn.detail, /not JSON/)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect(
    "the model of a checkpoint loads verified against its record; a changed model.safetensors is refused by both loaders",
    () =>
      Effect.gen(function* () {
        // The model of a toy run: the package's tiny from-scratch model, read back as config and weights.
        const scratch = join(Toy.tempDir(), "scratch")
        yield* Toy.tinyModel(scratch, Toy.problems(4))
        const { config, weights } = yield* Pretrained.load(scratch)
        const dir = join(Toy.tempDir(), "c")
        yield* Checkpoint.write(dir, contents(1, {}), (tmp) => Pretrained.save(tmp, config, weights))
        // `@realm-lm/lm` reads the record `Checkpoint.write` wrote: eval and serve verify what training wrote.
        assert.strictEqual((yield* Pretrained.load(dir)).weights.size, weights.size)
        const flipped = new Map(
          [...weights].map(([name, t]) => [
            name,
            Weights.tensor(
              t.shape,
              t.data.map((x) => -x)
            )
          ])
        )
        yield* Safetensors.write(join(dir, Pretrained.singleFile), flipped)
        const lmError = yield* Effect.flip(Pretrained.load(dir))
        assert.strictEqual(lmError._tag, "CheckpointHashMismatch")
        const trainerError = yield* Effect.flip(Checkpoint.load(dir))
        assert.strictEqual(trainerError.file, Pretrained.singleFile)
        assert.match(trainerError.detail, /differs from the recorded/)
      }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("non-finite optimizer moments are refused when the optimizer state is read", () =>
    Effect.gen(function* () {
      const dir = join(Toy.tempDir(), "c")
      const nan = {
        ...contents(2, {}),
        optimizer: new Map([["w::v", { shape: [3], data: Float32Array.of(1, Number.NaN, 2) }]])
      }
      yield* Checkpoint.write(dir, nan, writeModel)
      const loaded = yield* Checkpoint.load(dir)
      const error = yield* Effect.flip(loaded.optimizer)
      assert.strictEqual(error._tag, "CheckpointCorrupted")
      if (error._tag === "CheckpointCorrupted") {
        assert.strictEqual(error.file, Checkpoint.optimizerFile)
        assert.match(error.detail, /w::v holds NaN at \[1\]/)
      }
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("metrics after the resumed step are cut; a fresh run starts a new log", () =>
    Effect.gen(function* () {
      const out = Toy.tempDir()
      yield* Effect.scoped(
        Effect.gen(function* () {
          const w = yield* Metrics.open(out, "rl", { keepThrough: undefined, tensorboard: false })
          for (let s = 1; s <= 5; s++) yield* w.write(s, { loss: s, nan: Number.NaN })
        })
      )
      writeFileSync(
        join(out, Metrics.metricsFile),
        readFileSync(join(out, Metrics.metricsFile), "utf8") + '{"phase":"rl","st'
      )
      yield* Effect.scoped(Metrics.open(out, "rl", { keepThrough: 3, tensorboard: true }))
      const lines = Metrics.parse(readFileSync(join(out, Metrics.metricsFile), "utf8"))
      assert.deepStrictEqual(
        lines.map((l) => l.step),
        [1, 2, 3]
      )
      assert.strictEqual(lines[0]?.["nan"], null)
      assert.isTrue(existsSync(join(out, Metrics.tensorboardDir)))
      yield* Effect.scoped(Metrics.open(out, "rl", { keepThrough: undefined, tensorboard: false }))
      assert.strictEqual(readFileSync(join(out, Metrics.metricsFile), "utf8"), "")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("data order and packing", () => {
  it("takes across epochs and resumes from any position to the same stream", () => {
    const whole = Data.take(3, "s", 10, { epoch: 0, index: 0 }, 24)
    assert.strictEqual(whole.items.length, 24)
    assert.deepStrictEqual(
      whole.items.slice(0, 10).toSorted((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      "each epoch is a permutation"
    )
    assert.notDeepEqual(whole.items.slice(0, 10), whole.items.slice(10, 20), "epochs are reshuffled")
    const a = Data.take(3, "s", 10, { epoch: 0, index: 0 }, 13)
    const b = Data.take(3, "s", 10, a.next, 11)
    assert.deepStrictEqual([...a.items, ...b.items], whole.items)
    assert.deepStrictEqual(b.next, whole.next)
  })

  it("held-out selection is stable and near the fraction", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `p${i}`)
    const held = ids.filter((id) => Data.isHeldOut(1, id, 0.1))
    assert.isAbove(held.length, 150)
    assert.isBelow(held.length, 250)
    assert.deepStrictEqual(
      ids.filter((id) => Data.isHeldOut(1, id, 0.1)),
      held
    )
    assert.isFalse(ids.some((id) => Data.isHeldOut(1, id, 0)))
  })

  it("packs by bucket into micro-batches with power-of-two rows, or exact rows", () => {
    const ex = (n: number) => ({ prompt: [1], completion: Array.from({ length: n }, () => 2) })
    const examples = [ex(3), ex(10), ex(3), ex(3), ex(40)]
    const { groups, tooLong } = Steps.pack(examples, [4, 16], 2)
    assert.deepStrictEqual(
      groups.map((g) => [g.length, g.rows, g.members]),
      [
        [4, 2, [0, 2]],
        [4, 1, [3]],
        [16, 1, [1]]
      ]
    )
    assert.deepStrictEqual(tooLong, [4])
    assert.deepStrictEqual(
      Steps.pack([ex(3), ex(3), ex(3)], [4], 4).groups.map((g) => g.rows),
      [4]
    )
    assert.deepStrictEqual(
      Steps.pack([ex(3), ex(3), ex(3)], [4], 4, false).groups.map((g) => g.rows),
      [3]
    )
    // A token budget caps rows in long buckets (to a power of two).
    assert.deepStrictEqual(
      [64, 256, 512, 768, 5000].map((l) => Steps.rowLimit(l, 16, 4096)),
      [16, 16, 8, 4, 1]
    )
    assert.deepStrictEqual(
      Steps.pack([ex(3), ex(3), ex(3), ex(10), ex(10), ex(10)], [4, 16], 4, true, 32).groups.map((g) => [
        g.length,
        g.rows,
        g.members.length
      ]),
      [
        [4, 4, 3],
        [16, 2, 2],
        [16, 1, 1]
      ]
    )
  })
})
