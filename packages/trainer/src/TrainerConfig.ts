/**
 * The trainer's settings (config path `trainer`): one schema with a section per phase (`sft`, `rft`, `rl`) and the
 * shared sections they use (runtime, optimizer, generation, batching, checkpoints, guards). Every field has a
 * default and cross-field rules (batch divisible by the group size, buckets increasing, ...) fail before any work
 * with the field path in the message.
 */
import { Device } from "@realm-lm/graph"
import type { Training } from "@realm-lm/graph"
import { Lora } from "@realm-lm/lm"
import { ConfigDecode } from "@realm-lm/core"
import { Config, Schema } from "effect"
import type { Effect } from "effect"
import { LrScheduleConfig } from "./LrSchedule.ts"
import { Phase } from "./TrainerErrors.ts"

const { NonNegativeInt, PositiveInt, withDefault } = ConfigDecode

const Fraction = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/**
 * Train only on corpus problems of these difficulties (`Problem.difficulty`, the task's level), e.g. SFT on levels
 * 3-4 and RL on 3-5. Absent = every problem. SftExample lines carry no difficulty and are always kept.
 */
const Difficulties = Schema.optionalKey(Schema.Array(Schema.Finite).check(Schema.isMinLength(1)))
const Increasing = Schema.Array(PositiveInt).check(
  Schema.makeFilter((a) =>
    a.length > 0 && a.every((v, i) => i === 0 || v > a[i - 1]!)
      ? undefined
      : "must be a non-empty increasing list of token counts"
  )
)

/** A learning-rate schedule with defaults (peak 1e-3, no warmup, cosine to 10%). */
const Lr = Schema.Struct({
  peak: LrScheduleConfig.fields.peak.pipe(withDefault(1e-3)),
  warmupSteps: LrScheduleConfig.fields.warmupSteps.pipe(withDefault(0)),
  decay: LrScheduleConfig.fields.decay.pipe(withDefault("cosine")),
  floor: LrScheduleConfig.fields.floor.pipe(withDefault(0.1))
})

/** AdamW and clipping (the graph package's optimizer, fields as there). */
export const OptimizerSection = Schema.Struct({
  /** First-moment decay. Default 0.9. */
  beta1: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true })).pipe(
    withDefault(0.9)
  ),
  /** Second-moment decay. Default 0.99 (small models, short runs). */
  beta2: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true })).pipe(
    withDefault(0.99)
  ),
  /** Adam epsilon. Default 1e-8. */
  eps: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(1e-8)),
  /** Decoupled weight decay on matrices and embeddings. Default 0.01. */
  weightDecay: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(0.01)),
  /** Global gradient-norm clip; 0 turns clipping off. Default 1. */
  clipNorm: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(1)),
  /** Frozen parameters (exact Hugging Face names or `prefix*`). Default none. */
  freeze: Schema.Array(Schema.String).pipe(withDefault([])),
  /** Embedding backward: `scatter` (scatter-add, fast) or `matmul` (one-hot GEMM, order-independent on every device). Default `scatter`. */
  embeddingGrad: Schema.Literals(["scatter", "matmul"]).pipe(withDefault("scatter"))
})
export type OptimizerSection = typeof OptimizerSection.Type

/** Sampling settings for RFT and RL rollouts. */
export const GenerationSection = Schema.Struct({
  /** Softmax temperature (> 0 for RL: GRPO needs diverse samples). Default 1. */
  temperature: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(1)),
  /** Keep the k most probable tokens (0 = off). Default 0. */
  topK: NonNegativeInt.pipe(withDefault(0)),
  /** Nucleus mass (1 = off). Default 1. */
  topP: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true })).pipe(withDefault(1)),
  /** Most tokens per completion; longer completions end with finish reason `length`. Default 160. */
  maxNewTokens: PositiveInt.pipe(withDefault(160)),
  /** Longest prompt in tokens; longer prompts are skipped and counted (`prompts_too_long`). Default 768. */
  maxPromptTokens: PositiveInt.pipe(withDefault(768))
})
export type GenerationSection = typeof GenerationSection.Type

