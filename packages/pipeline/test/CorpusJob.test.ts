/**
 * `CorpusJob.run` treats every teacher alike: a user's teacher that declares a `description` and `settings` (as the
 * HTTP teacher does) has them recorded in the manifest and compared by the resume check, with no per-teacher branch.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { RunDir } from "@realm-lm/core/node"
import * as CorpusJob from "../src/CorpusJob.ts"

const root = mkdtempSync(join(tmpdir(), "realm-corpus-job-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const fixtures = join(import.meta.dirname, "fixtures")

const toyProblems = Array.from({ length: 3 }, (_, i) => ({
  id: `toy/${i}`,
  domain: "toy",
  question: `What is ${i} + ${i}?`,
  rulebook: "Add.",
  gold: String(2 * i),
  answerType: "number",
  difficulty: 1,
  split: "train",
  metadata: {}
}))

describe("CorpusJob with a teacher that describes itself", () => {
  it.effect(
    "records the teacher's description in the manifest and refuses to resume under other teacher settings",
    () =>
      Effect.gen(function* () {
        const out = join(root, "described")
        const problems = join(root, "problems.jsonl")
        writeFileSync(problems, toyProblems.map((p) => `${JSON.stringify(p)}\n`).join(""))
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
