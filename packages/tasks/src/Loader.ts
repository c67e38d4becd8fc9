/**
 * The generic loader: problems from users' own files (JSONL by default; JSON arrays, ASDiv XML and LogiQA text
 * for the benchmarks) through a field mapping, one file per split. Bad records are reported with file and line
 * and either fail the stream (`strict`) or are skipped with a warning (`lenient`).
 */
import { ConfigDecode, TaskSource } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Effect, FileSystem, Layer, Result, Schema, Stream } from "effect"
import { toProblem } from "./internal/mapping.ts"
import * as Records from "./internal/records.ts"

/** Where each problem field comes from. Paths are dotted (`question.stem`, `lSolutions.0`). */
export const FieldMapping = Schema.Struct({
  /** Path of a stable record id (ids become `<name>/<value>`); default `<name>/<split>/<record index>`. */
  id: Schema.optionalKey(Schema.String),
  /** A path, or a template with `{path}` placeholders (arrays are joined by newlines). */
  question: Schema.String,
  /** Multiple-choice options appended to the question as `(A) text` lines; their labels become the label set. */
  choices: Schema.optionalKey(
    Schema.Struct({
      /** Path of the options array (strings or objects). */
      texts: Schema.String,
      /** Path of a parallel array of labels; default: each object's `labelKey`, else A, B, C… */
      labels: Schema.optionalKey(Schema.String),
      textKey: Schema.optionalKey(Schema.String),
      labelKey: Schema.optionalKey(Schema.String)
    })
  ),
  /** Path of the gold answer. */
  gold: Schema.String,
  /** `plain`; `first` (first array element); `after-hash` (text after `####`, GSM8K); `max-score-key` (key of the highest score). Default `plain`. */
  goldFormat: Schema.Literals(["plain", "after-hash", "max-score-key", "first"]).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed("plain" as const))
  ),
  /** Path of a worked solution whose lines become `goldSteps` (GSM8K calculator annotations removed). */
  goldSteps: Schema.optionalKey(Schema.String),
  /** `number`, `label`, `text`, or `auto` (number when the gold looks numeric, else text). Default `number`. */
  answerType: Schema.Literals(["number", "label", "text", "auto"]).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed("number" as const))
  ),
  /** Gold values to rename before checking, e.g. `{ "Unknown": "Uncertain" }`. */
  goldAliases: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  /** Closed label set for `label` answers (else taken from `choices`). */
  labels: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Paths copied into `problem.metadata`. */
  metadata: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Relative tolerance for `number` answers (e.g. 0.01 for 1%), stored as `metadata.tolerance`. Default: exact comparison. */
  tolerance: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)))
})
export type FieldMapping = typeof FieldMapping.Type

/** A file-backed task source (config path `tasks.files` in pipeline configs). */
export const LoaderConfig = Schema.Struct({
  /** Source name, used as the problems' domain and id prefix. */
  name: Schema.NonEmptyString,
  /** File per split, e.g. `{ train: "data/train.jsonl", test: "data/test.jsonl" }`. */
  files: Schema.Record(Schema.String, Schema.NonEmptyString),
  /** File format. Default `jsonl`. */
  format: Schema.Literals(["jsonl", "json", "asdiv-xml", "logiqa-txt"]).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed("jsonl" as const))
  ),
  /** For `json`: dotted path of the records array inside the file (absent: the file is the array). */
  recordsPath: Schema.optionalKey(Schema.String),
  mapping: FieldMapping,
  /** `strict`: the first bad record fails with file and line. `lenient`: bad records are skipped with a warning. Default `strict`. */
  policy: Schema.Literals(["strict", "lenient"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("strict" as const))),
  /** Rulebook or expert hints attached to every problem (for guided teachers). */
  rulebook: Schema.optionalKey(Schema.String),
  /** Read at most this many problems per split. */
  limit: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)))
}).check(
  Schema.makeFilter((c) => {
    const issues: Array<Schema.FilterIssue> = []
    const splits = ["train", "validation", "test", "heldout", "transfer"]
    for (const key of Object.keys(c.files)) {
      if (!splits.includes(key))
        issues.push({ path: ["files", key], issue: `unknown split "${key}": use ${splits.join(", ")}` })
    }
    if (c.mapping.answerType === "label" && c.mapping.labels === undefined && c.mapping.choices === undefined) {
      issues.push({ path: ["mapping", "labels"], issue: "label answers need mapping.labels or mapping.choices" })
    }
    if (c.recordsPath !== undefined && c.format !== "json")
      issues.push({ path: ["recordsPath"], issue: "recordsPath only applies to format json" })
    return issues
  })
)
export type LoaderConfig = typeof LoaderConfig.Type
/** The config as written (before defaults). */
export type LoaderConfigInput = typeof LoaderConfig.Encoded

