/**
 * Contract: a teacher writes step-by-step reasoning routes for a problem, guided by its rulebook. The corpus
 * builder labels routes against gold; a teacher may also say which routes it meant to be wrong and where.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { Problem } from "./Problem.ts"
import { RouteLabel } from "./Route.ts"

/** A route as a teacher wrote it, before labelling. */
export const TeacherRoute = Schema.Struct({
  steps: Schema.Array(Schema.String),
  answer: Schema.String,
  /** Raw text the teacher produced (for audits), when different from the rendered steps. */
  raw: Schema.optionalKey(Schema.String),
  /** Set by teachers that deliberately write wrong routes. */
  intendedLabel: Schema.optionalKey(RouteLabel),
  decisiveStep: Schema.optionalKey(Schema.Int),
  decisiveNote: Schema.optionalKey(Schema.String)
})
export type TeacherRoute = typeof TeacherRoute.Type

/** What is asked of a teacher for one problem. */
export interface RouteRequest {
  readonly problem: Problem
  /** Number of routes wanted. */
  readonly count: number
  /** How many of them should be deliberately wrong, for teachers that can (others ignore it). */
  readonly negatives: number
  /** Seed for any sampling, so that re-runs reproduce. */
  readonly seed: number
}

/** Why a teacher failed on a problem. `too-large`: a response over the teacher's size cap (not read further). */
export const TeacherFailure = Schema.Literals([
  "rate-limited",
  "timeout",
  "server",
  "malformed",
  "budget",
  "unavailable",
  "too-large"
])

/** A teacher could not produce routes for a problem after its retries; `cause` keeps an underlying typed error. */
export class TeacherError extends Schema.TaggedError<TeacherError>()("TeacherError", {
  teacher: Schema.String,
  problemId: Schema.String,
  reason: TeacherFailure,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {}

/** Writes routes for problems. */
export class Teacher extends Context.Service<
  Teacher,
  {
    /** Identifier recorded in corpus records, e.g. `"rule-teacher"`, `"openai:gpt-4o-mini"`. */
    readonly name: string
    readonly routes: (request: RouteRequest) => Effect.Effect<ReadonlyArray<TeacherRoute>, TeacherError>
    /**
     * Problems this teacher serves best in flight at once (a local model batches them into one generation): the corpus
     * builder's concurrency when its own is not set. Absent: the builder's default.
     */
    readonly concurrency?: number
    /**
     * What the run manifest records of this teacher: its settings and prompts, never credentials (the HTTP teacher: endpoint
     * with the URL redacted, model, sampling, the key's variable name). Absent: the teacher's `name`.
     */
    readonly description?: Schema.Json
    /**
     * The settings that change what this teacher writes (model, sampling, prompts): part of the corpus resume check, so a
     * build resumed with other settings starts over instead of mixing routes. Absent: only `name` is compared.
     */
    readonly settings?: Schema.Json
  }
>()("@realm-lm/core/Teacher") {}
