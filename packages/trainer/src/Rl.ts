/**
 * GRPO-family RL: each step takes B = batchSize / groupSize problems, asks the `Curriculum` for their guidance,
 * builds prompts with the `Verifier`, samples G completions per prompt with the current weights, scores them, feeds
 * outcomes back (zero-variance groups are re-sampled with the curriculum's rescue decision, or dropped and counted),
 * optionally adds a route trace to groups that all failed while the curriculum guides (`rl.routeTraces`),
 * computes group-normalised advantages and takes μ clipped-surrogate updates (separate ε low/high, optional k3 KL
 * to the frozen initial policy, token or sequence aggregation) on exactly the prompts the completions came from.
 */
import type { CorpusRecord, PolicyTrainer } from "@realm-lm/core"
import { Curriculum, Verifier } from "@realm-lm/core"
import { Policy, Pretrained } from "@realm-lm/lm"
import { Effect, Schema } from "effect"
import * as Data from "./internal/data.ts"
import * as Rollout from "./internal/rollout.ts"
import * as RlStep from "./internal/rlStep.ts"
import * as RouteTraces from "./internal/routeTraces.ts"
import * as Run from "./internal/run.ts"
import * as Steps from "./internal/steps.ts"
import { learningRate } from "./LrSchedule.ts"
import type { TrainerConfig } from "./TrainerConfig.ts"
import { headWindowFor, microBatchTokensFor } from "./TrainerConfig.ts"
import type { RunError } from "./TrainerErrors.ts"
import { EngineFailed, TrainingDataError } from "./TrainerErrors.ts"

/** Everything RL can fail with. */
export type RlError = RunError | Curriculum.CurriculumStateError | Curriculum.CurriculumHorizonInvalid

const RlData = Schema.Struct({ position: Data.PositionSchema })

const failed = (operation: string) => (e: { readonly _tag: string; readonly message: string }) =>
  new EngineFailed({ operation, detail: `${e._tag}: ${e.message}` })

/**
 * Run RL from `request.init` (usually an SFT checkpoint; the base model for ReaLM-Zero) on the corpus' records,
 * writing checkpoints, `metrics.jsonl` and TensorBoard logs to `request.outDir`; resumes exactly from the newest
 * checkpoint when `request.resume`. Returns the final checkpoint.
 */
