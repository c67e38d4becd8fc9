/**
 * A language-model policy for trainers: config, tokenizer and one parameter state shared by generation, scoring
 * and training sessions (all compiled on one executor, so a training step's new weights are what the next
 * `generate` runs, with no copy). Made inside a scope; sessions and state are released when it closes.
 */
import type { Trainer as GraphTrainer } from "@realm-lm/graph"
import { Device, Executor, Session, Trainer, Training } from "@realm-lm/graph"
import { ConfigDecode, Rng } from "@realm-lm/core"
import type { PlatformError } from "effect"
import { Effect, FileSystem, Path, Schema, Scope } from "effect"
import * as Export from "./Export.ts"
import * as Generator from "./Generator.ts"
import * as Lora from "./Lora.ts"
import type { ModelConfig } from "./ModelConfig.ts"
import * as Objectives from "./Objectives.ts"
import * as Pretrained from "./Pretrained.ts"
import * as Scoring from "./Scoring.ts"
import * as Tokenizer from "./Tokenizer.ts"
import * as Weights from "./Weights.ts"

/** Policy settings, decoded before any work (all optional). */
export const PolicyConfig = Schema.Struct({
  /** Device and threads (`@realm-lm/graph` RuntimeConfig). Default CPU, all cores. */
  runtime: Schema.optionalKey(Device.RuntimeConfig),
  /** Generation buckets and batching. */
  generator: Schema.optionalKey(Generator.GeneratorConfig),
  /** Scoring buckets and batching. */
  scorer: Schema.optionalKey(Scoring.ScorerConfig),
  /** Optimizer and clipping. Default AdamW (β 0.9/0.999, weight decay 0.01) with clipNorm 1. */
  training: Schema.optionalKey(Training.TrainingConfig),
  /** Policy-gradient objective. Default clip 0.2/0.2, no KL, token aggregation. */
  objective: Schema.optionalKey(Objectives.PolicyObjective),
  /**
   * LM head of the training graphs: `vocabChunk` (vocabulary rows, a positive integer) computes log-probs and their
   * gradients a chunk at a time, never holding `[batch, length, vocab]` logits. Default: unset, the full logits.
   */
  head: Schema.optionalKey(
    Schema.Struct({ vocabChunk: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))) })
  ),
  /**
   * Decoder layers of the training graphs whose activations the backward recomputes instead of keeping them
   * (`@realm-lm/graph` `Recompute`): `true` = every layer, or a list of layer indices. Same loss and gradients, less
   * memory, one more forward of those layers per step. Default: none.
   */
  recompute: Schema.optionalKey(
    Schema.Union([Schema.Boolean, Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))])
  )
})
/** Policy settings. */
export type PolicyConfig = typeof PolicyConfig.Encoded

/** A right-padded causal-LM batch `[batch, length]` (the shape `@realm-lm/trainer`'s `Batching.makeBatch` returns). */
export interface TokenBatch {
  readonly batch: number
  readonly length: number
  /** Input ids. */
  readonly inputs: Int32Array
  /** Next-token targets. */
  readonly targets: Int32Array
  /** 1 where the target counts (completion tokens), else 0. */
  readonly lossMask: Float32Array
  /**
   * Set by `Batches.scoredWindow`: the loss is taken at `window` positions per row only, `scoredPositions` (int32
   * `[batch, window]`, flat indices into the `batch · length` inputs), and `targets`, `lossMask` (and a policy batch's
   * per-token arrays) are `[batch, window]`. The LM head then runs on those positions only.
   */
  readonly window?: number
  readonly scoredPositions?: Int32Array
}

/**
 * A policy-gradient batch: a token batch plus per-target-token advantages and log-probs, all `[batch, length]`, or
 * `[batch, window]` once scored (`Batches.scoredWindow`).
 */
export interface PolicyBatch extends TokenBatch {
  readonly advantages: Float32Array
  /** log π_old(target) (e.g. the generator's `logProbs`, or `score` before the update). */
  readonly oldLogProbs: Float32Array
  /** log π_ref(target); required when the objective's klCoef > 0. */
  readonly refLogProbs?: Float32Array
}

/**
 * A generation request: prompt token ids, or text encoded with the policy's tokenizer with its special tokens
 * (e.g. Llama's BOS), as `pipeline('text-generation')` does. Pass ids for chat-templated prompts.
 */
