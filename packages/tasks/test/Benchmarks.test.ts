import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { TaskSource } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import type { Problem } from "@realm-lm/core"
import { Effect, Layer, Stream } from "effect"
import * as Answer from "../src/Answer.ts"
import * as Benchmarks from "../src/Benchmarks.ts"

const dir = Benchmarks.benchmarksDir()
const reason = dir === undefined ? ` (${SharedData.missingReason("benchmarks/")})` : ""

// Item counts from shared/data/SOURCES.md section 4.
const expected: ReadonlyArray<readonly [Benchmarks.Name, Problem.Split, number]> = [
  ["gsm8k", "test", 1319],
  ["gsm8k", "train", 7473],
  ["multiarith", "test", 600],
  ["addsub", "test", 395],
  ["singleeq", "test", 508],
  ["asdiv", "test", 2305],
  ["aqua", "test", 254],
  ["aqua", "validation", 254],
  ["commonsenseqa", "test", 1221],
  ["arc-challenge", "test", 1172],
  ["strategyqa", "test", 2290],
  ["folio", "validation", 204],
  ["folio", "train", 1004],
  ["logiqa", "test", 651],
  ["logiqa", "validation", 651]
]

const load = (name: Benchmarks.Name, split: Problem.Split) =>
  Effect.gen(function* () {
    const source = yield* TaskSource.TaskSource
    return yield* Stream.runCollect(source.problems(split))
  }).pipe(Effect.provide(Benchmarks.layer(name).pipe(Layer.provide(NodeServices.layer))))

describe("Benchmarks", () => {
  for (const [name, split, count] of expected) {
    it.effect.skipIf(dir === undefined)(
      `loads ${name}/${split} strictly: ${count} items, gold judged correct${reason}`,
      () =>
        Effect.gen(function* () {
          const problems = yield* load(name, split)
          assert.strictEqual(problems.length, count)
          assert.strictEqual(new Set(problems.map((p) => p.id)).size, count)
          for (const p of problems) {
            assert.isTrue(p.question.length > 0)
            if (p.answerType === "label") assert.include(p.labels ?? [], p.gold)
            if (p.answerType === "number") assert.isTrue(Answer.parseNumber(p.gold) !== undefined)
            // The gold, written as a model would write it, is judged correct.
            assert.isTrue(Answer.judge(p, `Reasoning.\nAnswer: ${p.gold}`).correct, `${p.id}: gold ${p.gold}`)
          }
        })
    )
  }

  it.effect.skipIf(dir === undefined)(`ASDiv keeps non-numeric answers as text${reason}`, () =>
    Effect.gen(function* () {
      const problems = yield* load("asdiv", "test")
      const text = problems.filter((p) => p.answerType === "text")
      assert.isTrue(text.length > 100 && text.length < 300)
      assert.isTrue(text.some((p) => p.gold === "3:30 p.m."))
      assert.isTrue(problems.some((p) => p.gold === "9" && p.answerType === "number"))
    })
  )

  it.effect("a missing benchmark file fails the stream with its path", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.gen(function* () {
          const source = yield* TaskSource.TaskSource
          return yield* Stream.runCollect(source.problems("test"))
        }).pipe(
          Effect.provide(
            Benchmarks.layer("gsm8k", { dir: "/nonexistent/benchmarks" }).pipe(Layer.provide(NodeServices.layer))
          )
        )
      )
      assert.instanceOf(error, TaskSource.TaskSourceError)
      assert.strictEqual((error as TaskSource.TaskSourceError).path, "/nonexistent/benchmarks/gsm8k/test.jsonl")
    })
  )
})
