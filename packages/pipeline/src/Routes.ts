/**
 * Teacher routes per problem, as assisted evaluation shows them: read from a corpus JSONL (`CorpusRecord` lines, as
 * the pipeline's `corpus` and `routes-<split>` stages and `realm corpus build` write them). Shared by the pipeline's
 * eval stage and `EvalJob`, so both evaluate with the same routes.
 */
import { CorpusRecord } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import type { Route } from "@realm-lm/core"
import { Effect, Stream } from "effect"

/** Routes by problem id. */
export type ById = ReadonlyMap<string, ReadonlyArray<Route.Route>>

/** Read a routes file into routes by problem id; a bad line fails with its file and 1-based line (`MalformedLine`). */
export const read = (file: string) =>
  Effect.map(
    Stream.runCollect(Jsonl.read(file, CorpusRecord.CorpusRecord)),
    (records): ById => new Map(records.map((r) => [r.problem.id, r.routes] as const))
  )
