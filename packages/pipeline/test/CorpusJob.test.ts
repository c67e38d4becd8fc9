/**
 * `CorpusJob.run` treats every teacher alike: a user's teacher that declares a `description` and `settings` (as the
 * HTTP teacher does) has them recorded in the manifest and compared by the resume check, with no per-teacher branch.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { RunDir } from "@realm-lm/core/node"
import { Problems } from "@realm-lm/test-support"
import * as CorpusJob from "../src/CorpusJob.ts"
import { fixtures, tempRoot } from "./support.ts"

const root = tempRoot("realm-corpus-job-")
const toyProblems = Problems.toyProblems(3)

describe("CorpusJob with a teacher that describes itself", () => {
  it.effect(
    "records the teacher's description in the manifest and refuses to resume under other teacher settings",
    () =>
      Effect.gen(function* () {
        const out = join(root, "described")
        const problems = join(root, "problems.jsonl")
        writeFileSync(problems, Problems.jsonl(toyProblems))
        const job = (model: string): CorpusJob.CorpusJob => ({
          out,
          problems: { file: problems, policy: "strict" },
          teacher: { use: "./described-teacher.ts", with: { model } },
          settings: { routesPerProblem: 1, negativesPerProblem: 0, minNegatives: 0 },
          baseDir: fixtures
        })
        const summary = yield* CorpusJob.run(job("small"))
        assert.strictEqual(summary.status, "complete")
        const manifest = yield* RunDir.readManifest(out, "corpus")
        const config = manifest?.config as {
          readonly teacher: unknown
          readonly corpus: { readonly teacherSettings: unknown }
        }
        assert.deepStrictEqual(config.teacher, {
          kind: "remote",
          model: "small",
          baseUrl: "https://teacher.invalid/v1"
        })
        assert.deepStrictEqual(config.corpus.teacherSettings, { model: "small" })
        const build = JSON.parse(readFileSync(join(out, "corpus", "build.json"), "utf8")) as {
          readonly content: { readonly teacherSettings: unknown }
        }
        assert.deepStrictEqual(build.content.teacherSettings, { model: "small" })
        // The same teacher with another model writes other routes: not mixed into this corpus.
        const mismatch = yield* Effect.flip(CorpusJob.run(job("large")))
        assert.strictEqual((mismatch as { readonly _tag: string })._tag, "ResumeMismatch")
      }).pipe(Effect.provide(NodeServices.layer))
  )
})
