/**
 * Problems for tests, as plain objects of core's `Problem` shape (this package does not depend on `@realm-lm/core`,
 * whose own tests use it): toy additions and a minimal problem, plus JSONL text to write them to a problems file.
 */

/** A problem record as core's `Problem` schema types it, limited to the fields these fixtures set. */
export interface TestProblem {
  readonly id: string
  readonly domain: string
  readonly question: string
  readonly rulebook?: string
  readonly gold: string
  readonly answerType: "number"
  readonly difficulty: number
  readonly split: "train"
  readonly metadata: Readonly<Record<string, never>>
}

/** Toy problem `i`: `toy/<i>`, "Q<i>: what is i + i?", gold 2i, a number, level 1, train split. */
export const toyProblem = (i: number): TestProblem => ({
  id: `toy/${i}`,
  domain: "toy",
  question: `Q${i}: what is ${i} + ${i}?`,
  rulebook: "Add the two numbers.",
  gold: String(2 * i),
  answerType: "number",
  difficulty: 1,
  split: "train",
  metadata: {}
})

/** The first `n` toy problems (`toyProblem(0)` to `toyProblem(n - 1)`). */
export const toyProblems = (n: number): Array<TestProblem> => Array.from({ length: n }, (_, i) => toyProblem(i))

/** A problem with only the required fields (question "q", gold "1", no rulebook), for tests that use just its id. */
export const minimal = (id: string): TestProblem => ({
  id,
  domain: "d",
  question: "q",
  gold: "1",
  answerType: "number",
  difficulty: 1,
  split: "train",
  metadata: {}
})

/** Records as JSONL text, one line each. */
export const jsonl = (records: ReadonlyArray<unknown>): string => records.map((r) => `${JSON.stringify(r)}\n`).join("")
