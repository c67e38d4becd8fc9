/**
 * Contract: a source of problems (built-in domains, GSM8K, a user's JSONL).
 */
import { Context, Schema } from "effect"
import type { Stream } from "effect"
import type { Problem, Split } from "./Problem.ts"

/** A task source could not produce its problems (missing file, bad line, unknown split). */
export class TaskSourceError extends Schema.TaggedError<TaskSourceError>()("TaskSourceError", {
  source: Schema.String,
  detail: Schema.String,
  path: Schema.optionalKey(Schema.String),
  line: Schema.optionalKey(Schema.Int)
}) {
  override get message(): string {
    const at = this.path === undefined ? "" : ` (${this.path}${this.line === undefined ? "" : `:${this.line}`})`
    return `${this.source}${at}: ${this.detail}`
  }
}

/** Streams the problems of a split. Deterministic: the same config yields the same problems in the same order. */
export class TaskSource extends Context.Service<
  TaskSource,
  {
    /** Name used in manifests and reports, e.g. `"policy-domain"`, `"gsm8k"`. */
    readonly name: string
    readonly problems: (split: Split) => Stream.Stream<Problem, TaskSourceError>
  }
>()("@realm-lm/core/TaskSource") {}
