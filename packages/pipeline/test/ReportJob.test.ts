/**
 * The report asks the verifier in context for the example completions' verdicts: the built-in verifier reads MRPV
 * verdict lines, a user's verifier reads its own format, and a verifier without `verdicts` shows none.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { Verifier } from "@realm-lm/core"
import * as ReportJob from "../src/ReportJob.ts"

const root = mkdtempSync(join(tmpdir(), "realm-report-job-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const problem = {
  id: "toy/0",
  domain: "toy",
  question: "What is 2 + 2?",
  rulebook: "Add.",
  gold: "4",
  answerType: "number",
  difficulty: 1,
  split: "test",
  metadata: {}
}
const routes = [
  { id: "r-good", steps: ["2 + 2 = 4"], answer: "4", source: "rule", label: "positive" },
  { id: "r-bad", steps: ["2 + 2 = 5"], answer: "5", source: "rule", label: "negative", decisiveStep: 0 }
]
/** A completion in the user's own verdict format (`verdicts: +-`), which MRPV's parser does not read. */
const completion = "verdicts: +-\nStep 1: 2 + 2 = 4\nAnswer: 4"

/** A run directory with one ReaLM assisted result whose outcome kept its prompt and completion. */
const runDir = (name: string) => {
  const dir = join(root, name)
  mkdirSync(join(dir, "eval"), { recursive: true })
  mkdirSync(join(dir, "routes-test", "corpus"), { recursive: true })
  writeFileSync(
    join(dir, "routes-test", "corpus", "corpus.jsonl"),
    `${JSON.stringify({ problem, routes, teacher: "rule" })}\n`
  )
  const estimate = { value: 1, low: 1, high: 1 }
  const result = {
    method: "ReaLM (SFT → MRPV + EAAI)",
    checkpoint: "realm",
    task: "toy",
    split: "test",
    mode: "assisted",
    samples: 1,
    accuracy: estimate,
    metrics: {},
    breakdown: {},
    outcomes: [
      {
        problemId: problem.id,
        difficulty: 1,
        split: "test",
        answers: ["4"],
        correct: [true],
        texts: [completion],
        prompt: {
          problemId: problem.id,
          messages: [{ role: "user", content: problem.question }],
          guidance: { mode: "assisted", strength: 1, routeIds: ["r-good", "r-bad"] }
        }
      }
    ]
  }
  writeFileSync(join(dir, "eval", "results.json"), JSON.stringify([result]))
  return dir
}

const unused = (problemId: string) =>
  Effect.fail(new Verifier.VerifierError({ problemId, detail: "the report only reads verdicts" }))
/** A user's verifier: its own verdict format, read by its own `verdicts`. */
const signs = Verifier.Verifier.of({
  prompt: (request) => unused(request.problem.id),
  example: (request) => unused(request.problem.id),
  score: (request) => unused(request.problem.id),
  verdicts: (text, routeIds) => {
    const marks = /^verdicts: ([+-]*)$/m.exec(text)?.[1] ?? ""
    return routeIds.map((routeId, i) =>
      marks[i] === "+"
        ? { routeId, verdict: "correct" }
        : marks[i] === "-"
          ? { routeId, verdict: "wrong", step: 1 }
          : { routeId, verdict: "missing" }
    )
  }
})

describe("ReportJob", () => {
  it.effect("shows the verdicts the verifier in context reads, beside the routes' labels", () =>
    Effect.gen(function* () {
      const data = yield* ReportJob.collect(runDir("custom"), "test").pipe(
        Effect.provide(Layer.succeed(Verifier.Verifier, signs))
      )
      assert.strictEqual(data.examples.length, 1)
      assert.deepStrictEqual(data.examples[0]?.verdicts, [
        { route: "A", label: "positive", predicted: "correct" },
        { route: "B", label: "negative", predicted: "wrong", namedStep: 1, decisiveStep: 1 }
      ])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("shows no verdicts when the verifier has no verdict reader", () =>
    Effect.gen(function* () {
      const { verdicts: _v, ...withoutReader } = signs
      const data = yield* ReportJob.collect(runDir("no-reader"), "test").pipe(
        Effect.provide(Layer.succeed(Verifier.Verifier, Verifier.Verifier.of(withoutReader)))
      )
      assert.deepStrictEqual(data.examples[0]?.verdicts, [])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("the built-in verifier (a run without an eval manifest) reads MRPV verdict lines", () =>
    Effect.gen(function* () {
      const dir = runDir("builtin")
      const results = join(dir, "eval", "results.json")
      writeFileSync(
        results,
        readFileSync(results, "utf8").replace(
          JSON.stringify(completion).slice(1, -1),
          "Route A: correct\\nRoute B: wrong at step 1\\nStep 1: 2 + 2 = 4\\nAnswer: 4"
        )
      )
      const data = yield* ReportJob.collect(dir, "test").pipe(Effect.provide(yield* ReportJob.recordedVerifier(dir)))
      assert.deepStrictEqual(data.examples[0]?.verdicts, [
        { route: "A", label: "positive", predicted: "correct" },
        { route: "B", label: "negative", predicted: "wrong", namedStep: 1, decisiveStep: 1 }
      ])
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