/** How sequences become fixed-shape batches. */
export const BatchingSection = Schema.Struct({
  /** Sequence-length buckets (tokens); one compiled session per (rows, bucket). Default 64, 128, 256, 512, 1024. */
  buckets: Increasing.pipe(withDefault([64, 128, 256, 512, 1024])),
  /** Most rows per forward/backward run; a step's batch is split into such micro-batches and accumulated. Default 16. */
  microBatch: PositiveInt.pipe(withDefault(16)),
  /**
   * Most padded tokens (rows × bucket length) per run: long buckets get fewer rows, bounding activation memory.
   * Default: 4096, lowered for large vocabularies so full-vocabulary logits would fit `logitsMemoryMB` (see `microBatchTokensFor`).
   */
  microBatchTokens: Schema.optionalKey(PositiveInt),
  /**
   * Memory (MiB) the default `microBatchTokens` allows for a micro-batch's vocabulary-wide tensors: logits, their
   * gradient and softmax, vocabulary × tokens × 4 bytes × 3 (counted in full even when `memory.vocabChunk` chunks the
   * head, which then needs less). Default 1024. Ignored when `microBatchTokens` is given.
   */
  logitsMemoryMB: PositiveInt.pipe(withDefault(1024))
})
export type BatchingSection = typeof BatchingSection.Type

/** Smallest explicit `memory.vocabChunk`: each chunk adds about 20 nodes to the training graph. */
export const minVocabChunk = 64

/** The chunk `memory.vocabChunk: auto` uses, for vocabularies above `autoVocabChunkAbove` ids. */
export const autoVocabChunk = 8192

/** `auto` chunks the head when the vocabulary has more ids than this (three chunks or more). */
export const autoVocabChunkAbove = 2 * autoVocabChunk

/** How training graphs trade compute for memory. */
export const MemorySection = Schema.Struct({
  /**
   * LM head of the training graphs (`@realm-lm/graph` `LmHead`): log-softmax, target log-probs and their gradients
   * computed this many vocabulary rows at a time, so a micro-batch never holds `[tokens, vocab]` logits, softmax and
   * gradient, only `[tokens, vocabChunk]` ones (the backward recomputes each chunk's logits: one more head matmul).
   * `auto` (default): 8192 when the vocabulary has more than 16,384 ids, else off; `off`: the full logits; a number
   * (at least 64): that many rows (at or above the vocabulary size it is the same as `off`).
   */
  vocabChunk: Schema.Union([
    Schema.Literals(["auto", "off"]),
    Schema.Int.check(
      Schema.makeFilter((n) =>
        n >= minVocabChunk
          ? undefined
          : `must be "auto", "off" or an integer of at least ${minVocabChunk} vocabulary rows (each chunk adds graph nodes; 4096–16384 is usual)`
      )
    )
  ]).pipe(withDefault("auto")),
  /**
   * Activation recomputation in the training graphs (`@realm-lm/graph` `Recompute`): the backward recomputes these
   * decoder layers' forward from each layer's saved input instead of keeping their intermediates (attention scores,
   * MLP activations) from the forward on. `true`: every layer; a list: those layer indices (0-based; an index the model
   * does not have fails when the training graph is built); `false` (default): none. Same loss and gradients, one more
   * forward of those layers per step.
   */
  recompute: Schema.Union([
    Schema.Boolean,
    Schema.Array(
      Schema.Int.check(Schema.makeFilter((n) => (n >= 0 ? undefined : "layer indices are 0-based integers")))
    ).check(Schema.makeFilter((a) => (new Set(a).size === a.length ? undefined : "each layer at most once")))
  ]).pipe(withDefault(false)),
  /**
   * Where the RL update's LM head runs (`@realm-lm/lm` `Batches.scoredWindow`). `auto` (default): only at each row's
   * completion tokens, in a window of `generation.maxNewTokens` positions rounded up to a power of two (wider when a
   * micro-batch's completions need it), whenever that is shorter than the micro-batch's length; the decoder still
   * runs over the whole prompt. The head is a vocabulary-wide product per position, so with long prompts (e.g. MRPV
   * routes) most of its work went to positions without loss. `off`: at every position. Same loss and gradients to
   * float32 rounding; the window is part of a micro-batch's compiled shape.
   */
  headWindow: Schema.Literals(["auto", "off"]).pipe(withDefault("auto")),
  /**
   * Where the optimizer runs (`@realm-lm/graph` `TrainingConfig.optimizerOn`). `graph` (default): inside the training
   * graph, which returns every new parameter and AdamW moment, so a step briefly holds them three times (its inputs,
   * ONNX Runtime's outputs and their JavaScript copies). `host`: in TypeScript on the CPU between runs of a
   * gradients-only graph, one parameter at a time, so they are held once: full fine-tuning of larger models fits in
   * less memory (docs/BENCHMARKS.md). Same update to float32 rounding. Not with `runtime.device: webgpu`.
   */
  optimizer: Schema.Literals(["graph", "host"]).pipe(withDefault("graph"))
})
export type MemorySection = typeof MemorySection.Type

