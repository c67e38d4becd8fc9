/**
 * The chat-template date of a run: pinned in `<runDir>/run.json` on first use (the day, or `run.templateDate`),
 * kept on later days, refused when the config asks for another, provided to every stage as `Prompt.TemplateDate`
 * and recorded in each stage manifest.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Prompt } from "@realm-lm/core"
import { RunDir } from "@realm-lm/core/node"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Pipeline from "../src/Pipeline.ts"
import * as TemplateDate from "../src/TemplateDate.ts"

const fresh = () => mkdtempSync(join(tmpdir(), "realm-template-date-"))

describe("TemplateDate", () => {
  it.effect("pins the first day a run directory is used and keeps it on later days", () =>
    Effect.gen(function* () {
      const runDir = join(fresh(), "run")
      yield* TestClock.setTime(Date.UTC(2026, 11, 5, 23, 30))
      assert.strictEqual(yield* TemplateDate.pin(runDir, undefined), "05 Dec 2026")
      assert.deepStrictEqual(JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")), {
        templateDate: "05 Dec 2026"
      })
      yield* TestClock.setTime(Date.UTC(2027, 0, 9))
      assert.strictEqual(yield* TemplateDate.pin(runDir, undefined), "05 Dec 2026")
      assert.strictEqual(yield* TemplateDate.pin(runDir, "05 Dec 2026"), "05 Dec 2026")
      const conflict = yield* Effect.flip(TemplateDate.pin(runDir, "09 Jan 2027"))
      assert.strictEqual(conflict._tag, "TemplateDateConflict")
      assert.include(
        conflict.message,
        `${join(runDir, "run.json")} pins the chat-template date of this run to "05 Dec 2026"`
      )
      assert.include(conflict.message, "use a new run directory")
      assert.strictEqual(yield* TemplateDate.pin(join(fresh(), "other"), "01 Jan 2025"), "01 Jan 2025")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it("formats a day as strftime %d %b %Y in UTC", () => {
    assert.strictEqual(Prompt.formatTemplateDate(new Date(Date.UTC(2024, 6, 26, 12))), "26 Jul 2024")
    assert.strictEqual(Prompt.formatTemplateDate(new Date(Date.UTC(2026, 0, 3))), "03 Jan 2026")
  })

  it.effect("a pipeline run provides its date to every stage and records it in run.json and the manifests", () =>
    Effect.gen(function* () {
      const dir = fresh()
      const runDir = join(dir, "run")
      const config = {
        run: { runDir, templateDate: "14 Mar 2025" },
        tasks: { use: join(import.meta.dirname, "fixtures", "dated-tasks.ts") },
        evaluation: { splits: ["test" as const] }
      }
      // The rule teacher serves only built-in domains, so the run stops at its corpus stage, after the problems.
      const error = (yield* Effect.flip(Pipeline.run(config, dir))) as { readonly _tag: string }
      assert.strictEqual(error._tag, "StageFailed")
      const problem = JSON.parse(readFileSync(join(runDir, "problems", "train.jsonl"), "utf8").trim()) as {
        question: string
      }
      assert.strictEqual(problem.question, "Today is 14 Mar 2025.")
      assert.strictEqual((yield* RunDir.readManifest(runDir, "problems"))?.templateDate, "14 Mar 2025")
      assert.deepStrictEqual(JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")), {
        templateDate: "14 Mar 2025"
      })
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
