import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { TaskSource } from "@realm-lm/core"
import { Effect, Layer, Stream } from "effect"
import { join } from "node:path"
import * as Answer from "../src/Answer.ts"
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

/** The problems of `split` (default test) that the loader reads for `config`, from the real file system. */
const load = (config: unknown, options: { readonly onSkip?: Loader.OnSkip; readonly split?: "test" | "train" } = {}) =>
  Effect.gen(function* () {
    const source = yield* TaskSource.TaskSource
    return yield* Stream.runCollect(source.problems(options.split ?? "test"))
  }).pipe(Effect.provide(Loader.layer(config, options.onSkip).pipe(Layer.provide(NodeServices.layer))))

describe("Loader", () => {
  it.effect("loads GSM8K lines with the standard gold (after ####, commas removed) and calculator-free steps", () =>
    Effect.gen(function* () {
      const problems = yield* load({
        ...Benchmarks.preset("gsm8k", fixtures),
        files: { test: join(fixtures, "gsm8k-test-head4.jsonl") }
      })
      assert.deepStrictEqual(
        problems.map((p) => p.gold),
        ["18", "3", "70000", "540"]
      )
      assert.strictEqual(problems[0]?.id, "gsm8k/test/0")
      assert.deepStrictEqual(problems[0]?.goldSteps, [
        "Janet sells 16 - 3 - 4 = 9 duck eggs a day.",
        "She makes 9 * 2 = $18 every day at the farmer’s market."
      ])
      assert.isTrue(problems[0]?.question.startsWith("Janet’s ducks lay 16 eggs per day."))
    })
  )

  it.effect("strict policy fails on the first bad line with file and line number", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load(mine("strict")))
      assert.instanceOf(error, TaskSource.TaskSourceError)
      const e = error as TaskSource.TaskSourceError
      assert.strictEqual(e.line, 3)
      assert.isTrue(e.path?.endsWith("my-data.jsonl"))
      assert.match(Loader.describe(e), /my-data\.jsonl:3: /)
    })
  )

  it.effect("lenient policy skips bad lines, reports each with its line, and maps nested fields", () =>
    Effect.gen(function* () {
      const skipped: Array<string> = []
      const onSkip = (e: TaskSource.TaskSourceError) => Effect.sync(() => void skipped.push(Loader.describe(e)))
      const problems = yield* load(mine("lenient"), { onSkip })
      assert.deepStrictEqual(
        problems.map((p) => [p.id, p.gold]),
        [
          ["mine/q1", "36"],
          ["mine/q2", "1000"],
          ["mine/q4", "4.5"],
          ["mine/q6", "15"]
        ]
      )
      assert.strictEqual(skipped.length, 2)
      assert.match(skipped[0]!, /my-data\.jsonl:3: .*JSON/i)
      assert.match(skipped[1]!, /my-data\.jsonl:5: gold field "solution\.final" is missing/)
      assert.deepStrictEqual(problems[0]?.goldSteps, ["12 * 3 = 36"])
      assert.strictEqual(problems[0]?.rulebook, "Multiply before you add.")
      assert.deepStrictEqual(problems[0]?.metadata, { topic: "mult" })
    })
  )

  it.effect("rejects a bad config before reading, naming the field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load({ ...mine("strict"), files: { dev: "x.jsonl" } }))
      assert.match(String(error), /unknown split "dev"/)
      const noLabels = {
        ...mine("strict"),
        mapping: { question: "prompt", gold: "solution.final", answerType: "label" }
      }
      const error2 = yield* Effect.flip(load(noLabels))
      assert.match(String(error2), /mapping/)
    })
  )

  it.effect("a split without a file fails with the configured splits", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load(mine("strict"), { split: "train" }))
      assert.match((error as TaskSource.TaskSourceError).detail, /no file for split "train"; configured splits: test/)
    })
  )
})