/** The RL update's head window (`memory.headWindow` resolved): positions per row, or undefined for every position. */
export const headWindowFor = (memory: MemorySection, maxNewTokens: number): number | undefined => {
  if (memory.headWindow === "off") return undefined
  let w = 1
  while (w < maxNewTokens) w *= 2
  return w
}

/** The head's chunk for a vocabulary (`memory.vocabChunk` resolved), or undefined for the full logits. */
export const vocabChunkFor = (memory: MemorySection, vocabSize: number): number | undefined => {
  const chunk =
    memory.vocabChunk === "auto"
      ? vocabSize > autoVocabChunkAbove
        ? autoVocabChunk
        : undefined
      : memory.vocabChunk === "off"
        ? undefined
        : memory.vocabChunk
  return chunk !== undefined && chunk < vocabSize ? chunk : undefined
}

/** Largest default `microBatchTokens` (what small vocabularies get). */
export const maxDefaultMicroBatchTokens = 4096

/** Float32 tensors of vocabulary (or chunk) width held per token in a training step: logits, their gradient, the softmax. */
export const logitsCopies = 3

/** Bytes of the vocabulary-wide tensors of one micro-batch of `tokens` padded tokens: width × tokens × 4 bytes × 3. */
export const logitsBytes = (width: number, tokens: number): number => width * tokens * 4 * logitsCopies

/**
 * The micro-batch token budget for a model's vocabulary: `batching.microBatchTokens` when given, else the most
 * tokens (a multiple of 64, at least 64, at most 4096) whose full-vocabulary `logitsBytes` fit
 * `batching.logitsMemoryMB`: a 128k vocabulary gets 640 tokens under the default 1 GiB, vocabularies under about 21k
 * keep 4096. The rule counts the full vocabulary whether or not the head is chunked (`memory.vocabChunk`): chunking
 * lowers a step's peak memory at the same micro-batch, and never makes the default micro-batch larger, since the
 * decoder's own activations (about 19 GB for Qwen2.5-0.5B at 4096 tokens) would then decide what fits. Set
 * `microBatchTokens` to spend the memory chunking frees on larger micro-batches.
 */
export const microBatchTokensFor = (
  batching: Pick<BatchingSection, "microBatchTokens" | "logitsMemoryMB">,
  vocabSize: number
): number => {
  if (batching.microBatchTokens !== undefined) return batching.microBatchTokens
  const fit = Math.floor((batching.logitsMemoryMB * 1024 * 1024) / logitsBytes(vocabSize, 1))
  return Math.min(maxDefaultMicroBatchTokens, Math.max(64, Math.floor(fit / 64) * 64))
}

/** Checkpoint policy. */
export const CheckpointSection = Schema.Struct({
  /** Write a checkpoint every this many optimizer steps (0 = only at the end and on interrupt). Default 50. */
  every: NonNegativeInt.pipe(withDefault(50)),
  /** Periodic checkpoints kept (the best one is kept in addition). Default 2. */
  keepLast: PositiveInt.pipe(withDefault(2)),
  /** Metric that picks the best checkpoint (a key of the step metrics, e.g. `heldout_loss`, `truth_accuracy`); none = no best. */
  bestMetric: Schema.optionalKey(Schema.String),
  /** Whether a larger best metric is better. Default: false for names containing `loss`, else true. */
  bestMaximize: Schema.optionalKey(Schema.Boolean),
  /** Where `onnx/model.onnx` (transformers.js) is written: the final checkpoint only, every checkpoint, or never. Default `final`. */
  onnx: Schema.Literals(["final", "every", "never"]).pipe(withDefault("final"))
})
export type CheckpointSection = typeof CheckpointSection.Type

