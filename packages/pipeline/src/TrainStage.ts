/**
 * Training as a stage value: each planned method of the config (`Stages.train`, the pipeline's stage) or one phase
 * from a given checkpoint (`realm train`, `TrainJob`), one manifest per training run under `<runDir>/<name>/`, all
 * through one step: the run's slots wired as the method's own, the trainer's phase from its starting checkpoint on
 * the corpus, the final checkpoint written to `result.json`.
 */
import { join, relative } from "node:path"
import { PolicyTrainer } from "@realm-lm/core"
import type { Checkpoint } from "@realm-lm/core"
import { RunDir } from "@realm-lm/core/node"
import { Progress as TrainerProgress } from "@realm-lm/trainer"
import { Effect, FileSystem, Layer, Schema } from "effect"
import { plan, selected } from "./Methods.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import type { AnyStage } from "./PipelineStage.ts"
import { define } from "./PipelineStage.ts"
import * as Resolve from "./Resolve.ts"
import * as Stage from "./Stage.ts"
import { StageFailed } from "./Stage.ts"
import { fail, readRef } from "./internal/stageFiles.ts"
import * as Wiring from "./Wiring.ts"

/** One training run of a train stage. */
export interface Training {
  /** Its directory under the run directory, and its manifest's stage name (a method's name). */
  readonly name: string
  /** The checkpoint it starts from, by its name in `checkpoints` (`base`, `sft`, ...). */
  readonly from: string
  readonly phase: "sft" | "rft" | "rl"
  /** Its trainer, verifier and curriculum choices (`Wiring.methodSlots`). */
  readonly slots: Wiring.MethodSlots
}

/**
 * The trainer and curriculum settings a run's phase reads, for its stage hash (`Implementation.phaseInputs`): with the
 * built-in trainer, changing RL settings or the curriculum re-runs neither SFT nor RFT. A trainer that does not say
 * what its phases read hashes all of its settings and the curriculum.
 */
export const phaseSlots = (run: Training, baseDir: string) =>
  Effect.map(Resolve.implementation("trainer", run.slots.trainer.use, baseDir), (implementation) => {
    const read = implementation.phaseInputs?.(Wiring.asRecord(run.slots.trainer.with), run.phase)
    if (read === undefined) return { trainer: run.slots.trainer, curriculum: run.slots.curriculum }
    const trainer = { ...run.slots.trainer, with: read.settings }
    return read.curriculum ? { trainer, curriculum: run.slots.curriculum } : { trainer }
  })

/** How a train stage is made. */
export interface TrainingOptions {
  /** The stage's name in a stage list. Default `train`. */
  readonly name?: string
  /** The training runs, in order (a run may start from an earlier one's checkpoint). Default: the config's planned methods. */
  readonly runs?: (config: PipelineConfig) => ReadonlyArray<Training>
  /**
   * Files standing for the starting checkpoint in a run's manifest inputs, relative to the run directory. Default
   * `<from>/result.json`, the file the stage that made it wrote.
   */
  readonly initInputs?: (from: string, ref: Checkpoint.CheckpointRef) => ReadonlyArray<string>
  /** Continue from the latest checkpoint in a run's directory (default true); `false` starts over (`realm train --fresh`). */
  readonly resume?: boolean
  /** What a run does with a directory of other or unrecorded work (`Stage.StageDefinition.stale`). Default `remove`. */
  readonly stale?: "remove" | "resume"
}

/** Each planned method of a config as a training run: its slots, the checkpoint it starts from and its phase. */
export const plannedRuns = (config: PipelineConfig): ReadonlyArray<Training> =>
  plan(selected(config)).map((method) => ({
    name: method.name,
    from: method.from,
    phase: method.phase,
    slots: Wiring.methodSlots(config, method)
  }))

/** A train stage: every run trained on `corpus` from its starting checkpoint, one manifest each. Adds to `checkpoints`. */
export const training = (options: TrainingOptions = {}): AnyStage =>
  define({
    name: options.name ?? "train",
    needs: ["corpus", "checkpoints"],
    gives: ["checkpoints"],
    run: (ctx, input) =>
      Effect.gen(function* () {
        const checkpoints = new Map(input.checkpoints)
        for (const run of (options.runs ?? plannedRuns)(ctx.config)) {
          const init = checkpoints.get(run.from)
          if (init === undefined)
            return yield* new StageFailed({
              stage: run.name,
              detail: `no checkpoint of ${run.from} to start from; a stage before must make it`
            })
          const own = run.slots
          const layers = Layer.mergeAll(
            yield* ctx.wiring.trainer(own.curriculum, { trainer: own.trainer, verifier: own.verifier }),
            TrainerProgress.layer((event) => ctx.hooks.train?.(run.name, event) ?? Effect.void)
          )
          // What the run's manifest records and hashes, besides the trainer and curriculum its phase reads.
          const stageSettings = {
            verifier: own.verifier,
            judge: ctx.wiring.choice("judge"),
            from: run.from,
            phase: run.phase
          }
          const read = yield* phaseSlots(run, ctx.baseDir).pipe(Effect.mapError(fail(run.name)))
          yield* ctx.runStage(
            Stage.define({
              name: run.name,
              implementation: own.trainer.use,
              config: Schema.Unknown,
              inputs: () => [
                relative(ctx.runDir, input.corpus),
                ...(options.initInputs?.(run.from, init) ?? [`${run.from}/result.json`])
              ],
              outputs: () => ["result.json"],
              ...(options.stale === undefined ? {} : { stale: options.stale }),
              // Before phase inputs (fd8e708) a run hashed all of its trainer's settings and the curriculum.
              formerConfigs: [{ ...stageSettings, trainer: own.trainer, curriculum: own.curriculum }],
              run: ({ stageDir }) =>
                Effect.gen(function* () {
                  const trainer = yield* PolicyTrainer.PolicyTrainer
                  const ref = yield* trainer[run.phase]({
                    init: init.path,
                    corpus: input.corpus,
                    outDir: stageDir,
                    resume: options.resume ?? true
                  })
                  yield* RunDir.writeJsonAtomic(join(stageDir, "result.json"), ref)
                }).pipe(Effect.provide(layers), Effect.mapError(fail(run.name)))
            }),
            { ...read, ...stageSettings }
          )
          checkpoints.set(
            run.name,
            yield* readRef(join(ctx.runDir, run.name, "result.json")).pipe(Effect.mapError(fail(run.name)))
          )
        }
        return { checkpoints }
      })
  })

/** The model files of a checkpoint directory (config, weights, tokenizer) that exist, for a manifest's inputs. */
export const checkpointFiles = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(dir))) return []
    const names = yield* fs.readDirectory(dir)
    return names
      .filter((n) => n === "config.json" || n === "tokenizer.json" || n.endsWith(".safetensors"))
      .toSorted()
      .map((n) => join(dir, n))
  })
