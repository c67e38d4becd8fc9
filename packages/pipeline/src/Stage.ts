/**
 * A pipeline stage as data: its name, the implementation that runs it, its config schema, which files of the
 * run directory it reads and which it writes, and the Effect that does the work. Stages resume their own
 * partial work (corpus appends, trainer checkpoints); the stage runner decides whether to run them at all.
 */
import { Schema } from "effect"
import type { Effect } from "effect"

/** Progress of a long stage, for progress bars. */
export interface Progress {
  readonly stage: string
  readonly done: number
  readonly total: number
  /** Short extra text, e.g. `pos 120 neg 80 retries 2`. */
  readonly detail?: string
}

/** What a running stage is given. */
export interface StageContext<C> {
  readonly runDir: string
  /** `<runDir>/<stage name>`, created before the stage runs. */
  readonly stageDir: string
  readonly config: C
  /** Root seed of the run; stages derive their own streams with `Rng.make(seed, stageName, ...)`. */
  readonly seed: number
  readonly progress: (progress: Progress) => Effect.Effect<void>
}

/** A stage failed for a reason of its own (bad data, a trainer error...). */
export class StageFailed extends Schema.TaggedError<StageFailed>()("StageFailed", {
  stage: Schema.String,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `stage "${this.stage}" failed: ${this.detail}`
  }
}

/** Definition of a stage. `R` is the services its `run` needs (provided by the pipeline's layers). */
export interface StageDefinition<C, R> {
  readonly name: string
  /** Implementation id recorded in manifests, e.g. `"@realm-lm/corpus/rule-teacher"`. */
  readonly implementation: string
  readonly config: Schema.Codec<C, unknown>
  /** Files it reads, relative to the run directory (usually other stages' outputs). */
  readonly inputs: (config: C) => ReadonlyArray<string>
  /** Files it writes, relative to its stage directory; hashed into the manifest when it completes. */
  readonly outputs: (config: C) => ReadonlyArray<string>
  readonly run: (context: StageContext<C>) => Effect.Effect<void, StageFailed, R>
  /**
   * `false`: run every time, even with an unchanged config and inputs (what it reads is not all in files: a served
   * model); the manifest still records each run. Default `true`.
   */
  readonly cache?: boolean
  /**
   * What to do with a stage directory holding other work (another config or inputs, or no manifest): `remove` it
   * before running (default), or `resume`: leave it for the stage's own resume check (`realm train` hands it to the
   * trainer, which continues its checkpoints or refuses those of another config, as it always has).
   */
  readonly stale?: "remove" | "resume"
  /**
   * Settings that earlier versions of the pipeline recorded for this same work (as passed to `runStage`): a manifest
   * hashed from one of them counts as this config's and is re-keyed to it, so a change in what is hashed (not in what
   * runs) neither re-runs nor removes finished work.
   */
  readonly formerConfigs?: ReadonlyArray<unknown>
}

/** Build a stage definition with its types inferred. */
export const define = <C, R>(definition: StageDefinition<C, R>): StageDefinition<C, R> => definition