/** Decode a loader config, failing with the field path on bad values. */
export const decodeConfig = ConfigDecode.decodeUnknownEffect(LoaderConfig)

/** Called for each record skipped under the lenient policy (default: a warning in the log). */
export type OnSkip = (error: TaskSource.TaskSourceError) => Effect.Effect<void>

const defaultOnSkip: OnSkip = (error) => Effect.logWarning(describe(error))

/** `path:line: detail` for a loader error. */
export const describe = (error: TaskSource.TaskSourceError): string =>
  `${error.path ?? error.source}${error.line === undefined ? "" : `:${error.line}`}: ${error.detail}`

/** The problems of one split, read lazily from its file. */
export const problems = (
  config: LoaderConfig,
  split: Problem.Split,
  onSkip: OnSkip = defaultOnSkip
): Stream.Stream<Problem.Problem, TaskSource.TaskSourceError, FileSystem.FileSystem> => {
  const path = config.files[split]
  if (path === undefined) {
    return Stream.fail(
      new TaskSource.TaskSourceError({
        source: config.name,
        detail: `no file for split "${split}"; configured splits: ${Object.keys(config.files).join(", ") || "none"}`
      })
    )
  }
  const mapped = Records.read(config.name, path, config.format, config.recordsPath).pipe(
    Stream.map((item): Result.Result<Problem.Problem, TaskSource.TaskSourceError> => {
      if (Result.isFailure(item)) return Result.fail(item.failure)
      const raw = item.success
      const problem = toProblem(raw.value, config.mapping, {
        source: config.name,
        split,
        index: raw.index,
        rulebook: config.rulebook
      })
      if (Result.isSuccess(problem)) return Result.succeed(problem.success)
      const where =
        raw.line === undefined
          ? { detail: `record ${raw.index + 1}: ${problem.failure}` }
          : { line: raw.line, detail: problem.failure }
      return Result.fail(new TaskSource.TaskSourceError({ source: config.name, path, ...where }))
    }),
    Stream.mapEffect((entry) => {
      if (Result.isSuccess(entry)) return Effect.succeed([entry.success])
      return config.policy === "strict" ? Effect.fail(entry.failure) : Effect.as(onSkip(entry.failure), [])
    }),
    Stream.flatMap((items) => Stream.fromIterable(items))
  )
  return config.limit === undefined ? mapped : Stream.take(mapped, config.limit)
}

/** A `TaskSource` over a decoded config; file access is captured from the layer's environment. */
export const make = Effect.fnUntraced(function* (config: LoaderConfig, onSkip?: OnSkip) {
  const fs = yield* FileSystem.FileSystem
  return TaskSource.TaskSource.of({
    name: config.name,
    problems: (split) => problems(config, split, onSkip).pipe(Stream.provideService(FileSystem.FileSystem, fs))
  })
})

/** `TaskSource` layer from a config object (decoded here, so a bad config fails before any file is read). */
export const layer = (input: unknown, onSkip?: OnSkip) =>
  Layer.effect(
    TaskSource.TaskSource,
    Effect.flatMap(decodeConfig(input), (config) => make(config, onSkip))
  )
