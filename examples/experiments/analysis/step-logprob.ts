/**
 * How likely checkpoints find one step of the gold solution, teacher-forced: for each test problem whose question
 * matches `--question` (default: 4 or more parcels) and whose gold steps have a line matching `--step` (default the
 * `parcels xN` line), the log-probability of that line given the autonomous prompt and the gold steps before it, under
 * each checkpoint. Experiment 8 (docs/EXPERIMENTS.md) asks whether route traces moved the step no method writes.
 *
 * Run: `node --conditions=@realm-lm/source examples/experiments/analysis/step-logprob.ts <problems.jsonl>
 *   <checkpoint dir>... [--n 40] [--verifier '{"style":"compact",...}'] [--question REGEX] [--step REGEX]`
 * (the checkpoint's tokenizer is used; the step is encoded apart from the text before it, which can differ from the
 * joint encoding by a token at the boundary).
 */
import { NodeServices } from "@effect/platform-node"
import { Problem } from "@realm-lm/core"
import type { Curriculum } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { Policy, PromptText } from "@realm-lm/lm"
import { MrpvConfig, Target } from "@realm-lm/mrpv"
import { Effect, Result, Stream } from "effect"

const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? fallback : (args[i + 1] ?? fallback)
}
const positional = args.filter((a, i) => !a.startsWith("--") && !(args[i - 1] ?? "").startsWith("--"))
const [problemsPath, ...checkpoints] = positional
if (problemsPath === undefined || checkpoints.length === 0) {
  console.error(
    "usage: step-logprob.ts <problems.jsonl> <checkpoint dir>... [--n 40] [--verifier JSON] [--question REGEX] [--step REGEX]"
  )
  process.exit(2)
}
const n = Number(option("n", "40"))
const question = new RegExp(option("question", "\\b([4-9]) parcels"))
const step = new RegExp(option("step", "^Step \\d+: parcels x"), "m")
const verifierSettings = JSON.parse(option("verifier", "{}")) as Record<string, unknown>

const autonomous = (problemId: string): Curriculum.GuidanceDecision => ({
  problemId,
  strength: 0,
  routeCount: 0,
  hintFraction: 0,
  rescue: false,
  seed: 0
})

const program = Effect.gen(function* () {
  const config = yield* MrpvConfig.decode(verifierSettings)
  const problems = (yield* Stream.runCollect(Jsonl.read(problemsPath, Problem.Problem)))
    .filter((p) => question.test(p.question))
    .slice(0, n)
  // The gold target split at the step's line: the text before it (context) and the line itself.
  const cases = problems.flatMap((problem) => {
    const pair = Result.getOrThrow(Target.sftPair(config, problem, [], autonomous(problem.id)))
    const match = step.exec(pair.completion)
    if (match === null) return []
    const end = pair.completion.indexOf("\n", match.index)
    return [
      {
        problem,
        prompt: pair.prompt,
        before: pair.completion.slice(0, match.index),
        line: pair.completion.slice(match.index, end < 0 ? undefined : end)
      }
    ]
  })
  if (cases.length === 0) return yield* Effect.die(new Error("no problem matches --question with a line matching --step"))
  console.log(`${cases.length} problems; e.g. ${cases[0]!.problem.id}: ${JSON.stringify(cases[0]!.line)}\n`)
  console.log("| checkpoint | mean log p(step line) | mean log p per token | lines with p > 0.5 |")
  console.log("| --- | --- | --- | --- |")
  for (const dir of checkpoints) {
    const policy = yield* Policy.load(dir, {})
    const tokenizer = policy.tokenizer
    if (tokenizer === undefined) return yield* Effect.die(new Error(`${dir} has no tokenizer.json`))
    const requests = yield* Effect.forEach(cases, (c) =>
      Effect.map(PromptText.encode(tokenizer, c.prompt), (ids) => ({
        prompt: [...ids, ...tokenizer.encode(c.before)],
        completion: tokenizer.encode(c.line)
      }))
    )
    const scores = yield* policy.score(requests)
    const totals = scores.map((s) => s.reduce((a, b) => a + b, 0))
    const tokens = scores.reduce((a, s) => a + s.length, 0)
    const mean = totals.reduce((a, b) => a + b, 0) / totals.length
    const likely = totals.filter((t) => t > Math.log(0.5)).length
    console.log(
      `| ${dir} | ${mean.toFixed(2)} | ${(totals.reduce((a, b) => a + b, 0) / tokens).toFixed(3)} | ${likely} / ${cases.length} |`
    )
  }
})

Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(NodeServices.layer))).catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
