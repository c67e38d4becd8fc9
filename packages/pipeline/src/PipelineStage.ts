/**
 * A pipeline as a list of stage values. Each stage declares the artifacts it needs (problems, teacher routes, the
 * training corpus, checkpoints, results) and the ones it gives; the runner works through the list, handing each
 * stage what earlier stages gave, and refuses an order where a stage needs what nothing before it gives. Built-in
 * stages are in `Stages.ts`; a user's own stage (a corpus filter, a data augmentation) is inserted by code
 * (`insertAfter`) or by config (`stages: [{ use: ./my-stage.ts, after: corpus }]`, loaded by `StageModule.ts`).
 */
import type { Checkpoint, EvalResult } from "@realm-lm/core"
import { join, relative } from "node:path"
import { Effect, Schema } from "effect"
import type { FileSystem, Path, PlatformError } from "effect"
import type { CustomStageInvalid } from "./CustomModule.ts"
import type { Hooks } from "./Hooks.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import type { StageDefinition, StageFailed } from "./Stage.ts"
import { fail } from "./internal/stageFiles.ts"
import type { RunInfo, StageConfigInvalid, StageInputMissing, StageOutcome } from "./StageRunner.ts"
import type * as Wiring from "./Wiring.ts"

/** What stages hand to later stages. Paths are absolute. */
export interface Artifacts {
  /** Problems of each prepared split, split → JSONL of core `Problem` records. */
  readonly problems?: Readonly<Record<string, string>>
  /** Teacher routes of each split, split → JSONL of core `CorpusRecord`s (`train` is the training corpus as built). */
  readonly routes?: Readonly<Record<string, string>>
  /** The corpus training reads (`CorpusRecord` JSONL): the built one, or a stage's filtered or augmented copy. */
  readonly corpus?: string
  /** Checkpoints by name: `base`, then each trained method. */
  readonly checkpoints?: ReadonlyMap<string, Checkpoint.CheckpointRef>
  /** Evaluation results (`eval/results.json`). */
  readonly results?: ReadonlyArray<EvalResult.EvalResult>
  /** The HTML report page. */
  readonly report?: string
}

/** The name of an artifact. */
export type ArtifactName = keyof Artifacts

/** What a stage may fail with. */
export type StageError =
  | StageFailed
  | StageConfigInvalid
  | StageInputMissing
  | CustomStageInvalid
  | PlatformError.PlatformError

/** The services every stage may use (and `Prompt.TemplateDate`, a reference the run sets to its pinned date). */
export type StageRequirements = FileSystem.FileSystem | Path.Path

/** What every stage of a run is given besides the artifacts. */
export interface RunContext {
  readonly config: PipelineConfig
  /** Directory relative paths in the config resolve against. */
  readonly baseDir: string
  readonly runDir: string
  /** Seed, packages, git revision and template date, recorded in every manifest. */
  readonly info: RunInfo
  readonly hooks: Hooks
  /** The config's slots as layers (judge, verifier, trainers, any slot). */
  readonly wiring: Wiring.Wiring
  /** Splits whose problems and routes are prepared (`train` first). */
  readonly splits: ReadonlyArray<string>
  /** Splits evaluated. */
  readonly evalSplits: ReadonlyArray<string>
  /**
   * Run a step of work with a manifest under `<runDir>/<definition.name>/` (`StageRunner.runStage`): skipped when its
   * config, inputs and outputs are unchanged, resumed after an interruption. Announces it to the hooks.
   */
  readonly runStage: <C, R extends StageRequirements>(
    definition: StageDefinition<C, R>,
    config: unknown
  ) => Effect.Effect<StageOutcome, StageError, StageRequirements>
}

/** The artifacts a stage reads, all present. */
export type Needed<In extends ArtifactName> = { readonly [K in In]-?: NonNullable<Artifacts[K]> }

/** The artifacts a stage hands on. */
export type Given<Out extends ArtifactName> = { readonly [K in Out]: NonNullable<Artifacts[K]> }

/** A stage of a pipeline. */
export interface PipelineStage<In extends ArtifactName, Out extends ArtifactName> {
  /** Its name, unique in a pipeline (built-ins: `problems`, `corpus`, `base`, `train`, `eval`, `report`). */
  readonly name: string
  /** Artifacts it reads; a stage giving each must come before it. */
  readonly needs: ReadonlyArray<In>
  /** Artifacts it gives (replacing those of earlier stages, e.g. a filtered `corpus`). */
  readonly gives: ReadonlyArray<Out>
  readonly run: (context: RunContext, input: Needed<In>) => Effect.Effect<Given<Out>, StageError, StageRequirements>
}

