/**
 * `TrainJob` (`realm train`) as the pipeline's train stage with one run: a tiny from-scratch checkpoint trained two
 * SFT steps on a rule-teacher corpus writes a manifest and `result.json` into its out directory, an unchanged re-run
 * is skipped, `resume: false` trains again; a traced run shows the spans of the job, the runner, the stage, its step
 * and the services' entry points; a trainer failure reaches the caller with its original typed error (`StageFailed` →
 * core `TrainerError` → the trainer's `TrainingDataError`).
 */
import { NodeServices } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { beforeAll } from "vitest"
import { Effect, Option, Predicate, Tracer } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PolicyTrainer } from "@realm-lm/core"
import { ParcelDomain } from "@realm-lm/tasks"
import { TrainerErrors } from "@realm-lm/trainer"
import type { PipelineConfig } from "../src/PipelineConfig.ts"
import * as Methods from "../src/Methods.ts"
import * as Pipeline from "../src/Pipeline.ts"
import { StageFailed } from "../src/Stage.ts"
import * as TrainJob from "../src/TrainJob.ts"
import * as TrainStage from "../src/TrainStage.ts"
import * as Wiring from "../src/Wiring.ts"
import { corpusAndCheckpoint } from "./support.ts"

const dir = mkdtempSync(join(tmpdir(), "realm-trainjob-"))
const files = {
  problems: join(dir, "problems", "train.jsonl"),
  corpus: join(dir, "corpus", "corpus.jsonl"),
  checkpoint: join(dir, "tiny")
}
const config: PipelineConfig = {
  verifier: { use: "mrpv", with: { style: "compact" } },
  trainer: { use: "onnx", with: { sft: { steps: 2, batchSize: 2, evalEvery: 0 } } }
}

/** Train problems, their rule-teacher corpus and a random-weight checkpoint. */
const setup = Effect.gen(function* () {
  const parcel = ParcelDomain.make(
    ParcelDomain.decodeConfig({ levels: [1], counts: { train: 4, validation: 0, test: 0, heldout: 0, transfer: 0 } })
  )
  yield* corpusAndCheckpoint({
    dir,
    problemsFile: files.problems,
    problems: parcel.problems("train"),
    routesPerProblem: 2,
    negativesPerProblem: 0,
    checkpoint: files.checkpoint
  })
}).pipe(Effect.provide(NodeServices.layer))

const run = (job: Partial<TrainJob.TrainJob> & { readonly outDir: string }) =>
  TrainJob.run({
    phase: "sft",
    init: files.checkpoint,
    corpus: files.corpus,
    resume: true,
    config,
    baseDir: dir,
    ...job
  })

const metricLines = (out: string) => readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").length