describe("Loader errors name the file, line and field, and the fix", () => {
  const failure = (config: unknown) =>
    Effect.flip(load(config)).pipe(Effect.map((e) => e as TaskSource.TaskSourceError))
  const array = {
    name: "logic",
    files: { test: join(fixtures, "my-data-array.json") },
    mapping: { question: "prompt", gold: "answer" }
  }

  it.effect("a JSON array read as JSON Lines (the default) says to set format: json", () =>
    Effect.gen(function* () {
      const e = yield* failure(array)
      assert.strictEqual(e.line, 1)
      assert.match(Loader.describe(e), /my-data-array\.json:1: invalid JSON: .*looks like a JSON array.*`format: json`/)
      const oneLine = yield* failure({ ...array, files: { test: join(fixtures, "my-data-one-line-array.jsonl") } })
      assert.match(
        Loader.describe(oneLine),
        /my-data-one-line-array\.jsonl:1: the line is a JSON array, not one record.*`format: json`/
      )
    })
  )

  it.effect("a JSON document with nested records says which recordsPath to set", () =>
    Effect.gen(function* () {
      const nested = {
        name: "qa",
        files: { test: join(fixtures, "my-data-nested.json") },
        mapping: { question: "input", gold: "target", answerType: "text" }
      }
      const asLines = yield* failure(nested)
      assert.match(asLines.detail, /one JSON document spread over several lines: set `format: json`.*`recordsPath`/)
      const noPath = yield* failure({ ...nested, format: "json" })
      assert.match(
        noPath.detail,
        /expected an array of records; set recordsPath to the key of the records array: examples/
      )
    })
  )

  it.effect("a letter gold read as a number says to set mapping.answerType: label with choices or labels", () =>
    Effect.gen(function* () {
      const e = yield* failure({ ...array, format: "json" })
      assert.match(
        Loader.describe(e),
        /my-data-array\.json: record 1: gold "B" \(field "answer"\) is not a number \(answer type "number", the default of mapping\.answerType\): it looks like an option letter, so set mapping\.answerType: label with mapping\.choices/
      )
    })
  )

  it.effect(
    "with format json and answerType label the options become the labels, and `Answer: False` is judged B",
    () =>
      Effect.gen(function* () {
        const problems = yield* load({
          ...array,
          format: "json",
          mapping: { ...array.mapping, id: "id", answerType: "label", choices: { texts: "options" } }
        })
        assert.deepStrictEqual(
          problems.map((p) => [p.id, p.gold, p.labels]),
          [
            ["logic/p1", "B", ["A", "B"]],
            ["logic/p2", "A", ["A", "B"]]
          ]
        )
        const [first] = problems
        assert.isTrue(
          first !== undefined &&
            Answer.judge(first, "Max is a wumpus, so a tumpus, so not sour.\nAnswer: False").correct
        )
        assert.isTrue(
          first !== undefined &&
            Answer.judge(first, "Answer: A wumpus is a tumpus and tumpuses are not sour, so B").correct
        )
      })
  )
})

describe("Loader: mapping.tolerance", () => {
  it.effect("sets metadata.tolerance on number problems, which the judge then applies (exact without it)", () =>
    Effect.gen(function* () {
      const onSkip = () => Effect.void
      const exact = yield* load(mine("lenient"), { onSkip })
      const loose = yield* load(
        { ...mine("lenient"), mapping: { ...mine("lenient").mapping, tolerance: 0.01 } },
        { onSkip }
      )
      const [e, l] = [exact.find((p) => p.gold === "1000"), loose.find((p) => p.gold === "1000")]
      assert.isTrue(e !== undefined && l !== undefined)
      if (e === undefined || l === undefined) return
      assert.strictEqual(l.metadata.tolerance, 0.01)
      assert.isFalse(Answer.judge(e, "Answer: 1,005").correct)
      assert.isTrue(Answer.judge(l, "Answer: 1,005").correct)
      assert.isFalse(Answer.judge(l, "Answer: 1,020").correct)
    })
  )
})
