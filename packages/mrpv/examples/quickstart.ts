/**
 * MRPV quickstart: build a multi-route prompt, render the ideal completion, and score it and a flawed one.
 * Run: `node packages/mrpv/examples/quickstart.ts` (Node 24, from the repository root).
 */
import { AnswerJudge, Prompt, Verifier as CoreVerifier } from "@realm-lm/core"
import type { Problem, Route } from "@realm-lm/core"
import { Target, Verifier } from "@realm-lm/mrpv"
import { Effect, Layer } from "effect"

/** The problem: a claim payout with gold steps (the bench times MRPV on it too). */
export const problem: Problem.Problem = {
  id: "claims/train/0",
  domain: "insurance-claims",
  question: "A claim of 1,200 has a deductible of 200 and 80% coverage. What is paid?",
  gold: "800",
  answerType: "number",
  goldSteps: ["claim after deductible = 1200 - 200 = 1000", "payout = 1000 * 80% = 800"],
  difficulty: 1,
  split: "train",
  metadata: {}
}

const routes: Array<Route.Route> = [
  {
    id: "r1",
    label: "positive",
    source: "teacher",
    answer: "800",
    steps: ["covered share = 80% of 1200 = 960", "payout = 960 - 80% * 200 = 800"]
  },
  {
    id: "r2",
    label: "negative",
    source: "teacher",
    answer: "900",
    steps: ["claim after deductible = 1200 - 200 = 1000", "payout = 1000 * 80% = 900"]
  },
  {
    id: "r3",
    label: "negative",
    source: "teacher",
    answer: "720",
    steps: ["claim after copay = 1200 - 300 = 900", "payout = 900 * 80% = 720"]
  }
]

const number = (text: string) => /-?\d[\d,]*(?:\.\d+)?/.exec(text)?.[0].replace(/,/g, "")
/** In a pipeline the task source provides the AnswerJudge (@realm-lm/tasks); here, a number-only judge. */
export const judge = AnswerJudge.AnswerJudge.of({
  extract: (_p, text) => number(text.split(/answer\s*:/i).at(-1) ?? ""),
  equivalent: (_p, a, b) => Number(number(a)) === Number(number(b)),
  judge: (p, text) => {
    const extracted = number(text.split(/answer\s*:/i).at(-1) ?? "")
    return { extracted, correct: extracted !== undefined && Number(extracted) === Number(p.gold) }
  }
})

/** Build a prompt, then score the ideal completion and a flawed one. */
export const program = Effect.gen(function* () {
  const verifier = yield* CoreVerifier.Verifier
  const decision = { problemId: problem.id, strength: 0.8, routeCount: 3, hintFraction: 0, rescue: false, seed: 42 }
  const prompt = yield* verifier.prompt({ problem, routes, decision })
  const shown = prompt.guidance.routeIds.map((id) => routes.find((r) => r.id === id)!)
  const ideal = Target.renderTarget(problem, shown)
  const flawed = "Route A: correct\nRoute B: correct\nStep 1: 1200 * 80% = 960\nAnswer: 960"
  const idealReward = yield* verifier.score({ problem, prompt, routes, completion: ideal })
  const flawedReward = yield* verifier.score({ problem, prompt, routes, completion: flawed })
  return { text: Prompt.toPlainText(prompt), ideal, idealReward, flawedReward }
}).pipe(Effect.provide(Verifier.layerTest.pipe(Layer.provide(Layer.succeed(AnswerJudge.AnswerJudge, judge)))))

if (import.meta.main) {
  const out = await Effect.runPromise(program)
  console.log(
    `${out.text}\n${out.ideal}\n\nideal:  ${JSON.stringify(out.idealReward)}\nflawed: ${JSON.stringify(out.flawedReward)}`
  )
}
