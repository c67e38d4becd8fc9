/**
 * One training phase outside a full pipeline (`realm train sft|rft|rl`): the slots of a pipeline config (trainer,
 * verifier, curriculum, judge; defaults when absent) run one phase on a corpus from a checkpoint directory.
 */
import { PolicyTrainer } from "@realm-lm/core"
import { Progress as TrainerProgress } from "@realm-lm/trainer"
import { Effect, Layer } from "effect"
import type { PipelineConfig } from "./PipelineConfig.ts"
import { validate } from "./PipelineConfig.ts"
import { PipelineInvalid } from "./Pipeline.ts"
import * as Wiring from "./Wiring.ts"

/** A single phase to run. */
export interface TrainJob {
  readonly phase: "sft" | "rft" | "rl"
  /** Hugging Face model directory to start from. */
  readonly init: string
  /** Corpus JSONL (CorpusRecord lines, e.g. from `realm corpus build`). */
  readonly corpus: string
  readonly outDir: string
  /** Continue from the latest checkpoint in `outDir`. */
  readonly resume: boolean
  /** Slots and settings; an empty config uses every default. */
  readonly config: PipelineConfig
  readonly baseDir: string
  readonly onProgress?: (event: TrainerProgress.ProgressEvent) => Effect.Effect<void>
}

/** Run the phase; returns the final checkpoint. */
export const run = (job: TrainJob) =>
  Effect.gen(function*() {
    const problems = yield* validate(job.config, job.baseDir)
    if (problems.length > 0) return yield* new PipelineInvalid({ problems })
    const wiring = yield* Wiring.make(job.config, job.baseDir)
    const layers = Layer.mergeAll(
      yield* wiring.trainer(Wiring.curriculum(job.config)),
      TrainerProgress.layer(job.onProgress ?? (() => Effect.void))
    )
    return yield* Effect.flatMap(Effect.service(PolicyTrainer.PolicyTrainer), (trainer) =>
      trainer[job.phase]({ init: job.init, corpus: job.corpus, outDir: job.outDir, resume: job.resume })).pipe(Effect.provide(layers))
  })
