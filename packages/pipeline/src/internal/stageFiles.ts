/**
 * Files the built-in stages hand on (a trained checkpoint's `result.json`, the eval stage's results) and how a
 * stage's failure keeps its typed cause; shared by the stage modules.
 */
import { join } from "node:path"
import { Checkpoint, EvalResult } from "@realm-lm/core"
import { Effect, FileSystem, Predicate, Schema } from "effect"
import { StageFailed } from "../Stage.ts"

/** Read a JSON file written by a stage and decode it. */
const readJson = <A, I>(path: string, schema: Schema.Codec<A, I>) =>
  Effect.flatMap(
    Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) => fs.readFileString(path)),
    (text) => Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(text)
  )

/** Read a stage's `result.json`: the checkpoint it produced. */
export const readRef = (path: string) => readJson(path, Checkpoint.CheckpointRef)

/** Read a results file written by the eval stage. */
export const readResults = (file: string) => readJson(file, Schema.Array(EvalResult.EvalResult))

/** A stage's failure, keeping the typed cause. */
export const fail = (stage: string) => (error: unknown) =>
  new StageFailed({
    stage,
    detail: `${Predicate.hasProperty(error, "_tag") ? `${String(error._tag)}: ` : ""}${Predicate.hasProperty(error, "message") ? String(error.message) : String(error)}`,
    cause: error
  })

/** Where the teacher routes of a split live: the training corpus for `train`, `routes-<split>/corpus/` otherwise. */
export const routesFile = (runDir: string, split: string): string =>
  split === "train" ? join(runDir, "corpus", "corpus.jsonl") : join(runDir, `routes-${split}`, "corpus", "corpus.jsonl")

/**
 * A one-stage job's failure (`realm train`, `realm eval`) as the contract's own error when the stage failed with one
 * (a `TrainerError`, an `EvaluatorError`, keeping its typed cause), so the command reports what it always did;
 * any other failure stays the `StageFailed`.
 */
export const unwrapCause =
  <E>(is: (u: unknown) => u is E) =>
  <F>(error: F): F | E =>
    error instanceof StageFailed && is(error.cause) ? error.cause : error
