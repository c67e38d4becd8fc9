/**
 * Test support: the fixture problems and a small numeric answer judge (the real one lives in @realm-lm/tasks,
 * which corpus does not depend on).
 */
import { AnswerJudge, Problem } from "@realm-lm/core"
import { Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"

export const fixturePath = join(import.meta.dirname, "fixtures", "builtin-problems.jsonl")

export const fixtureProblems: Array<Problem.Problem> = readFileSync(fixturePath, "utf8")
  .trim()
  .split("\n")
  .map((line) => Schema.decodeUnknownSync(Problem.Problem)(JSON.parse(line)))

const lastNumber = (text: string): string | undefined => {
  const marker = text.toLowerCase().lastIndexOf("answer:")
  const tail = marker >= 0 ? text.slice(marker + 7) : text
  const found = [...tail.matchAll(/-?\d+(?:\.\d+)?/g)]
  const pick = marker >= 0 ? found[0] : found.at(-1)
  return pick === undefined ? undefined : String(Number(pick[0]))
}

export const numericJudge = AnswerJudge.AnswerJudge.of({
  extract: (_p, text) => lastNumber(text),
  equivalent: (_p, a, b) => a.trim() !== "" && Number(a) === Number(b),
  judge: (p, text) => {
    const extracted = lastNumber(text)
    return { extracted, correct: extracted !== undefined && Number(extracted) === Number(p.gold) }
  }
})

export const judgeLayer = Layer.succeed(AnswerJudge.AnswerJudge, numericJudge)