/** What a non-finite loss or gradient does. */
export const GuardSection = Schema.Struct({
  /** `fail`: stop with `NonFiniteValue` naming step and tensor; `skip`: withhold the update, count it, go on. Default `fail`. */
  nonFinite: Schema.Literals(["fail", "skip"]).pipe(withDefault("fail")),
  /** With `skip`, fail anyway after this many skipped steps in a run. Default 20. */
  maxSkips: PositiveInt.pipe(withDefault(20))
})
export type GuardSection = typeof GuardSection.Type

/** Logging. */
export const LogSection = Schema.Struct({
  /** Write TensorBoard event files under `<outDir>/tensorboard`. Default true. */
  tensorboard: Schema.Boolean.pipe(withDefault(true))
})

/** MRPV-style warm-start pairs mixed into SFT (prompt with routes + ideal verdicts, from `Verifier.example`). */
export const WarmStartSection = Schema.Struct({
  /** Warm-start examples per plain SFT example (0 = none). Default 0. */
  ratio: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(0)),
  /** Fewest routes shown per warm-start prompt. Default 1. */
  minRoutes: PositiveInt.pipe(withDefault(1)),
  /** Most routes shown per warm-start prompt. Default 3. */
  maxRoutes: PositiveInt.pipe(withDefault(3)),
  /** Share of warm-start examples that show a hint (a prefix of a positive route, 20-80% of its steps) instead of routes. Default 0. */
  hints: Fraction.pipe(withDefault(0)),
  /**
   * Draw the warm starts afresh every epoch (other routes, order and count per problem, seeded by the epoch)
   * instead of repeating epoch 0's draw, which a small student can memorize verdict by verdict. Default false.
   */
  redraw: Schema.Boolean.pipe(withDefault(false)),
  /**
   * Loss weight of the tokens the verifier marks as decisions in warm-start and drill completions (MRPV: each
   * verdict word, `Verifier.Example.emphasis`); the others weigh 1 and the loss is the weighted mean. A verdict is about
   * three tokens of a warm start's hundred, so at 1 the route comparison gets little of the gradient. Default 1.
   */
  emphasis: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(1)),
  /**
   * Practice examples of the verifier's decisions mixed into SFT (`Verifier.drills`; MRPV with `compareAnswers`:
   * verdict lines whose verdict is whether two numbers are equal), drawn once with the trainer's seed and kept every
   * epoch. A small student learns the comparison from many of them where warm starts alone leave its verdicts at
   * chance (docs/EXPERIMENTS.md, D13: 1,500 drills, there appended to the corpus by a pipeline stage, where they
   * also counted in `ratio`'s plain examples). Not counted in `ratio`'s plain examples here. Default 0.
   */
  drills: NonNegativeInt.pipe(withDefault(0))
}).check(
  Schema.makeFilter((w) => {
    const issues: Array<Schema.FilterIssue> = []
    if (w.minRoutes > w.maxRoutes)
      issues.push({
        path: ["minRoutes"],
        issue: `minRoutes (${w.minRoutes}) must not exceed maxRoutes (${w.maxRoutes})`
      })
    if (w.emphasis !== 1 && w.ratio === 0 && w.drills === 0)
      issues.push({
        path: ["emphasis"],
        issue: `emphasis (${w.emphasis}) weighs tokens of warm starts and drills, but ratio and drills are 0 (neither): set ratio > 0 or drills > 0, or leave emphasis out`
      })
    return issues
  })
)

/** Supervised fine-tuning (guided-CoT distillation on the rules-free view). */
export const SftSection = Schema.Struct({
  /** Optimizer steps; absent = `epochs` passes over the training examples. */
  steps: Schema.optionalKey(PositiveInt),
  /** Passes over the data when `steps` is absent. Default 1. */
  epochs: PositiveInt.pipe(withDefault(1)),
  /** Examples per optimizer step. Default 32. */
  batchSize: PositiveInt.pipe(withDefault(32)),
  lr: Lr.pipe(withDefault({})),
  /** Prompts of corpus records: `verifier` = the verifier's autonomous prompt (what RL and evaluation show); `question` = the bare question. Default `verifier`. */
  prompt: Schema.Literals(["verifier", "question"]).pipe(withDefault("verifier")),
  /** PositiveInt routes per corpus record used as targets. Default 1. */
  routesPerProblem: PositiveInt.pipe(withDefault(1)),
  /** Train on problems of these difficulties only (not inside `rft.train`: `rft.difficulties` decides there). Default all. */
  difficulties: Difficulties,
  /** Fraction of problems held out for the held-out loss (by problem id). Default 0.05. */
  heldOutFraction: Fraction.pipe(withDefault(0.05)),
  /** Most held-out examples evaluated. Default 128. */
  heldOutMax: NonNegativeInt.pipe(withDefault(128)),
  /** Held-out loss every this many steps (0 = only at the end). Default 25. */
  evalEvery: NonNegativeInt.pipe(withDefault(25)),
  warmStart: WarmStartSection.pipe(withDefault({}))
})
export type SftSection = typeof SftSection.Type

