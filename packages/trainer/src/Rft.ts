/**
 * Rejection-sampling fine-tuning (RFT), the baseline that learns only from its own correct answers: each round
 * samples completions from the current policy on the problems' autonomous prompts, keeps the distinct ones the
 * task's `AnswerJudge` marks correct (never truncated ones), and fine-tunes on them with the SFT machinery. A
 * round's kept examples are saved (`<outDir>/rft/round-<r>.jsonl`) so a resumed run trains on the same data.
 */
import type { CorpusRecord, PolicyTrainer } from "@realm-lm/core"
import { AnswerJudge, Prompt, Rng, Verifier } from "@realm-lm/core"
import { RunDir } from "@realm-lm/core/node"
import { Effect, FileSystem, Path, Schema } from "effect"
import * as Data from "./internal/data.ts"
import type { Engine } from "./internal/engine.ts"
import * as Run from "./internal/run.ts"
import * as Supervised from "./internal/supervised.ts"
import type { TrainerConfig } from "./TrainerConfig.ts"
import type { RunError } from "./TrainerErrors.ts"
import { EngineFailed, TrainingDataError } from "./TrainerErrors.ts"

/** Everything RFT can fail with. */
export type RftError = RunError

const RftData = Schema.Struct({ round: Schema.Int, position: Data.PositionSchema })
const KeptLine = Schema.Struct({ problemId: Schema.String, prompt: Schema.Json, completion: Schema.String })

/** Prompts sampled per generate call (bounds memory; G samples each). */
const chunk = 16

/** Sample, judge and keep: the examples of one round, plus sampling statistics. */
const collect = (
  engine: Engine,
  verifier: Verifier.Verifier["Service"],
  judge: AnswerJudge.AnswerJudge["Service"],
  records: ReadonlyArray<CorpusRecord.CorpusRecord>,
  config: TrainerConfig,
  round: number
) =>
  Effect.gen(function* () {
    const rft = config.rft
    const g = config.generation
    const kept: Array<Data.TextExample> = []
    let sampled = 0
    let correct = 0
    let generated = 0
    const t0 = performance.now()
    for (let start = 0; start < records.length; start += chunk) {
      const part = records.slice(start, start + chunk)
      const prepared: Array<{
        record: CorpusRecord.CorpusRecord
        prompt: Data.TextExample["prompt"]
        ids: Array<number>
      }> = []
      for (const record of part) {
        const prompt = yield* Data.problemPrompt(verifier, rft.train.prompt, record.problem, record.routes)
        const ids = yield* engine.encodePrompt(prompt)
        if (ids.length <= g.maxPromptTokens) prepared.push({ record, prompt, ids })
      }
      if (prepared.length === 0) continue
      const out = yield* engine.policy
        .generate(
          prepared.map((p) => ({
            prompt: p.ids,
            samples: rft.samples,
            rng: Rng.Rng.make(config.seed, "rft-sample", round, p.record.problem.id)
          })),
          {
            maxNewTokens: g.maxNewTokens,
            sampling: { temperature: g.temperature, topK: g.topK, topP: g.topP },
            stopTokens: [engine.eos]
          }
        )
        .pipe(Effect.mapError((e) => new EngineFailed({ operation: "generate", detail: `${e._tag}: ${e.message}` })))
      prepared.forEach((p, i) => {
        const seen = new Set<string>()
        for (const c of out[i] ?? []) {
          sampled += 1
          generated += c.tokens.length
          const text = c.text ?? engine.tokenizer.decode(c.tokens, { skipSpecialTokens: true })
          if (!judge.judge(p.record.problem, Prompt.reply(p.prompt, text)).correct) continue
          correct += 1
          if (c.finishReason === "length" || seen.has(text) || seen.size >= rft.keepPerProblem) continue
          seen.add(text)
          kept.push({ problemId: p.record.problem.id, prompt: p.prompt, completion: text, kind: "plain" })
        }
      })
    }
    const seconds = (performance.now() - t0) / 1000
    return {
      kept,
      stats: {
        rft_sampled: sampled,
        rft_sample_accuracy: sampled === 0 ? Number.NaN : correct / sampled,
        rft_kept: kept.length,
        time_rollout: seconds,
        tokens_per_second: generated / Math.max(seconds, 1e-9)
      }
    }
  })

/**
 * Run RFT from `request.init` on the corpus' problems (`rft.problems` per round, seeded order), writing checkpoints
 * and metrics to `request.outDir`; resumes exactly when `request.resume`. Returns the final checkpoint.
 */
