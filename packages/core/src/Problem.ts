/**
 * A problem to reason about: the unit every stage passes along. The rulebook travels with the problem so a
 * teacher can be guided by it, while the student's prompts leave it out (guided distillation).
 */
import { Schema } from "effect"

/** How an answer is compared with gold: a number (units, commas, fractions tolerated), a label from a closed set, or free text. */
export const AnswerType = Schema.Literals(["number", "label", "text"])
export type AnswerType = typeof AnswerType.Type

/** Which part of a task a problem belongs to. `heldout` holds rule combinations never seen in training. */
export const Split = Schema.Literals(["train", "validation", "test", "heldout", "transfer"])
export type Split = typeof Split.Type

/** Any JSON value (used for free-form metadata and configs). */
export const JsonValue = Schema.Json
export type JsonValue = typeof JsonValue.Type

/** One problem with its gold answer. */
export const Problem = Schema.Struct({
  /** Stable, unique within a task source (`domain/split/index` by convention). */
  id: Schema.NonEmptyString,
  /** The domain or benchmark name, e.g. `"insurance-claims"`, `"gsm8k"`. */
  domain: Schema.NonEmptyString,
  question: Schema.String,
  /** The written rules and expert knowledge the teacher may see; never shown to the student in rules-free prompts. */
  rulebook: Schema.optionalKey(Schema.String),
  /** The gold final answer, normalised for its answer type. */
  gold: Schema.String,
  answerType: AnswerType,
  /** For `label` answers: the closed set of valid labels. */
  labels: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Gold step-by-step solution, when the task source knows it. */
  goldSteps: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Task-defined difficulty, higher is harder (integer levels by convention). */
  difficulty: Schema.Finite,
  split: Split,
  metadata: Schema.Record(Schema.String, Schema.Json)
})
export type Problem = typeof Problem.Type
