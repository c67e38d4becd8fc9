/**
 * Supervised fine-tuning on the corpus' rules-free view (guided-CoT distillation): each positive route is a target
 * completion for the problem's prompt without the rulebook, optionally mixed with MRPV-style warm-start examples
 * from `Verifier.example` so a model learns the verdict format before RL. Loss on completion tokens only, length
 * buckets, warmup + cosine/linear LR, clipping, accumulation over micro-batches, periodic held-out loss,
 * checkpoints and exact resume.
 */
import type { PolicyTrainer } from "@realm-lm/core"
import { Rng, Verifier } from "@realm-lm/core"
import { Effect, Schema } from "effect"
import * as Data from "./internal/data.ts"
import * as Run from "./internal/run.ts"
import * as Steps from "./internal/steps.ts"
import * as Supervised from "./internal/supervised.ts"
import * as WarmRedraw from "./internal/warmRedraw.ts"
import type { TrainerConfig } from "./TrainerConfig.ts"
import { microBatchTokensFor } from "./TrainerConfig.ts"
import type { RunError } from "./TrainerErrors.ts"
import { TrainingDataError } from "./TrainerErrors.ts"

/** Everything SFT can fail with. */
export type SftError = RunError

const SftData = Schema.Struct({ position: Data.PositionSchema })

/** The examples of an SFT run, split into training and held-out sets by problem id. */
export const examples = (
  verifier: Verifier.Verifier["Service"],
  corpus: Data.Corpus,
  config: TrainerConfig
): Effect.Effect<
  {
    readonly train: Array<Data.TextExample>
    readonly heldOut: Array<Data.TextExample>
    /** Warm starts of epoch `e` (`warmStart.redraw`): a fresh draw of as many as the training set holds. */
    readonly warmDraw: (epoch: number) => Effect.Effect<Array<Data.TextExample>, Verifier.VerifierError>
  },
  Verifier.VerifierError
> =>
  Effect.gen(function* () {
    const c = config.sft
    const held = (id: string) => Data.isHeldOut(config.seed, id, c.heldOutFraction)
    const options = {
      prompt: c.prompt,
      routesPerProblem: c.routesPerProblem,
      warm: c.warmStart,
      rng: Rng.Rng.make(config.seed, "sft", "warm-start")
    }
    const trainCorpus = {
      records: corpus.records.filter((r) => !held(r.problem.id)),
      pairs: corpus.pairs.filter((p) => !held(p.problemId))
    }
    const train = [
      ...(yield* Data.sftExamples(verifier, trainCorpus, options)),
      ...(c.warmStart.drills > 0 ? (Data.drillExamples(verifier, c.warmStart.drills, config.seed) ?? []) : [])
    ]
    const heldOut = yield* Data.sftExamples(
      verifier,
      {
        records: corpus.records.filter((r) => held(r.problem.id)),
        pairs: corpus.pairs.filter((p) => held(p.problemId))
      },
      { ...options, warm: { ...options.warm, ratio: 0 } }
    )
    const warmCount = train.filter((e) => e.kind === "warm").length
    const warmDraw = (epoch: number) =>
      Data.warmStartExamples(
        verifier,
        trainCorpus.records,
        warmCount,
        c.warmStart,
        Rng.Rng.make(config.seed, "sft", "warm-start", epoch)
      )
    return { train, heldOut: heldOut.slice(0, c.heldOutMax), warmDraw }
  })

/**
 * Why a corpus gave SFT no training example at all (checked before the model is loaded): the corpus has no positive
 * route (the teacher never reached a gold answer), or every problem with one fell in the held-out fraction.
 */
export const noExamples = (
  path: string,
  corpus: Data.Corpus,
  config: TrainerConfig
): Effect.Effect<never, TrainingDataError> => {
  const routes = corpus.records.reduce((n, r) => n + r.routes.length, 0)
  const positives = corpus.records.filter((r) => r.routes.some((x) => x.label === "positive")).length
  if (positives === 0 && corpus.pairs.length === 0) {
    return Effect.fail(
      new TrainingDataError({
        path,
        detail: `the corpus has no positive routes: none of its ${routes} routes over ${corpus.records.length} problems reached the gold answer, so SFT has no completion to learn`,
        fix:
          "check that the teacher's answers and the gold answers are judged alike (the judge's answer type, the task's mapping.gold and answerType; " +
          "a few routes' `answer` against their problem's `gold` in the corpus show it), or use a stronger teacher, then rebuild the corpus"
      })
    )
  }
  return Effect.fail(
    new TrainingDataError({
      path,
      detail: `all ${positives + corpus.pairs.length} problems with a positive route fell in the held-out fraction (sft.heldOutFraction ${config.sft.heldOutFraction})`,
      fix: "lower sft.heldOutFraction or add problems"
    })
  )
}

/**
 * Run SFT: from `request.init` (or the newest checkpoint in `request.outDir` when `request.resume`), on
 * `request.corpus`, writing checkpoints, `metrics.jsonl` and TensorBoard logs to `request.outDir`. Returns the
 * final checkpoint (`<outDir>/final`, a Hugging Face directory with `onnx/model.onnx`).
 */
