/**
 * Contract: extract a final answer from model text and compare it with a problem's gold answer. Implemented by
 * task sources (`@realm-lm/tasks`), used by verifiers, teachers and evaluators, which never import tasks.
 */
import { Context } from "effect"
import type { Problem } from "./Problem.ts"

/** The answer found in a text and whether it matches gold. */
export interface Judgement {
  /** Normalised extracted answer, `undefined` when none could be found. */
  readonly extracted: string | undefined
  readonly correct: boolean
}

/** Answer extraction and comparison, pure and synchronous. */
export class AnswerJudge extends Context.Service<
  AnswerJudge,
  {
    /** Find and normalise the final answer in free model text (e.g. after `Answer:` or `####`). */
    readonly extract: (problem: Problem, text: string) => string | undefined
    /** Whether two answers are the same for this problem's answer type (`"1,200"` = `"1200.0"`). */
    readonly equivalent: (problem: Problem, a: string, b: string) => boolean
    /** `extract` then compare with `problem.gold`. */
    readonly judge: (problem: Problem, text: string) => Judgement
  }
>()("@realm-lm/core/AnswerJudge") {}
