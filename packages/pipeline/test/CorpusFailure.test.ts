/**
 * A corpus build that failed is not trained on: a pipeline whose every teacher request failed stops at its corpus
 * stage (manifest `failed`, nothing after it runs). `realm corpus build`'s job checks a strict problems file before
 * writing anything, and base URLs the HTTP teacher cannot use are config problems at check time.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { RunDir } from "@realm-lm/core/node"
import { Problems } from "@realm-lm/test-support"
import * as CorpusJob from "../src/CorpusJob.ts"
import * as Pipeline from "../src/Pipeline.ts"
import * as PipelineConfig from "../src/PipelineConfig.ts"
import { fixtures, tempRoot } from "./support.ts"

const root = tempRoot("realm-corpus-failure-")
const toyProblems = Problems.toyProblems(4)

const tasks = {
  use: "parcel",
  with: { levels: [1, 2], counts: { train: 6, validation: 0, test: 2, heldout: 0, transfer: 0 } }
}

describe("a failed corpus build", () => {
  it.effect("stops a pipeline at its corpus stage: manifest failed, nothing trained", () =>
    Effect.gen(function* () {
      const runDir = join(root, "pipeline")
      const stages: Array<string> = []
      const error = yield* Effect.flip(
        Pipeline.run(
          {
            run: { seed: 0, runDir },
            methods: ["sft"],
            evaluation: { splits: ["test"] },
            tasks,
            teacher: { use: "./unauthorized-teacher.ts" },
            corpus: { routesPerProblem: 2, negativesPerProblem: 0, minNegatives: 0 }
          },
          fixtures,
          { stage: (name, outcome) => Effect.sync(() => void stages.push(`${name}:${outcome}`)) }
        )
      )
      const failed = error as { readonly _tag: string; readonly stage: string; readonly detail: string }
      assert.strictEqual(failed._tag, "StageFailed")
      assert.strictEqual(failed.stage, "corpus")
      assert.match(failed.detail, /^corpus build failed: 6 of 6 problems failed \(unavailable 6\); first: .*HTTP 401/)
      assert.strictEqual((yield* RunDir.readManifest(runDir, "corpus"))?.status, "failed")
      assert.deepStrictEqual(
        stages.filter((s) => s.endsWith(":start")),
        ["problems:start", "corpus:start"]
      )
      assert.deepStrictEqual(readdirSync(runDir).toSorted(), ["corpus", "problems", "run.json"])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("CorpusJob.requireComplete refuses a failed build's summary, naming the corpus directory", () =>
    Effect.gen(function* () {
      const out = join(root, "job")
      const problems = join(root, "job-problems.jsonl")
      writeFileSync(problems, Problems.jsonl(toyProblems))
      const summary = yield* CorpusJob.run({
        out,
        problems: { file: problems, policy: "strict" },
        teacher: { use: "./unauthorized-teacher.ts" },
        settings: { negativesPerProblem: 0, minNegatives: 0 },
        baseDir: fixtures
      })
      assert.strictEqual(summary.status, "failed")
      const refused = yield* Effect.flip(CorpusJob.requireComplete(summary, out))
      assert.strictEqual(refused._tag, "CorpusIncomplete")
      assert.include(refused.message, join(out, "corpus", "failures.jsonl"))
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("CorpusJob input checks", () => {
  it.effect("with policy strict, a bad problems line fails before any output is written", () =>
    Effect.gen(function* () {
      const out = join(root, "strict")
      const problems = join(root, "bad-problems.jsonl")
      const good = toyProblems.map((p) => JSON.stringify(p))
      writeFileSync(problems, `${good[0]}\n${good[1]}\n{"id": "half a record"\n${good[2]}\n`)
      const error = (yield* Effect.flip(
        CorpusJob.run({
          out,
          problems: { file: problems, policy: "strict" },
          teacher: { use: "rule" },
          settings: {},
          baseDir: fixtures
        })
      )) as { readonly _tag: string; readonly message: string }
      assert.strictEqual(error._tag, "MalformedLine")
      assert.match(error.message, /bad-problems\.jsonl:3: invalid JSON/)
      assert.isFalse(existsSync(out), "no partial output")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("HTTP teacher base URLs at config-check time", () => {
  it.effect("credentials or a query string in baseUrl are problems under teacher.with, saying what to do", () =>
    Effect.gen(function* () {
      const check = (baseUrl: string) =>
        PipelineConfig.validate({ teacher: { use: "http", with: { baseUrl, model: "m" } } }, fixtures)
      const credentials = yield* check("https://user:pw-9f8e@api.example.com/v1")
      assert.deepStrictEqual(
        credentials.map((p) => p.path),
        ["teacher.with"]
      )
      assert.include(credentials[0]?.detail, "must not carry credentials")
      assert.include(credentials[0]?.detail, "apiKeyEnv")
      assert.notInclude(credentials[0]?.detail, "pw-9f8e")
      const query = yield* check("https://api.example.com/v1?api-version=1")
      assert.deepStrictEqual(
        query.map((p) => p.path),
        ["teacher.with"]
      )
      assert.include(query[0]?.detail, "must not have a query string (?...): remove it")
      assert.deepStrictEqual(yield* check("https://api.example.com/v1"), [])
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
