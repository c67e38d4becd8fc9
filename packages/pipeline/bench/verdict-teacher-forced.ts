/**
 * Does a checkpoint know the right verdicts when the rest of the target is given? (issue 12; docs/EXPERIMENTS.md, D12
 * and D13.) For the first `n` records of a corpus, one MRPV warm-start target each (3 routes, the verifier config
 * below, decision seed 1000 + i, so other route draws than SFT's), and for each of its verdict words the sum of
 * log-probabilities of the target up to that word ending in `correct` and in `wrong` (teacher-forced, after the
 * prompt): the verdict is the likelier one. Prints how many are right, per route position, and for positive routes.
 *
 * Run: `node --conditions=@realm-lm/source packages/pipeline/bench/verdict-teacher-forced.ts <checkpoint> <corpus.jsonl> [n=60]`
 * (the verifier settings are the compared-answers format of experiments 2-6 and D8-D13).
 */
import { NodeServices } from "@effect/platform-node"
import { Policy, PromptText, Tokenizer } from "@realm-lm/lm"
import { MrpvConfig, Target } from "@realm-lm/mrpv"
import { Effect, Result, Schema } from "effect"
import { readFileSync } from "node:fs"

const [checkpoint, corpusFile, nArg] = process.argv.slice(2)
if (checkpoint === undefined || corpusFile === undefined) {
  console.error("usage: verdict-teacher-forced.ts <checkpoint> <corpus.jsonl> [n=60]")
  process.exit(2)
}
const config = Schema.decodeUnknownSync(MrpvConfig.MrpvConfig)({
  style: "compact",
  order: "solve-first",
  echoAnswers: true,
  compareAnswers: true
})
const records = readFileSync(corpusFile, "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l))
  .filter((r) => r.problem !== undefined && Array.isArray(r.routes))
  .slice(0, Number(nArg ?? 60))

const sum = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0)

const run = Effect.gen(function* () {
  const tokenizer = yield* Tokenizer.load(checkpoint)
  const policy = yield* Policy.load(checkpoint, { runtime: { intraOpThreads: 1 } })
  let right = 0
  let total = 0
  let positives = 0
  let positivesRight = 0
  const byPosition: Array<[number, number]> = []
  for (const [i, r] of records.entries()) {
    const pair = Result.getOrThrow(
      Target.sftPair(config, r.problem, r.routes, {
        problemId: r.problem.id,
        strength: 1,
        routeCount: 3,
        hintFraction: 0,
        rescue: false,
        seed: 1000 + i
      })
    )
    const prompt = yield* PromptText.encode(tokenizer, pair.prompt)
    const spans = pair.emphasis ?? []
    const scores = yield* policy.score(
      spans.flatMap((s) =>
        ["correct", "wrong"].map((w) => ({
          prompt,
          completion: tokenizer.encode(pair.completion.slice(0, s.start) + w)
        }))
      )
    )
    spans.forEach((s, j) => {
      const said = sum(scores[2 * j]!) > sum(scores[2 * j + 1]!) ? "correct" : "wrong"
      const truth = pair.completion.slice(s.start, s.end)
      const ok = said === truth ? 1 : 0
      total += 1
      right += ok
      byPosition[j] = [(byPosition[j]?.[0] ?? 0) + ok, (byPosition[j]?.[1] ?? 0) + 1]
      if (truth === "correct") {
        positives += 1
        positivesRight += ok
      }
    })
  }
  const pct = (a: number, b: number) => `${((100 * a) / Math.max(1, b)).toFixed(1)}% (${a} of ${b})`
  console.log(`verdicts right, teacher-forced: ${pct(right, total)}`)
  byPosition.forEach(([a, b], j) => console.log(`  route ${String.fromCharCode(65 + j)}: ${pct(a, b)}`))
  console.log(`  positive routes: ${pct(positivesRight, positives)}`)
})

Effect.runPromise(run.pipe(Effect.scoped, Effect.provide(NodeServices.layer))).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
