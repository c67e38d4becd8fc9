/**
 * The model side of a run: an `@realm-lm/lm` policy (weights, tokenizer, generation and scoring sessions on one
 * executor) plus one `@realm-lm/graph` trainer for the run's objective on that executor's state, so a step's new
 * weights are what the next rollout samples from, with no copy. Owning the graph trainer (rather than
 * `Policy.sftStep`) gives checkpoints the optimizer step counter and moments to save and restore.
 */
import type { Prompt } from "@realm-lm/core"
import type { Device } from "@realm-lm/graph"
import { Optimizer, Trainer, Training } from "@realm-lm/graph"
import type { Trainer as GraphTrainer } from "@realm-lm/graph"
import { Export, Objectives, Policy, Pretrained, PromptText, Tokenizer } from "@realm-lm/lm"
import type { ModelConfig, Weights } from "@realm-lm/lm"
import { Effect, FileSystem, Path, Scope } from "effect"
import type { OptimizerSection, RlSection } from "../TrainerConfig.ts"
import type { MemorySection } from "../TrainerConfig.ts"
import { trainingConfig, vocabChunkFor } from "../TrainerConfig.ts"
import { EngineFailed } from "../TrainerErrors.ts"

/** Which objective the run trains. */
export type Objective = { readonly kind: "sft" } | { readonly kind: "policy"; readonly rl: RlSection }

/** Feeds of one micro-batch, with the weight it carries in the step's gradient. */
export interface MicroBatch {
  readonly bucket: { readonly batch: number; readonly length: number }
  readonly feeds: Readonly<Record<string, Float32Array | Int32Array>>
  /** Gradient weight: completion tokens (token aggregation) or real rows (sequence aggregation). */
  readonly weight: number
}

/** The model side of a run. */
export interface Engine {
  readonly policy: Policy.Policy
  readonly config: ModelConfig.ModelConfig
  readonly tokenizer: Tokenizer.Tokenizer
  /** Token that ends every completion (appended to SFT targets; a stop token when sampling). */
  readonly eos: number
  /** Padding id of batches. */
  readonly pad: number
  /** Vocabulary rows per chunk of the training graphs' LM head (`memory.vocabChunk` resolved), or undefined for full logits. */
  readonly vocabChunk: number | undefined
  /** The graph trainer of the run's objective (replaced by `renewTrainer`). */
  readonly trainer: () => GraphTrainer.Trainer<Objectives.Bucket>
  /** A fresh graph trainer with the same step count (drops half-accumulated gradients after a rejected step). */
  readonly renewTrainer: Effect.Effect<void, EngineFailed>
  /** Token ids of a prompt (`PromptText.encode`: the chat template when the tokenizer has one, else plain text), as the evaluator encodes it. */
  readonly encodePrompt: (prompt: Prompt.Prompt) => Effect.Effect<Array<number>, EngineFailed>
  /** Token ids of a completion text followed by `eos`. */
  readonly encodeCompletion: (text: string) => Array<number>
  /** AdamW moments currently in the executor's state. */
  readonly optimizerSlots: Effect.Effect<Map<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }>, EngineFailed>
  /** Put saved AdamW moments and the optimizer step counter back. */
  readonly restoreOptimizer: (slots: ReadonlyMap<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }>, step: number) => void
}

/** Where the weights come from: the run's initial directory, or a checkpoint (weights only; tokenizer from `init`). */
export interface EngineSource {
  /** Hugging Face directory with config, weights and tokenizer files. */
  readonly init: string
  /** Load weights from this directory instead (a checkpoint of the same model). */
  readonly weightsFrom?: string
}

const failed = (operation: string) => (e: unknown) =>
  new EngineFailed({ operation, detail: e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e) })

