/**
 * One training phase outside a full pipeline (`realm train sft|rft|rl`): the slots of a pipeline config (trainer,
 * verifier, curriculum, judge; defaults when absent) run one phase on a corpus from a checkpoint directory. It is the
 * pipeline's train stage (`TrainStage.training`) with one run, worked through by the same runner (`Pipeline.runIn`):
 * `outDir` is that run's directory, with its `manifest.json` and `result.json`, so an unchanged re-run is skipped.
 */
import { basename, dirname, join, relative, resolve } from "node:path"
import { Effect, FileSystem } from "effect"
import type { Progress as TrainerProgress } from "@realm-lm/trainer"
import { PolicyTrainer } from "@realm-lm/core"
import { readRef, unwrapCause } from "./internal/stageFiles.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import { validate } from "./PipelineConfig.ts"
import { PipelineInvalid, runIn } from "./Pipeline.ts"
import * as TrainStage from "./TrainStage.ts"
import * as Wiring from "./Wiring.ts"

/** A single phase to run. */
export interface TrainJob {
  readonly phase: "sft" | "rft" | "rl"
  /** Hugging Face model directory to start from. */
  readonly init: string
  /** Corpus JSONL (CorpusRecord lines, e.g. from `realm corpus build`). */
  readonly corpus: string
  readonly outDir: string
  /**
   * Continue from the latest checkpoint in `outDir` (and skip the run when its manifest says it finished with the
   * same settings and inputs); `false` trains again from `init`.
   */
  readonly resume: boolean
  /** Slots and settings; an empty config uses every default. */
  readonly config: PipelineConfig
  readonly baseDir: string
  readonly onProgress?: (event: TrainerProgress.ProgressEvent) => Effect.Effect<void>
}

/** Run the phase; returns the final checkpoint. A trainer failure is the trainer's `TrainerError` (its `cause` the original error). */
export const run = Effect.fn("pipeline.TrainJob.run")(function* (job: TrainJob) {
  const problems = yield* validate(job.config, job.baseDir)
  if (problems.length > 0) return yield* new PipelineInvalid({ problems })
  const outDir = resolve(job.outDir)
  const runDir = dirname(outDir)
  const name = basename(outDir)
  // Training again from the start: the run's manifest goes, so the runner does not skip it.
  if (!job.resume)
    yield* Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) =>
      fs.remove(join(outDir, "manifest.json"), { force: true })
    )
  const initFiles = yield* TrainStage.checkpointFiles(resolve(job.init))
  // The configured slots as they are: the curriculum as configured, the verifier's rewards in full.
  const slots: Wiring.MethodSlots = {
    trainer: job.config.trainer ?? Wiring.defaults.trainer,
    verifier: job.config.verifier ?? Wiring.defaults.verifier,
    curriculum: Wiring.curriculum(job.config)
  }
  const stage = TrainStage.training({
    name: `train ${job.phase}`,
    runs: () => [{ name, from: "init", phase: job.phase, slots }],
    initInputs: () => initFiles.map((f) => relative(runDir, f)),
    resume: job.resume,
    // Another config's checkpoints are the trainer's to refuse (it names --fresh), never removed unasked.
    stale: "resume"
  })
  yield* runIn([stage], job.config, job.baseDir, {
    runDir,
    hooks: { train: (_, event) => job.onProgress?.(event) ?? Effect.void },
    artifacts: {
      corpus: resolve(job.corpus),
      checkpoints: new Map([["init", { path: job.init, kind: "base" as const, step: 0, metrics: {} }]])
    }
  }).pipe(Effect.mapError(unwrapCause((u): u is PolicyTrainer.TrainerError => u instanceof PolicyTrainer.TrainerError)))
  return yield* readRef(join(outDir, "result.json"))
})