export const train: Run.Train<SftError, Verifier.Verifier> = Effect.fn("trainer.sft")(function* (
  request: PolicyTrainer.TrainRequest,
  config: TrainerConfig
) {
  const verifier = yield* Verifier.Verifier
  const corpus = yield* Data.withDifficulties(
    yield* Data.read(request.corpus),
    config.sft.difficulties,
    "sft.difficulties"
  )
  const texts = yield* examples(verifier, corpus, config)
  // Drills are practice beside the corpus, not a corpus: a corpus that gives SFT nothing fails as without them.
  if (!texts.train.some((e) => e.kind !== "drill")) return yield* noExamples(request.corpus, corpus, config)
  if (config.sft.warmStart.drills > 0 && verifier.drills === undefined) {
    return yield* new TrainingDataError({
      path: request.corpus,
      detail: `sft.warmStart.drills is ${config.sft.warmStart.drills}, but the verifier offers no drills in its current format`,
      fix: "leave sft.warmStart.drills out, or use a verifier with drills (MRPV: verifier.with { order: solve-first, echoAnswers: true, compareAnswers: true })"
    })
  }
  const warm = texts.train.filter((e) => e.kind === "warm")
  if (config.sft.warmStart.emphasis !== 1 && warm.length > 0 && !warm.some((e) => (e.emphasis?.length ?? 0) > 0)) {
    return yield* new TrainingDataError({
      path: request.corpus,
      detail: `sft.warmStart.emphasis is ${config.sft.warmStart.emphasis}, but the verifier marks no decision in any of the ${warm.length} warm-start completions (its examples carry no emphasis ranges), so there is nothing to weigh`,
      fix: "leave sft.warmStart.emphasis out, or use a verifier whose examples mark their decisions (MRPV marks each route's verdict)"
    })
  }
  const run = yield* Run.open("sft", request, config, { kind: "sft" })
  const { engine } = run
  const buckets = config.batching.buckets
  const maxTokens = buckets.at(-1) as number
  const emphasis = config.sft.warmStart.emphasis
  const trainSet = yield* Supervised.tokenize(engine, texts.train, maxTokens, emphasis)
  if (trainSet.examples.length === 0) {
    return yield* new TrainingDataError({
      path: request.corpus,
      detail: `no training example fits the largest bucket (${maxTokens} tokens); ${trainSet.tooLong} are longer`,
      fix: "raise batching.buckets or shorten the data"
    })
  }
  const heldSet = yield* Supervised.tokenize(engine, texts.heldOut, maxTokens)
  const heldBatches = Supervised.evalBatches(
    engine,
    heldSet.examples,
    buckets,
    config.batching.microBatch,
    microBatchTokensFor(config.batching, engine.config.vocabSize)
  )
  const total = Supervised.totalSteps(config.sft, trainSet.examples.length)
  const redraw = config.sft.warmStart.redraw
    ? WarmRedraw.make(
        engine,
        trainSet.examples.filter((e) => e.kind !== "warm"),
        trainSet.examples.filter((e) => e.kind === "warm"),
        texts.warmDraw,
        maxTokens,
        emphasis
      )
    : undefined
  const source = redraw?.source ?? Supervised.fixedSource(trainSet.examples)
  const resumedData = run.resumed === undefined ? undefined : Schema.decodeUnknownSync(SftData)(run.resumed.state.data)
  const cursor = Supervised.cursorAt(resumedData?.position, run.resumed?.state.counters)
  const evalEvery = config.sft.evalEvery
  return yield* Run.loop(run, {
    total,
    label: "sft",
    detailKeys: ["loss", "heldout_loss", "lr"],
    step: (n) =>
      Effect.gen(function* () {
        if (redraw !== undefined)
          yield* redraw.prepare(Supervised.epochsAhead(cursor.position, source.count, config.sft.batchSize))
        const stepMetrics = yield* Supervised.step(
          engine,
          config,
          {
            phase: "sft",
            stream: "sft-order",
            examples: source,
            section: config.sft,
            scheduleTotal: total,
            stepNumber: n
          },
          cursor
        )
        const metrics: Record<string, number> = {
          ...stepMetrics,
          skipped_steps: cursor.skipped,
          too_long: trainSet.tooLong,
          train_examples: trainSet.examples.length,
          ...(emphasis === 1 ? {} : { emphasis_unaligned: trainSet.unaligned + (redraw?.unaligned() ?? 0) })
        }
        if (heldBatches.length > 0 && ((evalEvery > 0 && n % evalEvery === 0) || n === total)) {
          metrics["heldout_loss"] = yield* Steps.evaluate(engine.trainer(), heldBatches)
        }
        return metrics
      }),
    snapshot: (n, metrics) =>
      Effect.succeed({
        step: n,
        data: { position: { ...cursor.position } },
        metrics,
        counters: { skipped_steps: cursor.skipped }
      })
  })
}, Effect.scoped)