export const train: Run.Train<RftError, Verifier.Verifier | AnswerJudge.AnswerJudge> = Effect.fn("trainer.rft")(
  function* (request: PolicyTrainer.TrainRequest, config: TrainerConfig) {
    const verifier = yield* Verifier.Verifier
    const judge = yield* AnswerJudge.AnswerJudge
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const rft = config.rft
    const corpus = yield* Data.withDifficulties(yield* Data.read(request.corpus), rft.difficulties, "rft.difficulties")
    if (corpus.records.length === 0) {
      return yield* new TrainingDataError({
        path: request.corpus,
        detail: "RFT samples problems and judges answers, but the file has only SftExample lines",
        fix: "pass the corpus.jsonl of CorpusRecord lines"
      })
    }
    const run = yield* Run.open("rft", request, config, { kind: "sft" })
    const { engine } = run
    const perRound = Supervised.totalSteps(
      rft.train,
      Math.min(rft.problems ?? corpus.records.length, corpus.records.length) * rft.keepPerProblem
    )
    const total = rft.rounds * perRound
    const resumedData =
      run.resumed === undefined ? undefined : Schema.decodeUnknownSync(RftData)(run.resumed.state.data)
    const cursor = Supervised.cursorAt(resumedData?.position, run.resumed?.state.counters)
    const roundFile = (r: number) => path.join(request.outDir, "rft", `round-${r}.jsonl`)
    const platform = (e: { readonly message: string }) =>
      new EngineFailed({ operation: "rft round data", detail: e.message })
    let current: { round: number; examples: Array<Supervised.Tokenized> } | undefined

    const roundData = (r: number) =>
      Effect.gen(function* () {
        const file = roundFile(r)
        let texts: Array<Data.TextExample>
        let stats: Record<string, number> = {}
        if (yield* Effect.orElseSucceed(fs.exists(file), () => false)) {
          const text = yield* Effect.mapError(fs.readFileString(file), platform)
          texts = text
            .split("\n")
            .filter((l) => l.length > 0)
            .map((l) => {
              const k = Schema.decodeUnknownSync(KeptLine)(JSON.parse(l))
              return {
                problemId: k.problemId,
                prompt: k.prompt as unknown as Data.TextExample["prompt"],
                completion: k.completion,
                kind: "plain" as const
              }
            })
        } else {
          const order = Data.epochOrder(config.seed, "rft-problems", r, corpus.records.length).slice(
            0,
            rft.problems ?? corpus.records.length
          )
          const collected = yield* collect(
            engine,
            verifier,
            judge,
            order.map((i) => corpus.records[i]!),
            config,
            r
          )
          texts = collected.kept
          stats = collected.stats
          yield* Effect.mapError(
            RunDir.writeFileAtomic(
              file,
              texts
                .map(
                  (t) => `${JSON.stringify({ problemId: t.problemId, prompt: t.prompt, completion: t.completion })}\n`
                )
                .join("")
            ),
            platform
          )
        }
        const tokenized = yield* Supervised.tokenize(engine, texts, config.batching.buckets.at(-1) as number)
        current = { round: r, examples: tokenized.examples }
        return stats
      })

    return yield* Run.loop(run, {
      total,
      label: "rft",
      detailKeys: ["loss", "rft_sample_accuracy", "rft_kept", "lr"],
      step: (n) =>
        Effect.gen(function* () {
          const r = Math.floor((n - 1) / perRound)
          let metrics: Record<string, number> = { round: r }
          if (current?.round !== r) {
            if ((n - 1) % perRound === 0) cursor.position = { epoch: 0, index: 0 }
            metrics = { ...metrics, ...(yield* roundData(r)) }
          }
          const examples = current?.examples ?? []
          if (examples.length === 0) return { ...metrics, loss: Number.NaN, examples: 0, skipped_steps: cursor.skipped }
          const stepMetrics = yield* Supervised.step(
            engine,
            config,
            {
              phase: "rft",
              stream: `rft-order-${r}`,
              examples: Supervised.fixedSource(examples),
              section: rft.train,
              scheduleTotal: total,
              stepNumber: n
            },
            cursor
          )
          return { ...metrics, ...stepMetrics, round_examples: examples.length, skipped_steps: cursor.skipped }
        }),
      snapshot: (n, metrics) =>
        Effect.succeed({
          step: n,
          data: { round: Math.floor(n / perRound), position: { ...cursor.position } },
          metrics,
          counters: { skipped_steps: cursor.skipped }
        })
    })
  },
  Effect.scoped
)
