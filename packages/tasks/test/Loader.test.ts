import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { TaskSource } from "@realm-lm/core"
import { Effect, Layer, Stream } from "effect"
import { join } from "node:path"
import * as Benchmarks from "../src/Benchmarks.ts"
import * as Loader from "../src/Loader.ts"

const fixtures = join(import.meta.dirname, "fixtures")

const mine = (policy: "strict" | "lenient") => ({
  name: "mine",
  files: { test: join(fixtures, "my-data.jsonl") },
  policy,
  rulebook: "Multiply before you add.",
  mapping: { id: "uid", question: "prompt", gold: "solution.final", goldSteps: "solution.work", metadata: ["topic"] }
})

const collect = (layer: Layer.Layer<TaskSource.TaskSource, unknown, never>, split: "test" | "train" = "test") =>
  Effect.gen(function*() {
    const source = yield* TaskSource.TaskSource
    return yield* Stream.runCollect(source.problems(split))
  }).pipe(Effect.provide(layer))

describe("Loader", () => {
  it.effect("loads GSM8K lines with the standard gold (after ####, commas removed) and calculator-free steps", () =>
    Effect.gen(function*() {
      const config = { ...Benchmarks.preset("gsm8k", fixtures), files: { test: join(fixtures, "gsm8k-test-head4.jsonl") } }
      const problems = yield* collect(Loader.layer(config).pipe(Layer.provide(NodeServices.layer)))
      assert.deepStrictEqual(problems.map((p) => p.gold), ["18", "3", "70000", "540"])
      assert.strictEqual(problems[0]?.id, "gsm8k/test/0")
      assert.deepStrictEqual(problems[0]?.goldSteps, [
        "Janet sells 16 - 3 - 4 = 9 duck eggs a day.",
        "She makes 9 * 2 = $18 every day at the farmer’s market."
      ])
      assert.isTrue(problems[0]?.question.startsWith("Janet’s ducks lay 16 eggs per day."))
    }))

  it.effect("strict policy fails on the first bad line with file and line number", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(collect(Loader.layer(mine("strict")).pipe(Layer.provide(NodeServices.layer))))
      assert.instanceOf(error, TaskSource.TaskSourceError)
      const e = error as TaskSource.TaskSourceError
      assert.strictEqual(e.line, 3)
      assert.isTrue(e.path?.endsWith("my-data.jsonl"))
      assert.match(Loader.describe(e), /my-data\.jsonl:3: /)
    }))

  it.effect("lenient policy skips bad lines, reports each with its line, and maps nested fields", () =>
    Effect.gen(function*() {
      const skipped: Array<string> = []
      const onSkip = (e: TaskSource.TaskSourceError) => Effect.sync(() => void skipped.push(Loader.describe(e)))
      const problems = yield* collect(Loader.layer(mine("lenient"), onSkip).pipe(Layer.provide(NodeServices.layer)))
      assert.deepStrictEqual(problems.map((p) => [p.id, p.gold]), [["mine/q1", "36"], ["mine/q2", "1000"], ["mine/q4", "4.5"], ["mine/q6", "15"]])
      assert.strictEqual(skipped.length, 2)
      assert.match(skipped[0] as string, /my-data\.jsonl:3: .*JSON/i)
      assert.match(skipped[1] as string, /my-data\.jsonl:5: gold field "solution\.final" is missing/)
      assert.deepStrictEqual(problems[0]?.goldSteps, ["12 * 3 = 36"])
      assert.strictEqual(problems[0]?.rulebook, "Multiply before you add.")
      assert.deepStrictEqual(problems[0]?.metadata, { topic: "mult" })
    }))

  it.effect("rejects a bad config before reading, naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(collect(Loader.layer({ ...mine("strict"), files: { dev: "x.jsonl" } }).pipe(Layer.provide(NodeServices.layer))))
      assert.match(String(error), /unknown split "dev"/)
      const noLabels = { ...mine("strict"), mapping: { question: "prompt", gold: "solution.final", answerType: "label" } }
      const error2 = yield* Effect.flip(collect(Loader.layer(noLabels).pipe(Layer.provide(NodeServices.layer))))
      assert.match(String(error2), /mapping/)
    }))

  it.effect("a split without a file fails with the configured splits", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(collect(Loader.layer(mine("strict")).pipe(Layer.provide(NodeServices.layer)), "train"))
      assert.match((error as TaskSource.TaskSourceError).detail, /no file for split "train"; configured splits: test/)
    }))
})