/** Start an engine inside the current scope. */
export const make = (
  source: EngineSource,
  runtime: Device.RuntimeConfig,
  optimizer: OptimizerSection,
  objective: Objective,
  memory: MemorySection = { vocabChunk: "auto" }
): Effect.Effect<Engine, EngineFailed, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* Pretrained.requireModelDir(source.init).pipe(Effect.mapError(failed("load")))
    if (!(yield* Effect.orElseSucceed(fs.exists(path.join(source.init, "tokenizer.json")), () => false))) {
      return yield* new EngineFailed({ operation: "load", detail: `${source.init} has no tokenizer.json; the trainer works on text and needs the model's tokenizer files next to config.json` })
    }
    yield* Pretrained.verifyRecorded(source.init, Export.tokenizerFiles).pipe(Effect.mapError(failed("load tokenizer")))
    const tokenizer = yield* Tokenizer.load(source.init).pipe(Effect.mapError(failed("load tokenizer")))
    // A resumed checkpoint was hash-verified file by file by `Checkpoint.latest` just before; loading it re-checks
    // only that every weight is finite. An `init` directory gets the full check.
    const { config, weights } = yield* Pretrained.load(source.weightsFrom ?? source.init, source.weightsFrom === undefined ? {} : { verifyHashes: false }).pipe(
      Effect.mapError(failed("load weights"))
    )
    // Only the policy's generation and scoring are used; the engine owns the training graph (see module comment).
    const policy = yield* Policy.make({ config, weights, tokenizer, tokenizerDir: source.init }, { runtime }).pipe(Effect.mapError(failed("start policy")))
    const eos = config.eosTokenIds[0] ?? tokenizer.eosTokenId
    if (eos === undefined) return yield* new EngineFailed({ operation: "load", detail: `${source.init}: neither config.json nor the tokenizer names an EOS token` })
    const pad = config.padTokenId ?? tokenizer.padTokenId ?? eos
    const vocabChunk = vocabChunkFor(memory, config.vocabSize)
    const head = { vocabChunk }
    const model = objective.kind === "sft"
      ? Objectives.sftModel(config, head)
      : Objectives.policyModel(config, { clipLow: objective.rl.clipLow, clipHigh: objective.rl.clipHigh, klCoef: objective.rl.klCoef, aggregate: objective.rl.aggregate }, head)
    const scope = yield* Effect.scope
    const training = trainingConfig(optimizer)
    const makeTrainer = Scope.provide(scope)(Trainer.make(policy.executor, model, training, { batch: 1, length: 16 })).pipe(Effect.mapError(failed("build trainer")))
    let trainer = yield* makeTrainer
    // The optimizer's state keys (graph's `Training.slotKey` of each trainable param and slot), in state order.
    const slotNames = () => {
      const keys = new Set(trainer.trainable.flatMap((name) => Optimizer.slots(training.optimizer).map((slot) => Training.slotKey(name, slot))))
      return policy.executor.state.names().filter((n) => keys.has(n))
    }
    return {
      policy,
      config,
      tokenizer,
      eos,
      pad,
      vocabChunk,
      trainer: () => trainer,
      renewTrainer: Effect.map(makeTrainer, (fresh) => {
        fresh.setSteps(trainer.steps())
        trainer = fresh
      }),
      encodePrompt: (prompt) => Effect.mapError(PromptText.encode(tokenizer, prompt), failed("chat template")),
      encodeCompletion: (text) => [...tokenizer.encode(text), eos],
      optimizerSlots: Effect.gen(function*() {
        const names = slotNames()
        const values = yield* policy.executor.read(names).pipe(Effect.mapError(failed("read optimizer state")))
        const out = new Map<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }>()
        for (const n of names) {
          const shape = policy.executor.state.get(n)?.dims ?? []
          out.set(n, { shape, data: values[n] as Float32Array })
        }
        return out
      }),
      restoreOptimizer: (slots, step) => {
        for (const [name, t] of slots) policy.executor.state.setData(name, t.data, t.shape)
        trainer.setSteps(step)
      }
    }
  })

/** The current weights, for saving. */
export const weights = (engine: Engine): Effect.Effect<Weights.Weights, EngineFailed> => Effect.mapError(engine.policy.weights, failed("read weights"))
