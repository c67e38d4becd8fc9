/**
 * One line of the distillation corpus: a problem and the labelled routes a teacher wrote for it.
 */
import { Schema } from "effect"
import { Problem } from "./Problem.ts"
import { Route } from "./Route.ts"

/** A problem with its teacher routes, each labelled positive or negative against gold. */
export const CorpusRecord = Schema.Struct({
  problem: Problem,
  routes: Schema.Array(Route),
  /** Identifier of the teacher that wrote the routes. */
  teacher: Schema.String
})
export type CorpusRecord = typeof CorpusRecord.Type

/** The rules-free SFT view of a corpus record: prompt without the rulebook, target a positive route. */
export const SftExample = Schema.Struct({
  problemId: Schema.NonEmptyString,
  prompt: Schema.String,
  completion: Schema.String
})
export type SftExample = typeof SftExample.Type