/** Rejection-sampling fine-tuning: sample, keep self-generated correct completions, fine-tune on them. */
export const RftSection = Schema.Struct({
  /** Sample-filter-train rounds. Default 1. */
  rounds: PositiveInt.pipe(withDefault(1)),
  /** Samples per problem per round. Default 8. */
  samples: PositiveInt.pipe(withDefault(8)),
  /** Problems sampled per round (absent = all training problems). */
  problems: Schema.optionalKey(PositiveInt),
  /** Sample problems of these difficulties only. Default all. */
  difficulties: Difficulties,
  /** Distinct correct completions kept per problem. Default 2. */
  keepPerProblem: PositiveInt.pipe(withDefault(2)),
  /** Fine-tuning on the kept completions (same keys as `sft`; `prompt` decides the sampling prompt too). */
  train: SftSection.pipe(withDefault({ heldOutFraction: 0, evalEvery: 0 }))
}).check(
  Schema.makeFilter((r) => {
    const issues: Array<Schema.FilterIssue> = []
    if (r.train.difficulties !== undefined)
      issues.push({
        path: ["train", "difficulties"],
        issue: "rft.train fine-tunes on RFT's own kept completions, so it takes no difficulties: set rft.difficulties"
      })
    const w = r.train.warmStart
    if (w.ratio > 0 || w.hints > 0 || w.redraw || w.drills > 0 || w.emphasis !== 1)
      issues.push({
        path: ["train", "warmStart"],
        issue:
          "rft.train fine-tunes on RFT's own kept completions only (no warm starts, drills or emphasis): leave rft.train.warmStart out"
      })
    return issues
  })
)
export type RftSection = typeof RftSection.Type

