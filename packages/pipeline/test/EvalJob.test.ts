/**
 * `EvalJob`: a tiny from-scratch checkpoint evaluated on parcel test problems with rule-teacher routes, in both
 * modes; labels, defaults, the written results file, seeded reproducibility, the samples override, and the typed
 * failures (assisted without routes, a bad problems line, routes of other problems, missing files, bad settings).
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { beforeAll } from "vitest"
import { Effect, Schema } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EvalResult, Problem } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { ParcelDomain } from "@realm-lm/tasks"
import * as EvalJob from "../src/EvalJob.ts"
import type { PipelineConfig } from "../src/PipelineConfig.ts"
import { corpusAndCheckpoint } from "./support.ts"

const count = 5
const dir = mkdtempSync(join(tmpdir(), "realm-evaljob-"))
const files = {
  problems: join(dir, "problems", "test.jsonl"),
  others: join(dir, "problems", "heldout.jsonl"),
  routes: join(dir, "corpus", "corpus.jsonl"),
  checkpoint: join(dir, "tiny")
}
/** Short generations keep the test fast; the verifier's compact prompts fit the tiny model's context. */
const config: PipelineConfig = {
  verifier: { use: "mrpv", with: { style: "compact" } },
  evaluator: { use: "default", with: { samples: 2, maxNewTokens: 6 } }
}

/** Problems of two splits, the test split's routes from the rule teacher, and a random-weight checkpoint. */
const setup = Effect.gen(function* () {
  const parcel = ParcelDomain.make(
    ParcelDomain.decodeConfig({
      levels: [1, 2],
      counts: { train: 0, validation: 0, test: count, heldout: 2, transfer: 0 }
    })
  )
  mkdirSync(join(dir, "problems"), { recursive: true })
  yield* Jsonl.writeAll(files.others, Problem.Problem, parcel.problems("heldout"))
  const summary = yield* corpusAndCheckpoint({
    dir,
    problemsFile: files.problems,
    problems: parcel.problems("test"),
    routesPerProblem: 3,
    negativesPerProblem: 1,
    checkpoint: files.checkpoint
  })
  assert.strictEqual(summary.records, count)
}).pipe(Effect.provide(NodeServices.layer))

/** A job on the shared files; results go to a fresh temporary file unless `defaultOut`. */
const job = (overrides: Partial<EvalJob.EvalJob> = {}, defaultOut = false): EvalJob.EvalJob => ({
  checkpoint: files.checkpoint,
  problems: files.problems,
  config,
  baseDir: dir,
  ...(defaultOut ? {} : { out: join(mkdtempSync(join(tmpdir(), "realm-evaljob-out-")), "results.json") }),
  ...overrides
})

const run = (j: EvalJob.EvalJob) => EvalJob.run(j).pipe(Effect.provide(NodeServices.layer))