export interface Request extends Omit<Generator.Request, "prompt"> {
  readonly prompt: ReadonlyArray<number> | string
}

/** A completion with its decoded text (special tokens skipped) when the policy has a tokenizer. */
export interface Completion extends Generator.Completion {
  readonly text: string | undefined
}

/** The policy. */
export interface Policy {
  readonly config: ModelConfig
  readonly tokenizer: Tokenizer.Tokenizer | undefined
  /** The executor whose state holds the parameters (by Hugging Face name). */
  readonly executor: Executor.ExecutorShape
  /** Sample completions with the current weights (see `Generator`); `decode` comes from the tokenizer. */
  readonly generate: (
    requests: ReadonlyArray<Request>,
    options: Omit<Generator.GenerateOptions, "decode">
  ) => Effect.Effect<Array<Array<Completion>>, Generator.GenerateError>
  /** Teacher-forced log-probs of completions under the current weights. */
  readonly score: (
    requests: ReadonlyArray<Scoring.ScoreRequest>
  ) => Effect.Effect<Array<Float64Array>, Scoring.ScoreError>
  /** One optimizer step of completion-only cross entropy; several batches are micro-batches of one step (token-weighted). */
  readonly sftStep: (
    batch: TokenBatch | ReadonlyArray<TokenBatch>,
    options: { readonly lr: number }
  ) => Effect.Effect<StepResult, GraphTrainer.TrainError>
  /** One optimizer step of the policy-gradient objective; micro-batches weighted by tokens (token aggregation) or rows (sequence). */
  readonly policyStep: (
    batch: PolicyBatch | ReadonlyArray<PolicyBatch>,
    options: { readonly lr: number }
  ) => Effect.Effect<StepResult, GraphTrainer.TrainError>
  /** The current weights (on the CPU these are the state's own arrays: a snapshot, never mutated later). With LoRA, the base weights. */
  readonly weights: Effect.Effect<Weights.Weights, ReadError>
  /** The current LoRA adapters (every `A`, `B` by name, see `Lora.adapted`); empty without `config.lora`. */
  readonly adapters: Effect.Effect<Weights.Weights, ReadError>
  /** Replace the weights (validated against the config); the optimizer state is kept. */
  readonly setWeights: (weights: Weights.Weights) => Effect.Effect<void, Weights.WeightsMismatch>
  /** Forget optimizer moments and step counts (done automatically when switching between SFT and policy steps). */
  readonly resetOptimizer: () => void
  /** Write a Hugging Face directory with tokenizer files and `onnx/model.onnx` (see `Export.save`); LoRA adapters are merged into it. */
  readonly save: (
    dir: string,
    options?: Export.SaveOptions
  ) => Effect.Effect<
    void,
    ReadError | Export.ExportFailed | Weights.WeightsMismatch | PlatformError.PlatformError,
    FileSystem.FileSystem | Path.Path
  >
}

/** Result of one optimizer step. */
export interface StepResult {
  /** Mean loss over the step's micro-batches (weighted as the gradient). */
  readonly loss: number
  readonly gradNorm: number
  /** Optimizer steps of the current objective so far. */
  readonly step: number
  /** Objective metrics of the last micro-batch (`tokens`; `clip_fraction`, `kl`, `ratio_mean`). */
  readonly metrics: Readonly<Record<string, number>>
}

/** Errors of reading state back. */
export type ReadError = Effect.Error<ReturnType<Executor.ExecutorShape["read"]>>

/** What a policy starts from. */
export interface Init {
  readonly config: ModelConfig
  readonly weights: Weights.Weights
  readonly tokenizer?: Tokenizer.Tokenizer
  /** Directory holding the tokenizer files, copied on `save`. */
  readonly tokenizerDir?: string
  /** With `config.lora`: the adapters (names and shapes of `Lora.adapted`). Default `Lora.init(config, Rng.make("lora"))`: B = 0, the base model. */
  readonly adapters?: Weights.Weights
}

const scalarOf = (t: unknown): number => Number((t as { data: ArrayLike<number> }).data[0])