layer(NodeServices.layer)("TrainJob", (it) => {
  beforeAll(() => Effect.runPromise(setup), 120_000)

  it.effect(
    "runs the train stage's step into --out with a manifest; an unchanged re-run is skipped, resume: false trains again",
    () =>
      Effect.gen(function* () {
        const out = join(dir, "runs", "sft")
        const steps: Array<number> = []
        const ref = yield* run({ outDir: out, onProgress: (e) => Effect.sync(() => steps.push(e.done)) })
        assert.strictEqual(ref.step, 2)
        assert.isAbove(steps.length, 0)
        const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
          stage: string
          status: string
          inputs: Array<{ path: string }>
        }
        assert.deepStrictEqual([manifest.stage, manifest.status], ["sft", "complete"])
        // The corpus and the starting checkpoint's files, relative to the run directory (the parent of --out).
        assert.includeMembers(
          manifest.inputs.map((i) => i.path),
          ["../corpus/corpus.jsonl", "../tiny/config.json", "../tiny/model.safetensors"]
        )
        assert.deepStrictEqual(
          JSON.parse(readFileSync(join(out, "result.json"), "utf8")),
          JSON.parse(JSON.stringify(ref))
        )
        const lines = metricLines(out)
        const resumed: Array<number> = []
        const again = yield* run({ outDir: out, onProgress: (e) => Effect.sync(() => resumed.push(e.done)) })
        assert.deepStrictEqual(again, ref)
        assert.deepStrictEqual(resumed, [])
        assert.strictEqual(
          metricLines(out),
          lines,
          "a finished run with the same settings and inputs is not trained again"
        )
        const retrained: Array<number> = []
        const fresh = yield* run({
          outDir: out,
          resume: false,
          onProgress: (e) => Effect.sync(() => retrained.push(e.done))
        })
        assert.strictEqual(fresh.step, 2)
        assert.isAbove(retrained.length, 0, "resume: false trains again")
        assert.strictEqual(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")).status, "complete")
      }),
    120_000
  )

  it.effect(
    "an SFT run is skipped when only RL settings or the curriculum change (the phase's stage hash), not when SFT's do",
    () =>
      Effect.gen(function* () {
        const out = join(dir, "runs", "sft-phase-hash")
        // A skipped stage leaves its manifest as it was; a run (even one that resumes a finished checkpoint) rewrites it.
        const manifest = () => readFileSync(join(out, "manifest.json"), "utf8")
        const trained = (settings: PipelineConfig) =>
          Effect.gen(function* () {
            const before = manifest()
            yield* Effect.promise(() => new Promise((done) => setTimeout(done, 5)))
            yield* run({ outDir: out, config: settings })
            return manifest() !== before
          })
        yield* run({ outDir: out, config })
        const rlChanged: PipelineConfig = {
          ...config,
          trainer: { use: "onnx", with: { sft: { steps: 2, batchSize: 2, evalEvery: 0 }, rl: { steps: 7 } } },
          curriculum: { use: "eaai", with: { rescue: { hintFraction: 0.9 } } }
        }
        assert.isFalse(yield* trained(rlChanged), "RL settings and the curriculum are not what SFT reads")
        const sftChanged: PipelineConfig = {
          ...config,
          trainer: { use: "onnx", with: { sft: { steps: 2, batchSize: 2, evalEvery: 0, lr: { peak: 0.0005 } } } }
        }
        // Not skipped: `realm train` resumes the run's directory, and the trainer refuses another config's checkpoints.
        const refused = yield* Effect.flip(trained(sftChanged))
        assert.isTrue(
          Predicate.isTagged(refused, "TrainerError") && Predicate.isTagged(refused.cause, "CheckpointMismatch"),
          `a change to SFT's own settings is not skipped: ${String(refused)}`
        )
      }),
    120_000
  )

  it.effect(
    "a traced run shows spans for the job, the runner, its stage and step, and each service entry point, nested",
    () =>
      Effect.gen(function* () {
        const spans: Array<Tracer.NativeSpan> = []
        const tracer = Tracer.make({
          span(options) {
            const span = new Tracer.NativeSpan(options)
            spans.push(span)
            return span
          }
        })
        yield* run({ outDir: join(dir, "runs", "traced") }).pipe(Effect.withTracer(tracer))
        const byName = new Map(spans.map((s) => [s.name, s]))
        const expected = [
          "pipeline.TrainJob.run",
          "pipeline.runIn",
          "pipeline/train sft",
          "stage/traced",
          "mrpv.Verifier.make",
          "eaai.Curriculum.make",
          "trainer.sft"
        ]
        assert.includeMembers([...byName.keys()], expected)
        // The trainer's span sits inside its step's, which sits inside the stage's, inside the job's.
        const ancestors = (span: Tracer.AnySpan | undefined): Array<string> => {
          const out: Array<string> = []
          for (
            let at = span;
            at !== undefined;
            at = Option.getOrUndefined(at._tag === "Span" ? at.parent : Option.none())
          )
            if (at._tag === "Span") out.push(at.name)
          return out
        }
        assert.includeMembers(ancestors(byName.get("trainer.sft")), [
          "trainer.sft",
          "stage/traced",
          "pipeline/train sft",
          "pipeline.runIn",
          "pipeline.TrainJob.run"
        ])
        assert.strictEqual(byName.get("stage/traced")?.attributes.get("implementation"), "onnx")
        assert.isTrue(spans.every((s) => s.status._tag === "Ended"))
      })
  )

  it.effect(
    "a trainer failure keeps its original typed error: the pipeline's caller gets StageFailed → TrainerError → TrainingDataError, realm train's the TrainerError",
    () =>
      Effect.gen(function* () {
        const bad = join(dir, "bad.jsonl")
        writeFileSync(bad, '{"not": "a corpus record"}\n')
        const init = { path: files.checkpoint, kind: "base" as const, step: 0, metrics: {} }
        const stage = TrainStage.training({
          runs: (c) => [
            {
              name: "sft",
              from: "base",
              phase: "sft",
              slots: Wiring.methodSlots(c, Methods.plan(["sft"])[0]!)
            }
          ],
          initInputs: () => ["../../tiny/config.json"]
        })
        const error = yield* Effect.flip(
          Pipeline.runIn([stage], config, dir, {
            runDir: join(dir, "runs", "bad"),
            artifacts: { corpus: bad, checkpoints: new Map([["base", init]]) }
          })
        )
        assert.instanceOf(error, StageFailed)
        const trainerError = (error as StageFailed).cause
        assert.instanceOf(trainerError, PolicyTrainer.TrainerError)
        const original = (trainerError as PolicyTrainer.TrainerError).cause
        assert.isTrue(Predicate.isTagged(original, "TrainingDataError"))
        assert.instanceOf(original, TrainerErrors.TrainingDataError)
        assert.strictEqual((original as TrainerErrors.TrainingDataError).path, bad)
        // The readable forms stay: the trainer's reason string and the stage's message.
        assert.strictEqual((trainerError as PolicyTrainer.TrainerError).reason, "TrainingDataError")
        assert.include(error.message, "TrainerError: sft failed (TrainingDataError)")
        // realm train reports the trainer's own error, as it did before it ran as a stage, with the same cause.
        const job = yield* Effect.flip(run({ outDir: join(dir, "runs", "bad-job"), corpus: bad }))
        assert.instanceOf(job, PolicyTrainer.TrainerError)
        assert.instanceOf((job as PolicyTrainer.TrainerError).cause, TrainerErrors.TrainingDataError)
      })
  )
})