/** GRPO-family reinforcement learning. */
export const RlSection = Schema.Struct({
  /** RL steps (each: rollouts for `batchSize / groupSize` prompts, then `innerSteps` updates). Default 100. */
  steps: PositiveInt.pipe(withDefault(100)),
  /** Completions per step (B prompts × G samples). Default 64. */
  batchSize: PositiveInt.pipe(withDefault(64)),
  /** Draw prompts from problems of these difficulties only (e.g. a level SFT never saw). Default all. */
  difficulties: Difficulties,
  /** Samples per prompt, G (≥ 2: advantages compare samples of one prompt). Default 8. */
  groupSize: Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)).pipe(withDefault(8)),
  lr: Lr.pipe(withDefault({ peak: 5e-4, decay: "constant" })),
  /** μ: optimizer updates per batch of rollouts, all against the sampling-time log-probs. Default 1. */
  innerSteps: PositiveInt.pipe(withDefault(1)),
  /** ε_low of the clipped ratio. Default 0.2. */
  clipLow: Schema.Finite.check(
    Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true })
  ).pipe(withDefault(0.2)),
  /** ε_high (DAPO "clip higher"). Default 0.28. */
  clipHigh: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(0.28)),
  /** β of the k3 KL to the frozen initial policy; 0 loads no reference. Default 0. */
  klCoef: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(0)),
  /** `token`: mean over all completion tokens (DAPO); `sequence`: per-sequence mean, then over sequences (GRPO). Default `token`. */
  aggregate: Schema.Literals(["token", "sequence"]).pipe(withDefault("token")),
  /** Advantage scaling: `std` (GRPO) or `none` (Dr. GRPO, centred only). Default `std`. */
  advantage: Schema.Literals(["std", "none"]).pipe(withDefault("std")),
  /**
   * Exclude completions cut at `maxNewTokens` from the loss (their reward still counts in the group). Default false:
   * with a weak policy, masking them spares overlong completions their negative advantage while short ones are pushed
   * down, and lengths run to the cap.
   */
  maskTruncated: Schema.Boolean.pipe(withDefault(false)),
  /** Zero-variance groups: `rescue` re-samples them with the curriculum's rescue decision; `drop` only counts them. Default `rescue`. */
  zeroVariance: Schema.Literals(["rescue", "drop"]).pipe(withDefault("rescue")),
  /** Most rescue rounds per step (the curriculum caps rounds per problem too). Default 2. */
  maxRescueRounds: NonNegativeInt.pipe(withDefault(2)),
  /** Old-policy log-probs: `sampler` (recorded while sampling, on the same prompt) or `rescore` (a teacher-forced pass before the update). Default `sampler`. */
  oldLogProbs: Schema.Literals(["sampler", "rescore"]).pipe(withDefault("sampler")),
  /**
   * Off-policy route traces (the LUFFY idea, in its simplest form): while the curriculum's strength is above 0, every
   * group (decided or rescue) whose completions all failed gets one more completion: the verifier's SFT target for
   * that group's exact prompt (`Verifier.example`; MRPV: the gold steps, else a positive route shown), scored like the
   * others and trained with its log-probs under the current weights as the old ones (ratio 1 at the first update). It
   * carries what on-policy sampling cannot reach (steps the policy never writes) into the update, and fades out with
   * the guidance; a no-guidance curriculum never adds one. Default false.
   */
  routeTraces: Schema.Boolean.pipe(withDefault(false)),
  /** Metrics on a fixed set of training problems every this many steps with no guidance, greedy (0 = off). Default 0. */
  evalEvery: NonNegativeInt.pipe(withDefault(0)),
  /** Problems in that evaluation. Default 32. */
  evalProblems: PositiveInt.pipe(withDefault(32))
}).check(
  Schema.makeFilter((r) => {
    const issues: Array<Schema.FilterIssue> = []
    if (r.batchSize % r.groupSize !== 0) {
      issues.push({
        path: ["batchSize"],
        issue: `batchSize (${r.batchSize}) must be divisible by groupSize (${r.groupSize}): each step samples batchSize / groupSize prompts`
      })
    }
    if (r.clipHigh < r.clipLow * 0.5)
      issues.push({
        path: ["clipHigh"],
        issue: `clipHigh (${r.clipHigh}) is far below clipLow (${r.clipLow}); the usual choice is clipHigh ≥ clipLow`
      })
    return issues
  })
)
export type RlSection = typeof RlSection.Type

/** The whole trainer config. */
export const TrainerConfig = Schema.Struct({
  /** Root seed of data order, sampling and initialisation. Default 0. */
  seed: Schema.Int.pipe(withDefault(0)),
  /** Device and threads (`@realm-lm/graph` RuntimeConfig: `device` cpu|webgpu|cuda, `intraOpThreads`, ...). Default CPU, all cores. */
  runtime: Device.RuntimeConfig.pipe(withDefault({})),
  optimizer: OptimizerSection.pipe(withDefault({})),
  generation: GenerationSection.pipe(withDefault({})),
  batching: BatchingSection.pipe(withDefault({})),
  memory: MemorySection.pipe(withDefault({})),
  checkpoint: CheckpointSection.pipe(withDefault({})),
  guards: GuardSection.pipe(withDefault({})),
  log: LogSection.pipe(withDefault({})),
  /**
   * LoRA fine-tuning (`@realm-lm/lm` `Lora.LoraConfig`: `rank`, `alpha`, `targets`, `trainNorms`): only the adapters (and
   * the norm gains with `trainNorms`) train, in every phase; the base weights stay frozen. Absent: full fine-tuning.
   */
  lora: Schema.optionalKey(Lora.LoraConfig),
  sft: SftSection.pipe(withDefault({})),
  rft: RftSection.pipe(withDefault({})),
  rl: RlSection.pipe(withDefault({}))
}).check(
  Schema.makeFilter((c) => {
    const longest = c.batching.buckets.at(-1) as number
    return c.generation.maxPromptTokens + c.generation.maxNewTokens - 1 <= longest
      ? undefined
      : {
          path: ["batching", "buckets"],
          issue: `the largest bucket (${longest}) must hold generation.maxPromptTokens + maxNewTokens - 1 = ${c.generation.maxPromptTokens + c.generation.maxNewTokens - 1} tokens`
        }
  }),
  Schema.makeFilter((c) =>
    c.memory.optimizer === "host" && c.runtime.device === "webgpu"
      ? {
          path: ["memory", "optimizer"],
          issue:
            'host runs AdamW on parameters in CPU memory, but runtime.device webgpu keeps them in GPU buffers: leave memory.optimizer at "graph" on WebGPU'
        }
      : undefined
  )
)
export type TrainerConfig = typeof TrainerConfig.Type
/** The config as written in files (every key optional). */
export type TrainerConfigInput = typeof TrainerConfig.Encoded

