/**
 * The texts of guided distillation: the teacher's guided prompt (rulebook, expert hints, output format), the
 * rules-free student prompt and completion of the SFT view, and parsing of a teacher's free-text route.
 */
import type { AnswerJudge, Problem, Prompt, Teacher } from "@realm-lm/core"
import { Route } from "@realm-lm/core"

/** The default instruction given to guided teachers. */
export const defaultSystem = [
  "You are an expert who solves problems exactly by the rules given below.",
  "Write the solution as numbered lines `Step 1: ...`, `Step 2: ...`, one rule application or calculation per line,",
  "each ending with `= <value>` when it computes something. Finish with a last line `Answer: <final answer>`."
].join(" ")

/** The guided chat messages for one problem: instruction, rulebook and hints in the system message, the question as user. */
export const guidedMessages = (
  problem: Problem.Problem,
  options: { readonly system?: string | undefined; readonly hints?: string | undefined } = {}
): Array<Prompt.ChatMessage> => {
  const parts = [options.system ?? defaultSystem]
  if (problem.rulebook !== undefined) parts.push(`Rulebook:\n${problem.rulebook}`)
  if (options.hints !== undefined) parts.push(`Expert hints:\n${options.hints}`)
  if (problem.labels !== undefined) parts.push(`The answer is one of: ${problem.labels.join(", ")}.`)
  return [
    { role: "system", content: parts.join("\n\n") },
    { role: "user", content: problem.question }
  ]
}

/** The rules-free prompt the student is trained on: the question alone (the trainer applies its own template). */
export const studentPrompt = (problem: Problem.Problem): string => problem.question

/** The completion target for a route: numbered steps, then `Answer: <answer>`. */
export const completion = (route: { readonly steps: ReadonlyArray<string>; readonly answer: string }): string =>
  route.steps.length === 0 ? `Answer: ${route.answer}` : `${Route.renderSteps(route.steps)}\nAnswer: ${route.answer}`

const STEP = /^\s*(?:[-*>]\s*)?(?:\*\*)?\s*step\s*(\d+)\s*(?:\*\*)?\s*[:.)-]\s*(?:\*\*)?\s*(.*?)\s*$/i
const NUMBERED = /^\s*(\d+)[.)]\s+(.*?)\s*$/
const ANSWER = /^\s*(?:[-*>]\s*)?(?:\*\*)?\s*(?:final\s+)?answer\b/i

/** The steps of a free-text route: `Step n:` lines, else `n.` lines, else every non-empty line before the answer. */
export const parseSteps = (text: string): Array<string> => {
  const lines = text.split(/\r?\n/)
  const step = lines.map((l) => STEP.exec(l)?.[2]).filter((s): s is string => s !== undefined && s.length > 0)
  if (step.length > 0) return step
  const numbered = lines.map((l) => NUMBERED.exec(l)?.[2]).filter((s): s is string => s !== undefined && s.length > 0)
  if (numbered.length > 0) return numbered
  const answerAt = lines.findIndex((l) => ANSWER.test(l))
  return (answerAt < 0 ? lines : lines.slice(0, answerAt)).map((l) => l.trim()).filter((l) => l.length > 0)
}

/** A teacher route from free model text: its steps and the answer the task's judge extracts (empty when none). */
export const routeFromText = (
  judge: AnswerJudge.AnswerJudge["Service"],
  problem: Problem.Problem,
  text: string
): Teacher.TeacherRoute => ({
  steps: parseSteps(text),
  answer: judge.extract(problem, text) ?? "",
  raw: text
})