/** A stage of any artifacts, for lists. */
export type AnyStage = PipelineStage<ArtifactName, ArtifactName>

/** Describe a stage with its types inferred; the result goes in a stage list as it is. */
export const define = <In extends ArtifactName, Out extends ArtifactName>(stage: PipelineStage<In, Out>): AnyStage =>
  stage as unknown as AnyStage

/**
 * A stage that rewrites the training corpus, the usual stage of one's own (a filter, a data augmentation):
 * `write(input, out)` reads the corpus at `input` and writes the new one to `out` (`<runDir>/<name>/corpus.jsonl`)
 * under a manifest, so a re-run with the same `settings` (checked by `config`) and the same input corpus skips it;
 * every later stage reads `out` as the corpus. A failure of `write` fails the stage, its cause kept.
 */
export const corpusTransform = <C>(options: {
  readonly name: string
  /** Implementation id recorded in the manifest, e.g. `"my-org/drop-hard-problems"`. */
  readonly implementation: string
  readonly config: Schema.Codec<C, unknown>
  readonly settings: C
  readonly write: (input: string, out: string) => Effect.Effect<void, unknown, StageRequirements>
}): AnyStage =>
  define({
    name: options.name,
    needs: ["corpus"],
    gives: ["corpus"],
    run: (ctx, input) =>
      Effect.gen(function* () {
        const out = join(ctx.runDir, options.name, "corpus.jsonl")
        yield* ctx.runStage(
          {
            name: options.name,
            implementation: options.implementation,
            config: options.config,
            inputs: () => [relative(ctx.runDir, input.corpus)],
            outputs: () => ["corpus.jsonl"],
            run: () => options.write(input.corpus, out).pipe(Effect.mapError(fail(options.name)))
          },
          options.settings
        )
        return { corpus: out }
      })
  })

/** A stage list cannot run: a name repeats, an insertion point is missing, or a stage needs what no earlier stage gives. */
export class PipelineOrderInvalid extends Schema.TaggedError<PipelineOrderInvalid>()("PipelineOrderInvalid", {
  stage: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `pipeline stage "${this.stage}": ${this.detail}`
  }
}

/** `stages` with `stage` placed right `side` the stage named `name`, or why it cannot be. */
const insertBeside = (
  stages: ReadonlyArray<AnyStage>,
  name: string,
  stage: AnyStage,
  side: "after" | "before"
): Array<AnyStage> | PipelineOrderInvalid => {
  const at = stages.findIndex((s) => s.name === name)
  if (at < 0)
    return new PipelineOrderInvalid({
      stage: stage.name,
      detail: `no stage "${name}" to insert it ${side}; stages: ${stages.map((s) => s.name).join(", ")}`
    })
  const cut = side === "after" ? at + 1 : at
  return [...stages.slice(0, cut), stage, ...stages.slice(cut)]
}

/** `stages` with `stage` placed right after the stage named `after`. */
export const insertAfter = (
  stages: ReadonlyArray<AnyStage>,
  after: string,
  stage: AnyStage
): Array<AnyStage> | PipelineOrderInvalid => insertBeside(stages, after, stage, "after")

/** `stages` with `stage` placed right before the stage named `before`. */
export const insertBefore = (
  stages: ReadonlyArray<AnyStage>,
  before: string,
  stage: AnyStage
): Array<AnyStage> | PipelineOrderInvalid => insertBeside(stages, before, stage, "before")

/**
 * The first problem with a stage list's order, if any: names repeat, or a stage needs what nothing before it gives
 * (`present`: artifacts there before the first stage).
 */
export const checkOrder = (
  stages: ReadonlyArray<AnyStage>,
  present: ReadonlyArray<ArtifactName> = []
): PipelineOrderInvalid | undefined => {
  const given = new Map<string, string>(present.map((k) => [k, "(given)"]))
  const names = new Set<string>()
  for (const stage of stages) {
    if (names.has(stage.name))
      return new PipelineOrderInvalid({ stage: stage.name, detail: "appears twice; give each stage its own name" })
    names.add(stage.name)
    const missing = stage.needs.filter((k) => !given.has(k))
    if (missing.length > 0) {
      return new PipelineOrderInvalid({
        stage: stage.name,
        detail: `needs ${missing.join(", ")}, which no earlier stage gives; move it after the stage that gives ${missing.length > 1 ? "them" : "it"}`
      })
    }
    for (const k of stage.gives) given.set(k, stage.name)
  }
  return undefined
}