/** Decode a config object; errors carry the field path. */
export const decode = (input: unknown): Effect.Effect<TrainerConfig, Schema.SchemaError> =>
  ConfigDecode.decodeUnknownEffect(TrainerConfig)(input)

/** Decode synchronously (throws on bad input): for tests and constants. */
export const decodeSync = (input: unknown): TrainerConfig => Schema.decodeUnknownSync(TrainerConfig)(input)

/** The config read from config path `trainer`. */
export const config: Config.Config<TrainerConfig> = Config.schema(TrainerConfig, "trainer")

/** The graph package's training config for the optimizer section. */
export const trainingConfig = (
  o: OptimizerSection,
  optimizerOn: MemorySection["optimizer"] = "graph"
): typeof Training.TrainingConfig.Encoded => ({
  optimizer: { kind: "adamw", beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay },
  ...(o.clipNorm > 0 ? { clipNorm: o.clipNorm } : {}),
  ...(o.freeze.length > 0 ? { freeze: o.freeze } : {}),
  embeddingGrad: o.embeddingGrad,
  optimizerOn
})

/** Whether a larger value of the best metric is better. */
export const bestMaximize = (c: CheckpointSection): boolean => c.bestMaximize ?? !(c.bestMetric ?? "").includes("loss")

/** An object's fields, or none for anything else (settings as written in a config). */
const fields = (u: unknown): Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? (u as Record<string, unknown>) : {}

/**
 * How this trainer pre-trains a base model (the pipeline's `model.pretrain`), on settings as written in a config:
 * `model.pretrain.sft` replaces the `sft` section, with warm starts off and the verifier's autonomous prompts (the
 * format RL and evaluation show); a pre-trained base depends on everything but the `rft` and `rl` sections (tuning RL
 * does not re-run the pre-training).
 */
export const pretraining = {
  settings: (settings: Record<string, unknown>, sft: Record<string, unknown>): Record<string, unknown> => ({
    ...settings,
    sft: { ...sft, prompt: "verifier", warmStart: { ratio: 0 } }
  }),
  check: (sft: Record<string, unknown>): ReadonlyArray<{ readonly path: string; readonly detail: string }> => [
    ...(Object.entries(fields(sft.warmStart)).some(([k, v]) => !(k === "ratio" && v === 0))
      ? [
          {
            path: "warmStart",
            detail:
              "pre-training never shows routes, drills or weighted verdicts: leave warmStart out (it is always off)"
          }
        ]
      : []),
    ...(sft.prompt !== undefined && sft.prompt !== "verifier"
      ? [
          {
            path: "prompt",
            detail:
              "pre-training uses the verifier's autonomous prompts (the format evaluation and RL show): leave prompt out"
          }
        ]
      : [])
  ],
  hashed: (settings: Record<string, unknown>): Record<string, unknown> => {
    const { rft: _rft, rl: _rl, ...rest } = settings
    return rest
  }
}

/**
 * What one phase of this trainer reads, on settings as written in a config (the pipeline's
 * `Implementation.phaseInputs`): everything but the other phases' sections (SFT never reads `rft` or `rl`, RFT and RL
 * start from a checkpoint whose own settings are already in their inputs), and the curriculum only for RL (SFT and RFT
 * never ask it). So tuning RL re-runs neither SFT nor RFT.
 */
export const phaseInputs = (
  settings: Record<string, unknown>,
  phase: Phase
): { readonly settings: Record<string, unknown>; readonly curriculum: boolean } => ({
  // Each phase has its own section, named after it; the others are left out.
  settings: Object.fromEntries(
    Object.entries(settings).filter(
      ([key]) => key === phase || !(Phase.literals as ReadonlyArray<string>).includes(key)
    )
  ),
  curriculum: phase === "rl"
})
