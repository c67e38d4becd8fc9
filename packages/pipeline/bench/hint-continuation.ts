/**
 * Does a student continue a hint or restart? (issue 12; docs/EXPERIMENTS.md, experiments D7 and 3.) For the first
 * `n` records of a corpus, the greedy reply of a checkpoint to the problem's autonomous prompt and to the same
 * problem with a hint (the first `fraction` of a positive route's steps), once with the hint in the prompt
 * (`hintPlacement: prompt`) and once as the start of the reply (`hintPlacement: prefill`); answers judged by the
 * tasks' answer judge on the whole reply (prefill + completion). Prints the counts right per condition and the
 * first `show` replies of each.
 *
 * Run: `node --conditions=@realm-lm/source packages/pipeline/bench/hint-continuation.ts <checkpoint dir> <corpus.jsonl>
 *   [--n 24] [--fraction 0.5] [--show 2] [--verifier '{"order":"solve-first",...}']`
 */
import { NodeServices } from "@effect/platform-node"
import { CorpusRecord, Prompt } from "@realm-lm/core"
import type { Curriculum } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { Policy, PromptText } from "@realm-lm/lm"
import { MrpvConfig, PromptBuilder } from "@realm-lm/mrpv"
import { Answer } from "@realm-lm/tasks"
import { Effect, Result, Stream } from "effect"

const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? fallback : (args[i + 1] ?? fallback)
}
const [checkpoint, corpusPath] = args.filter((a, i) => !a.startsWith("--") && !(args[i - 1] ?? "").startsWith("--"))
if (checkpoint === undefined || corpusPath === undefined) {
  console.error(
    "usage: hint-continuation.ts <checkpoint dir> <corpus.jsonl> [--n 24] [--fraction 0.5] [--show 2] [--verifier JSON]"
  )
  process.exit(2)
}
const n = Number(option("n", "24"))
const fraction = Number(option("fraction", "0.5"))
const show = Number(option("show", "2"))
const verifierSettings = JSON.parse(option("verifier", "{}")) as Record<string, unknown>

const conditions = [
  { name: "autonomous", placement: "prompt", hintFraction: 0 },
  { name: "hint in the prompt", placement: "prompt", hintFraction: fraction },
  { name: "hint as a prefill", placement: "prefill", hintFraction: fraction }
] as const

const program = Effect.gen(function* () {
  const records = (yield* Stream.runCollect(Jsonl.read(corpusPath, CorpusRecord.CorpusRecord))).slice(0, n)
  const policy = yield* Policy.load(checkpoint, {})
  const tokenizer = policy.tokenizer
  if (tokenizer === undefined) return yield* Effect.die(new Error(`${checkpoint} has no tokenizer.json`))
  for (const condition of conditions) {
    const config = yield* MrpvConfig.decode({ ...verifierSettings, hintPlacement: condition.placement })
    const prompts = records.map((r, i) => {
      const decision: Curriculum.GuidanceDecision = {
        problemId: r.problem.id,
        strength: 1,
        routeCount: 0,
        hintFraction: condition.hintFraction,
        rescue: false,
        seed: i
      }
      return Result.getOrThrow(PromptBuilder.buildPrompt(config, r.problem, r.routes, decision)).prompt
    })
    const ids = yield* Effect.forEach(prompts, (p) => PromptText.encode(tokenizer, p))
    const out = yield* policy.generate(
      ids.map((prompt) => ({ prompt })),
      { maxNewTokens: 224 }
    )
    const replies = prompts.map((p, i) => Prompt.reply(p, out[i]?.[0]?.text ?? ""))
    const right = records.filter((r, i) => Answer.judge(r.problem, replies[i]!).correct).length
    console.log(`${condition.name}: ${right}/${records.length} right (greedy)`)
    replies
      .slice(0, show)
      .forEach((reply, i) =>
        console.log(
          `  ${records[i]?.problem.id} (gold ${records[i]?.problem.gold}):\n    ${reply.replace(/\n/g, "\n    ")}`
        )
      )
  }
})

Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(NodeServices.layer))).catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