/** A policy on a fresh executor, with `init.weights` written into its state (wrapped, not copied). */
export const make = (init: Init, settings: PolicyConfig = {}) =>
  Effect.gen(function* () {
    const cfg = yield* ConfigDecode.decodeUnknownEffect(PolicyConfig)(settings)
    const { config } = init
    const executor = yield* Executor.make(cfg.runtime ?? {})
    const names = Weights.spec(config).map((p) => p.name)
    const setWeights = (weights: Weights.Weights) =>
      Effect.map(Weights.validate(config, weights), (valid) => {
        for (const [name, t] of valid) executor.state.setData(name, t.data, t.shape)
      })
    yield* setWeights(init.weights)
    const adapted = Lora.adapted(config)
    const adapterNames = adapted.flatMap((x) => [x.a.name, x.b.name])
    if (adapted.length > 0) {
      const adapters = yield* Lora.validate(config, init.adapters ?? Lora.init(config, Rng.Rng.make("lora")))
      for (const [name, t] of adapters) executor.state.setData(name, t.data, t.shape)
    }
    const generator = yield* Generator.make(executor, config, cfg.generator ?? {})
    const scorer = yield* Scoring.make(executor, config, cfg.scorer ?? {})
    const training = cfg.training ?? { optimizer: { kind: "adamw" as const }, clipNorm: 1 }
    const objective = cfg.objective ?? {}
    const head: Objectives.HeadOptions = {
      ...cfg.head,
      ...(cfg.recompute === undefined ? {} : { recompute: cfg.recompute })
    }
    const scope = yield* Effect.scope
    const trainers = new Map<"sft" | "policy", GraphTrainer.Trainer<Objectives.Bucket>>()
    let current: "sft" | "policy" | undefined

    const resetOptimizer = () => {
      for (const t of trainers.values()) {
        t.discard()
        t.setSteps(0)
      }
      for (const name of executor.state.names()) if (name.includes("::")) executor.state.delete(name)
    }
    const trainerFor = (kind: "sft" | "policy", bucket: Objectives.Bucket) =>
      Effect.gen(function* () {
        if (current !== kind) {
          if (current !== undefined) resetOptimizer()
          current = kind
        }
        const hit = trainers.get(kind)
        if (hit !== undefined) return hit
        const model =
          kind === "sft" ? Objectives.sftModel(config, head) : Objectives.policyModel(config, objective, head)
        const made = yield* Scope.provide(scope)(Trainer.make(executor, model, training, bucket)).pipe(
          Effect.catchTag("SchemaError", Effect.die)
        )
        trainers.set(kind, made)
        return made
      })

    /** Why a batch's scored window is inconsistent (window and positions set together, of `batch × window`), if it is. */
    const scoredMismatch = (b: TokenBatch): string | undefined => {
      if ((b.window === undefined) !== (b.scoredPositions === undefined))
        return `the batch sets ${b.window === undefined ? "scoredPositions without window" : "window without scoredPositions"}`
      if (b.window === undefined) return undefined
      const n = b.batch * b.window
      if (b.scoredPositions!.length !== n || b.targets.length !== n || b.lossMask.length !== n)
        return `a window of ${b.window} needs scoredPositions, targets and lossMask of ${n} (batch × window) entries, got ${b.scoredPositions!.length}, ${b.targets.length} and ${b.lossMask.length}`
      return undefined
    }

    const runStep = <B extends TokenBatch>(
      kind: "sft" | "policy",
      input: B | ReadonlyArray<B>,
      lr: number,
      feedsOf: (b: B) => Record<string, Float32Array | Int32Array>,
      weightOf: (b: B) => number
    ) =>
      Effect.gen(function* () {
        const batches: ReadonlyArray<B> = Array.isArray(input) ? input : [input as B]
        for (const b of batches) {
          const bad = scoredMismatch(b)
          if (bad !== undefined)
            return yield* new Session.FeedMismatch({
              graph: kind,
              input: Objectives.inputNames.scoredPositions,
              detail: bad,
              fix: "make scored batches with Batches.scoredWindow, which sets window, scoredPositions and the per-token arrays together"
            })
        }
        const first = batches[0]!
        const trainer = yield* trainerFor(kind, Objectives.bucketOf(first))
        const metricsOf = (m: Readonly<Record<string, unknown>>) =>
          Object.fromEntries(Object.entries(m).map(([k, v]) => [k, scalarOf(v)]))
        if (batches.length === 1) {
          const r = yield* trainer.step(feedsOf(first), { lr, bucket: Objectives.bucketOf(first) })
          return { loss: r.loss, gradNorm: r.gradNorm, step: r.step, metrics: metricsOf(r.metrics) }
        }
        let loss = 0
        let total = 0
        let metrics: Record<string, number> = {}
        for (const b of batches) {
          const w = Math.max(weightOf(b), 1e-12)
          const r = yield* (
            trainer
              .accumulate(feedsOf(b), { weight: w, bucket: Objectives.bucketOf(b) })
              // A failed micro-batch leaves part of the step accumulated: drop it, so the next step starts clean.
              .pipe(Effect.tapError(() => Effect.sync(() => trainer.discard())))
          )
          loss += w * r.loss
          total += w
          metrics = metricsOf(r.metrics)
        }
        const applied = yield* trainer.apply({ lr, bucket: Objectives.bucketOf(first) })
        return { loss: loss / total, gradNorm: applied.gradNorm, step: applied.step, metrics }
      })

    const tokensOf = (b: TokenBatch) => b.lossMask.reduce((s, v) => s + v, 0)

    const policy: Policy = {
      config,
      tokenizer: init.tokenizer,
      executor,
      generate: (requests, options) =>
        Effect.gen(function* () {
          const tok = init.tokenizer
          const encoded = yield* Effect.forEach(requests, (r, i) =>
            typeof r.prompt !== "string"
              ? Effect.succeed({ ...r, prompt: r.prompt })
              : tok === undefined
                ? Effect.fail(
                    new Generator.InvalidGenerateRequest({
                      request: i,
                      detail: "a text prompt needs a tokenizer",
                      fix: "pass token ids or give the policy a tokenizer"
                    })
                  )
                : Effect.succeed({ ...r, prompt: tok.encode(r.prompt, { addSpecialTokens: true }) })
          )
          const out = yield* generator.generate(encoded, {
            ...options,
            ...(tok === undefined ? {} : { decode: (ids: ReadonlyArray<number>) => tok.decode(ids) })
          })
          return out.map((group) =>
            group.map((c) => ({ ...c, text: tok?.decode(c.tokens, { skipSpecialTokens: true }) }))
          )
        }),
      score: scorer.score,
      sftStep: (batch, options) => runStep("sft", batch, options.lr, Objectives.tokenFeeds, tokensOf),
      policyStep: (batch, options) =>
        runStep("policy", batch, options.lr, Objectives.policyFeeds, (b) =>
          (objective.aggregate ?? "token") === "token" ? tokensOf(b) : b.batch
        ),
      weights: Effect.map(
        executor.read(names),
        (values) =>
          new Map(Weights.spec(config).map((p) => [p.name, Weights.tensor(p.shape, values[p.name] as Float32Array)]))
      ),
      adapters: Effect.map(
        executor.read(adapterNames),
        (values) =>
          new Map(
            adapted
              .flatMap((x) => [x.a, x.b])
              .map((p) => [p.name, Weights.tensor(p.shape, values[p.name] as Float32Array)])
          )
      ),
      setWeights,
      resetOptimizer,
      save: (dir, options = {}) =>
        Effect.gen(function* () {
          const weights = Lora.merge(config, yield* policy.weights, yield* policy.adapters)
          yield* Export.save(dir, Lora.baseConfig(config), weights, {
            ...(init.tokenizerDir === undefined ? {} : { tokenizerDir: init.tokenizerDir }),
            ...options
          })
        })
    }
    return policy
  })

/**
 * Load a Hugging Face directory (config, safetensors, and the tokenizer when `tokenizer.json` is there) as a
 * policy. `maxContext` caps the context (e.g. for Mistral's sliding window). This is the load of `eval` and
 * `serve`: `Pretrained.load`'s integrity checks apply (recorded sha256s, finite weights), and tokenizer files that
 * `trainer_state.json` records are verified too.
 */
export const load = (dir: string, settings: PolicyConfig = {}, options: { readonly maxContext?: number } = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { config, weights } = yield* Pretrained.load(
      dir,
      options.maxContext === undefined ? {} : { maxContext: options.maxContext }
    )
    yield* Pretrained.verifyRecorded(dir, Export.tokenizerFiles)
    const hasTokenizer = yield* fs.exists(path.join(dir, "tokenizer.json"))
    const tokenizer = hasTokenizer ? yield* Tokenizer.load(dir) : undefined
    return yield* make(
      { config, weights, ...(tokenizer === undefined ? {} : { tokenizer, tokenizerDir: dir }) },
      settings
    )
  })
