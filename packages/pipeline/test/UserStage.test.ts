/**
 * Stages as values: a user's stage inserted between the corpus and training (from the config's `stages:` and from
 * code) runs in order, hands its filtered corpus to the base model and training, and is skipped on a re-run; an
 * order where a stage needs what nothing before it gives is refused before any work.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { CorpusRecord } from "@realm-lm/core"
import { Jsonl, RunDir } from "@realm-lm/core/node"
import { Effect, Schema, Stream } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse } from "yaml"
import * as Pipeline from "../src/Pipeline.ts"
import * as PipelineConfig from "../src/PipelineConfig.ts"
import * as PipelineStage from "../src/PipelineStage.ts"
import * as Stages from "../src/Stages.ts"

const example = join(import.meta.dirname, "..", "..", "..", "examples", "custom-stage")
const config = (runDir: string): PipelineConfig.PipelineConfig => ({
  ...parse(readFileSync(join(example, "pipeline.yaml"), "utf8")),
  run: { seed: 0, runDir }
})
const records = (file: string) =>
  Effect.map(Stream.runCollect(Jsonl.read(file, CorpusRecord.CorpusRecord)), (rs) => Array.from(rs))

layer(NodeServices.layer)("user stages", (it) => {
  it.effect(
    "a config's stage between corpus and train filters the corpus that the base model and training read",
    () =>
      Effect.gen(function* () {
        const runDir = mkdtempSync(join(tmpdir(), "realm-user-stage-"))
        const seen: Array<string> = []
        const hooks = {
          stage: (name: string, outcome: string) => Effect.sync(() => void seen.push(`${name}:${outcome}`))
        }
        const result = yield* Pipeline.run(config(runDir), example, hooks)
        const order = seen.filter((s) => s.endsWith(":start")).map((s) => s.split(":")[0])
        assert.deepStrictEqual(order, ["problems", "corpus", "routes-test", "drop-hard", "base", "sft", "eval"])
        const built = yield* records(join(runDir, "corpus", "corpus.jsonl"))
        const kept = yield* records(join(runDir, "drop-hard", "corpus.jsonl"))
        assert.isTrue(
          built.some((r) => r.problem.difficulty > 1),
          "the built corpus has level-2 problems"
        )
        assert.isTrue(kept.length > 0 && kept.every((r) => r.problem.difficulty <= 1))
        assert.strictEqual(result.artifacts.corpus, join(runDir, "drop-hard", "corpus.jsonl"))
        // The base model and training read the filtered corpus (their manifests hash it as their input).
        for (const stage of ["base", "sft"]) {
          const manifest = yield* RunDir.readManifest(runDir, stage)
          const inputs = manifest?.inputs.map((i) => i.path) ?? []
          assert.isTrue(
            inputs.includes("drop-hard/corpus.jsonl") && !inputs.includes("corpus/corpus.jsonl"),
            `${stage}: ${inputs.join(", ")}`
          )
        }
        assert.strictEqual(result.results.length, 2)
        // A re-run skips every stage, the user's included.
        seen.length = 0
        yield* Pipeline.run(config(runDir), example, hooks)
        assert.deepStrictEqual(
          seen.filter((s) => s.endsWith(":ran")),
          []
        )
        assert.include(seen, "drop-hard:skipped")
      }),
    300_000
  )

  it.effect(
    "a stage inserted from code sees what earlier stages gave; a stage placed before what it needs is refused",
    () =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        const probe = PipelineStage.define({
          name: "probe",
          needs: ["corpus", "routes"],
          gives: [],
          run: (_ctx, input) =>
            Effect.sync(() => {
              seen.push(input.corpus, ...Object.keys(input.routes))
              return {}
            })
        })
        const stages = PipelineStage.insertAfter([Stages.problems, Stages.corpus], "corpus", probe)
        assert.isTrue(Array.isArray(stages))
        if (!Array.isArray(stages)) return
        const runDir = mkdtempSync(join(tmpdir(), "realm-user-stage-code-"))
        const { stages: _own, ...rest } = config(runDir)
        yield* Pipeline.run(rest, example, {}, { stages })
        assert.deepStrictEqual(seen, [join(runDir, "corpus", "corpus.jsonl"), "train", "test"])
        const early = PipelineStage.insertBefore([Stages.problems, Stages.corpus], "corpus", probe)
        assert.isTrue(Array.isArray(early))
        const error = yield* Effect.flip(
          Pipeline.run(rest, example, {}, { stages: early as Array<PipelineStage.AnyStage> })
        )
        assert.strictEqual(error._tag, "PipelineOrderInvalid")
        assert.include(error.message, `pipeline stage "probe": needs corpus, routes, which no earlier stage gives`)
        const missing = PipelineStage.insertAfter(Stages.builtins, "nowhere", probe)
        assert.instanceOf(missing, PipelineStage.PipelineOrderInvalid)
      }),
    120_000
  )

  it.effect("a corpusTransform whose write fails fails its stage, naming it and keeping the cause", () =>
    Effect.gen(function* () {
      const failing = PipelineStage.corpusTransform({
        name: "broken-filter",
        implementation: "test/broken-filter",
        config: Schema.Struct({ level: Schema.Int }),
        settings: { level: 1 },
        write: (input) => Effect.fail(new Error(`cannot read ${input}: EACCES`))
      })
      const stages = PipelineStage.insertAfter([Stages.problems, Stages.corpus], "corpus", failing)
      if (!Array.isArray(stages)) return assert.fail(stages.message)
      const runDir = mkdtempSync(join(tmpdir(), "realm-user-stage-fail-"))
      const { stages: _own, ...rest } = config(runDir)
      const error = yield* Effect.flip(Pipeline.run(rest, example, {}, { stages }))
      assert.strictEqual(error._tag, "StageFailed")
      assert.include(
        error.message,
        `stage "broken-filter" failed: cannot read ${join(runDir, "corpus", "corpus.jsonl")}: EACCES`
      )
      assert.instanceOf((error as { cause?: unknown }).cause, Error)
    })
  )

  it.effect("config check names a stage module that is missing or exports no stage, with its path", () =>
    Effect.gen(function* () {
      const missing = yield* PipelineConfig.validate({ stages: [{ use: "./nope.ts" }] }, example, "locate")
      assert.deepStrictEqual(
        missing.map((p) => p.path),
        ["stages[0].use"]
      )
      assert.include(missing[0]?.detail, "no such file")
      const fixtures = join(import.meta.dirname, "fixtures")
      const noStage = yield* PipelineConfig.validate({ stages: [{ use: "./no-export.ts" }] }, fixtures, "load")
      assert.deepStrictEqual(
        noStage.map((p) => p.path),
        ["stages[0].use"]
      )
      assert.include(noStage[0]?.detail, "exports no `stage`")
    })
  )
})