describe("EvalJob", () => {
  beforeAll(() => Effect.runPromise(setup), 120_000)

  it.effect(
    "evaluates every problem in both modes: assisted prompts show routes, autonomous ones none; results written as returned",
    () =>
      Effect.gen(function* () {
        const progress: Array<string> = []
        const { results, file } = yield* run(
          job(
            {
              routes: files.routes,
              onEvaluated: (done, total, r) => Effect.sync(() => progress.push(`${done}/${total} ${r.mode}`))
            },
            true
          )
        )
        assert.deepStrictEqual(
          results.map((r) => r.mode),
          ["assisted", "autonomous"]
        )
        assert.deepStrictEqual(progress, ["1/2 assisted", "2/2 autonomous"])
        for (const r of results) {
          assert.strictEqual(r.method, "tiny")
          assert.strictEqual(r.split, "test")
          assert.strictEqual(r.task, "parcel")
          assert.strictEqual(r.checkpoint, files.checkpoint)
          assert.strictEqual(r.samples, 2)
          assert.strictEqual(r.outcomes.length, count)
          for (const e of [r.accuracy, ...Object.values(r.metrics)]) {
            assert.isTrue(e.low >= 0 && e.low <= e.value && e.value <= e.high && e.high <= 1, JSON.stringify(e))
          }
          for (const o of r.outcomes) {
            assert.strictEqual(o.answers.length, 2)
            assert.strictEqual(o.correct.length, 2)
            const shown = o.prompt?.guidance.routeIds.length ?? -1
            if (r.mode === "assisted") assert.isTrue(shown >= 1 && shown <= 3, `${o.problemId}: ${shown} routes shown`)
            else assert.strictEqual(shown, 0)
          }
        }
        assert.property(results[0]?.metrics, "route-verdict accuracy")
        // Default output next to the checkpoint, in the pipeline's results.json format.
        assert.strictEqual(file, join(files.checkpoint, "eval-test.json"))
        const written = Schema.decodeUnknownSync(Schema.Array(EvalResult.EvalResult))(
          JSON.parse(readFileSync(file, "utf8"))
        )
        assert.deepStrictEqual(written, results)
      })
  )

  it.effect(
    "without routes only autonomous runs; the same inputs give the same results; samples overrides the config",
    () =>
      Effect.gen(function* () {
        const first = yield* run(job({ method: "mine" }))
        assert.deepStrictEqual(
          first.results.map((r) => [r.method, r.mode]),
          [["mine", "autonomous"]]
        )
        const again = yield* run(job({ method: "mine" }))
        assert.deepStrictEqual(again.results, first.results)
        assert.deepStrictEqual(
          JSON.parse(readFileSync(again.file, "utf8")),
          JSON.parse(readFileSync(first.file, "utf8"))
        )
        const three = yield* run(job({ samples: 3, split: "custom" }))
        const [r] = three.results
        assert.strictEqual(r?.samples, 3)
        assert.strictEqual(r?.split, "custom")
        assert.isTrue(r?.outcomes.every((o) => o.answers.length === 3))
        // The greedy first sample does not depend on k.
        assert.deepStrictEqual(
          r?.outcomes.map((o) => o.texts?.[0]),
          first.results[0]?.outcomes.map((o) => o.texts?.[0])
        )
      })
  )

  it.effect(
    "runs as the pipeline's eval stage: a manifest next to the results file, an unchanged re-run skipped, other settings evaluated again",
    () =>
      Effect.gen(function* () {
        const out = join(mkdtempSync(join(tmpdir(), "realm-evaljob-cache-")), "cached.json")
        const evaluated: Array<string> = []
        const onEvaluated = (_: number, __: number, r: EvalResult.EvalResult) =>
          Effect.sync(() => evaluated.push(`${r.samples}`))
        const first = yield* run(job({ out, onEvaluated }))
        const manifest = JSON.parse(readFileSync(join(`${out}.stage`, "manifest.json"), "utf8")) as {
          status: string
          outputs: Array<{ path: string }>
          inputs: Array<{ path: string }>
        }
        assert.strictEqual(manifest.status, "complete")
        assert.deepStrictEqual(
          manifest.outputs.map((o) => o.path),
          ["../cached.json"]
        )
        assert.include(manifest.inputs.map((i) => i.path).join(" "), "model.safetensors")
        assert.deepStrictEqual(evaluated, ["2"])
        const again = yield* run(job({ out, onEvaluated }))
        assert.deepStrictEqual(
          evaluated,
          ["2"],
          "an unchanged checkpoint, problems and settings are not evaluated again"
        )
        assert.deepStrictEqual(again.results, first.results)
        yield* run(job({ out, onEvaluated, samples: 3 }))
        assert.deepStrictEqual(evaluated, ["2", "3"])
      })
  )

  it.effect("assisted mode without a routes file fails with EvalRoutesMissing naming --routes", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(run(job({ modes: ["assisted"] })))
      assert.strictEqual(error._tag, "EvalRoutesMissing")
      assert.include(error.message, "add --routes <corpus.jsonl>")
      assert.include(error.message, files.problems)
    })
  )

  it.effect(
    "a line that is not a Problem record fails with its file and line number, and how to make Problem records",
    () =>
      Effect.gen(function* () {
        const bad = join(mkdtempSync(join(tmpdir(), "realm-evaljob-bad-")), "test.jsonl")
        const lines = readFileSync(files.problems, "utf8").trim().split("\n").slice(0, 2)
        writeFileSync(bad, `${lines.join("\n")}\n{"id": "parcel/test/x", "question": "no gold"}\n`)
        const error = yield* Effect.flip(run(job({ problems: bad })))
        assert.strictEqual(error._tag, "ProblemsFileInvalid")
        if (error._tag !== "ProblemsFileInvalid") return
        assert.strictEqual(error.line, 3)
        assert.strictEqual(error.path, bad)
        assert.include(error.message, `${bad}:3: not a core Problem record (Missing key at ["domain"])`)
        assert.include(error.message, "realm problems tasks.yaml --split train --out problems.jsonl")
      })
  )

  it.effect(
    "routes of other problems, a missing problems file and invalid evaluator settings fail before evaluating, naming the path",
    () =>
      Effect.gen(function* () {
        const mismatch = yield* Effect.flip(run(job({ problems: files.others, routes: files.routes })))
        assert.strictEqual(mismatch._tag, "EvalInputInvalid")
        assert.include(mismatch.message, `${files.routes}: none of the 2 problems of ${files.others} has routes here`)
        const missing = yield* Effect.flip(run(job({ problems: join(dir, "nope.jsonl") })))
        assert.strictEqual(missing._tag, "EvalInputInvalid")
        assert.include(missing.message, "nope.jsonl: problems file not found")
        const zero = yield* Effect.flip(run(job({ samples: 0 })))
        assert.strictEqual(zero._tag, "PipelineInvalid")
        assert.match(zero.message, /evaluator\.with: .*samples/s)
      })
  )

  it.effect(
    "an endpoint is merged into evaluator.with.endpoint; a checkpoint and an endpoint together, or neither, fail with EvalTargetInvalid",
    () =>
      Effect.gen(function* () {
        const merged = EvalJob.withEndpoint(
          { evaluator: { use: "default", with: { samples: 2, endpoint: { maxRetries: 1 } } } },
          { baseUrl: "http://127.0.0.1:9/v1", model: "m", concurrency: 2 }
        )
        assert.deepStrictEqual(merged.evaluator?.with, {
          samples: 2,
          endpoint: { maxRetries: 1, baseUrl: "http://127.0.0.1:9/v1", model: "m", concurrency: 2 }
        })
        assert.deepStrictEqual(EvalJob.endpointOf(merged), { baseUrl: "http://127.0.0.1:9/v1", model: "m" })
        assert.strictEqual(EvalJob.endpointOf(config), undefined)
        const both = yield* Effect.flip(run(job({ endpoint: { baseUrl: "http://127.0.0.1:9/v1", model: "m" } })))
        assert.strictEqual(both._tag, "EvalTargetInvalid")
        assert.include(both.message, "give either a checkpoint directory")
        const { checkpoint: _, ...withoutCheckpoint } = job()
        const neither = yield* Effect.flip(run(withoutCheckpoint))
        assert.strictEqual(neither._tag, "EvalTargetInvalid")
        assert.include(neither.message, "--endpoint URL --model NAME")
      })
  )

  it("labels a trainer's final directory by the directory it was trained into, any other by its name", () => {
    assert.strictEqual(EvalJob.methodLabel("runs/demo/sft/final"), "sft")
    assert.strictEqual(EvalJob.methodLabel("/models/SmolLM2-135M/"), "SmolLM2-135M")
    assert.deepStrictEqual(EvalJob.modesOf({ modes: ["autonomous", "assisted"] }), ["assisted", "autonomous"])
    assert.deepStrictEqual(EvalJob.modesOf({ routes: "r.jsonl" }), ["assisted", "autonomous"])
    assert.deepStrictEqual(EvalJob.modesOf({}), ["autonomous"])
  })
})