export const train: Run.Train<RlError, Verifier.Verifier | Curriculum.Curriculum> = Effect.fn("trainer.rl")(function* (
  request: PolicyTrainer.TrainRequest,
  config: TrainerConfig
) {
  const verifier = yield* Verifier.Verifier
  const curriculum = yield* Curriculum.Curriculum
  const rl = config.rl
  const corpus = yield* Data.withDifficulties(yield* Data.read(request.corpus), rl.difficulties, "rl.difficulties")
  const pool: ReadonlyArray<CorpusRecord.CorpusRecord> = corpus.records
  if (pool.length === 0) {
    return yield* new TrainingDataError({
      path: request.corpus,
      detail: "RL needs problems, but the file has only SftExample lines",
      fix: "pass the corpus.jsonl of CorpusRecord lines, not sft.jsonl"
    })
  }
  const run = yield* Run.open("rl", request, config, { kind: "policy", rl })
  const { engine } = run
  const reference =
    rl.klCoef > 0
      ? yield* Effect.flatMap(Effect.mapError(Pretrained.load(request.init), failed("load reference")), (init) =>
          Effect.mapError(
            Policy.make({ config: init.config, weights: init.weights }, { runtime: config.runtime }),
            failed("start reference")
          )
        )
      : undefined
  if (run.resumed?.state.curriculum !== undefined) yield* curriculum.restore(run.resumed.state.curriculum)
  // The curriculum learns the run's length from the trainer, so its schedule needs no copy of `rl.steps`.
  if (curriculum.start !== undefined) yield* curriculum.start({ totalSteps: rl.steps })
  const resumedData = run.resumed === undefined ? undefined : Schema.decodeUnknownSync(RlData)(run.resumed.state.data)
  const cursor = { position: resumedData?.position ?? { epoch: 0, index: 0 } }
  const counters: Record<string, number> = {
    skipped_steps: 0,
    dropped_groups: 0,
    rescue_groups: 0,
    prompts_too_long: 0,
    ...run.resumed?.state.counters
  }
  const prompts = rl.batchSize / rl.groupSize
  const scheduleTotal = rl.steps * rl.innerSteps
  const evalSet = pool.slice(0, rl.evalProblems)

  const step = (n: number) =>
    Effect.gen(function* () {
      const t = n - 1
      const { items, next } = Data.take(config.seed, "rl-order", pool.length, cursor.position, prompts)
      const batch = items.map((i) => pool[i]!)
      const decisions = yield* curriculum.decide(
        t,
        batch.map((r) => r.problem)
      )
      const sampleOptions = { seed: config.seed, step: t, groupSize: rl.groupSize, generation: config.generation }
      const first = yield* Rollout.sample(
        engine,
        verifier,
        batch.map((r, i) => ({
          problem: r.problem,
          routes: r.routes,
          decision: decisions[i]!
        })),
        { ...sampleOptions, round: 0 }
      )
      const groups = [...first.groups]
      let { tooLong, generateSeconds, scoreSeconds, generatedTokens } = first
      let rescues = yield* curriculum.observe(t, first.groups.map(Rollout.outcome))
      for (let round = 1; rl.zeroVariance === "rescue" && rescues.length > 0 && round <= rl.maxRescueRounds; round++) {
        const requests = rescues.flatMap((d) => {
          const r = batch.find((x) => x.problem.id === d.problemId)
          return r === undefined ? [] : [{ problem: r.problem, routes: r.routes, decision: d }]
        })
        const more = yield* Rollout.sample(engine, verifier, requests, { ...sampleOptions, round })
        groups.push(...more.groups)
        tooLong += more.tooLong
        generateSeconds += more.generateSeconds
        scoreSeconds += more.scoreSeconds
        generatedTokens += more.generatedTokens
        rescues = yield* curriculum.observe(t, more.groups.map(Rollout.outcome))
      }
      // Route traces are guidance: only while the curriculum guides (never for a no-guidance baseline).
      const traced =
        rl.routeTraces && curriculum.strength(t) > 0
          ? yield* RouteTraces.add(engine, verifier, groups, config.generation.maxNewTokens)
          : undefined
      const prepared = RlStep.prepare(traced?.groups ?? groups, rl.advantage, rl.maskTruncated)
      let rollouts = prepared.rollouts
      const s0 = performance.now()
      if (rollouts.length > 0 && rl.oldLogProbs === "rescore") {
        const old = yield* Effect.mapError(engine.policy.score(rollouts), failed("score"))
        rollouts = rollouts.map((r, i) => ({ ...r, oldLogProbs: old[i]! }))
      } else if (prepared.offPolicy.length > 0) {
        // A trace was not sampled: its old log-probs are the current weights' (ratio 1 at the first update).
        const old = yield* Effect.mapError(
          engine.policy.score(prepared.offPolicy.map((i) => rollouts[i]!)),
          failed("score route traces")
        )
        rollouts = [...rollouts]
        prepared.offPolicy.forEach((i, k) => {
          rollouts[i] = { ...rollouts[i]!, oldLogProbs: old[k]! }
        })
      }
      if (rollouts.length > 0 && reference !== undefined) {
        const ref = yield* Effect.mapError(reference.score(rollouts), failed("score reference"))
        rollouts = rollouts.map((r, i) => ({ ...r, refLogProbs: ref[i]! }))
      }
      scoreSeconds += (performance.now() - s0) / 1000
      const u0 = performance.now()
      let update: Record<string, number> = { loss: Number.NaN, grad_norm: Number.NaN }
      if (rollouts.length > 0) {
        const micro = Steps.policyMicroBatches(
          rollouts,
          config.batching.buckets,
          config.batching.microBatch,
          engine.pad,
          rl.aggregate,
          microBatchTokensFor(config.batching, engine.config.vocabSize),
          headWindowFor(config.memory, config.generation.maxNewTokens)
        )
        for (let k = 0; k < rl.innerSteps; k++) {
          const lr = learningRate(rl.lr, engine.trainer().steps(), scheduleTotal)
          const guard = Steps.guardFor("rl", config.guards, n, counters["skipped_steps"]!)
          const r = yield* Steps.step(engine.trainer(), micro, lr, guard)
          if (r.skipped) counters["skipped_steps"] = counters["skipped_steps"]! + 1
          update = { loss: r.loss, grad_norm: r.gradNorm, lr, ...r.metrics }
        }
        // Without a reference the objective's `kl` output is a constant 0: not a measurement, so not logged.
        if (reference === undefined) delete update["kl"]
      }
      const updateSeconds = (performance.now() - u0) / 1000
      const trainedTokens = rollouts.reduce((s, r) => s + r.prompt.length + r.completion.length - 1, 0) * rl.innerSteps
      cursor.position = next
      counters["dropped_groups"] = counters["dropped_groups"]! + prepared.zeroVarianceGroups
      counters["rescue_groups"] = counters["rescue_groups"]! + groups.filter((g) => g.round > 0).length
      counters["prompts_too_long"] = counters["prompts_too_long"]! + tooLong
      const metrics: Record<string, number> = {
        ...RlStep.rolloutMetrics(groups),
        ...RlStep.advantageMetrics(prepared.advantages),
        ...update,
        strength: curriculum.strength(t),
        zero_variance_fraction: groups.length === 0 ? Number.NaN : prepared.zeroVarianceGroups / groups.length,
        dropped_groups: prepared.zeroVarianceGroups,
        trained_completions: rollouts.length,
        truncated_masked: prepared.truncatedMasked,
        prompts_too_long: tooLong,
        tokens_per_second: generatedTokens / Math.max(generateSeconds, 1e-9),
        update_tokens_per_second: trainedTokens / Math.max(updateSeconds, 1e-9),
        time_rollout: generateSeconds,
        time_scoring: scoreSeconds,
        time_update: updateSeconds,
        skipped_steps: counters["skipped_steps"]!,
        ...(rl.routeTraces ? RlStep.traceMetrics(traced) : {})
      }
      if (rl.evalEvery > 0 && (n % rl.evalEvery === 0 || n === rl.steps)) {
        const evaluated = yield* Rollout.sample(
          engine,
          verifier,
          evalSet.map((r) => ({ problem: r.problem, routes: r.routes, decision: Data.autonomous(r.problem.id) })),
          { ...sampleOptions, round: -1, groupSize: 1, greedy: true }
        )
        metrics["eval_accuracy"] =
          evaluated.groups.length === 0
            ? Number.NaN
            : evaluated.groups.filter((g) => g.samples[0]?.reward.correct === true).length / evaluated.groups.length
      }
      return metrics
    })

  return yield* Run.loop(run, {
    total: rl.steps,
    label: "rl",
    detailKeys: ["reward_mean", "truth_accuracy", "strength", "loss"],
    step,
    snapshot: (n, metrics) =>
      Effect.map(curriculum.snapshot, (c) => ({
        step: n,
        data: { position: { ...cursor.position } },
        curriculum: c,
        metrics,
        counters: { ...counters }
      }))
  })
}, Effect.scoped)
