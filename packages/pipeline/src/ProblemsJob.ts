/**
 * Problems files (`realm problems`): any task source's split written as JSONL of core `Problem` records, the input
 * that `realm corpus build --tasks <file>.jsonl` and `realm eval --problems` read, and the hint those commands give
 * when a file holds other records (a user's own fields need a tasks config first).
 */
import { Problem, TaskSource } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { dirname } from "node:path"
import { Effect, FileSystem, Schema } from "effect"
import type { Layer, Path } from "effect"
import type { CustomStageInvalid } from "./CustomModule.ts"
import * as Resolve from "./Resolve.ts"

/** What turns a file of one's own records into `Problem` records, for error messages. */
export const howToConvert =
  "for a file with your own fields, write a tasks config (use: files, with: { name, files: { train: my.jsonl }, mapping: { question: <field>, gold: <field> } }) " +
  "and pass it with --tasks files --tasks-config tasks.yaml, or export it with `realm problems tasks.yaml --split train --out problems.jsonl`"

/** A problems file is not JSONL of core `Problem` records. */
export class ProblemsFileInvalid extends Schema.TaggedError<ProblemsFileInvalid>()("ProblemsFileInvalid", {
  path: Schema.String,
  line: Schema.Int,
  detail: Schema.String
}) {
  override get message(): string {
    return (
      `${this.path}:${this.line}: not a core Problem record (${this.detail}): this file must hold one Problem per line ` +
      `({ id, domain, question, gold, answerType, difficulty, split, metadata }, as \`realm problems\` writes them); ${howToConvert}`
    )
  }
}

/** A schema mismatch of a problems line as `ProblemsFileInvalid` (with the fix); other errors unchanged. */
export const explainMalformed = <E>(error: E): E | ProblemsFileInvalid =>
  error instanceof Jsonl.MalformedLine && error.reason === "schema"
    ? new ProblemsFileInvalid({ path: error.path, line: error.line, detail: error.detail.replace(/\s+/g, " ").trim() })
    : error

/** What `realm problems` wrote. */
export interface Written {
  readonly out: string
  readonly split: Problem.Split
  readonly source: string
  readonly problems: number
}

/**
 * Write one split of a task source as `Problem` JSONL to `out` (replacing it). `baseDir` is the directory of the
 * config that names the task source: its relative paths (data files, a module) resolve against it.
 */
export const write = (choice: Resolve.Choice, split: Problem.Split, out: string, baseDir: string) =>
  Effect.gen(function* () {
    const layer = yield* Resolve.layer("tasks", choice, baseDir)
    yield* Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) =>
      fs.makeDirectory(dirname(out), { recursive: true })
    )
    return yield* Effect.gen(function* () {
      const tasks = yield* TaskSource.TaskSource
      const problems = yield* Jsonl.writeAll(out, Problem.Problem, tasks.problems(split))
      const written: Written = { out, split, source: tasks.name, problems }
      return written
    }).pipe(
      Effect.provide(layer as Layer.Layer<TaskSource.TaskSource, CustomStageInvalid, FileSystem.FileSystem | Path.Path>)
    )
  })
