/**
 * The model side of a run: an `@realm-lm/lm` policy (weights, tokenizer, generation and scoring sessions on one
 * executor) plus one `@realm-lm/graph` trainer for the run's objective on that executor's state, so a step's new
 * weights are what the next rollout samples from, with no copy. Owning the graph trainer (rather than
 * `Policy.sftStep`) gives checkpoints the optimizer step counter and moments to save and restore.
 */
import type { Prompt } from "@realm-lm/core"
import { Rng } from "@realm-lm/core"
import type { Device } from "@realm-lm/graph"
import { Optimizer, Trainer, Training } from "@realm-lm/graph"
import type { Trainer as GraphTrainer } from "@realm-lm/graph"
import { Export, Lora, Objectives, Peft, Policy, Pretrained, PromptText, Tokenizer } from "@realm-lm/lm"
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
  readonly bucket: Objectives.Bucket
  readonly feeds: Readonly<Record<string, Float32Array | Int32Array>>
  /** Gradient weight: completion tokens (token aggregation) or real rows (sequence aggregation). */
  readonly weight: number
}

/** The model side of a run. */
export interface Engine {
  readonly policy: Policy.Policy
  /** The model's architecture; with LoRA, `lora` is set (every graph adds the adapters, only they train). */
  readonly config: ModelConfig.ModelConfig
  readonly tokenizer: Tokenizer.Tokenizer
  /** Token that ends every completion (appended to SFT targets; a stop token when sampling). */
  readonly eos: number
  /** Padding id of batches. */
  readonly pad: number
  /** Vocabulary rows per chunk of the training graphs' LM head (`memory.vocabChunk` resolved), or undefined for full logits. */
  readonly vocabChunk: number | undefined
  /** The graph trainer of the run's objective. */
  readonly trainer: () => GraphTrainer.Trainer<Objectives.Bucket>
  /** Token ids of a prompt (`PromptText.encode`: the chat template when the tokenizer has one, else plain text), as the evaluator encodes it. */
  readonly encodePrompt: (prompt: Prompt.Prompt) => Effect.Effect<Array<number>, EngineFailed>
  /** Token ids of a completion text followed by `eos`. */
  readonly encodeCompletion: (text: string) => Array<number>
  /** AdamW moments currently in the executor's state. */
  readonly optimizerSlots: Effect.Effect<
    Map<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }>,
    EngineFailed
  >
  /** Put saved AdamW moments and the optimizer step counter back. */
  readonly restoreOptimizer: (
    slots: ReadonlyMap<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }>,
    step: number
  ) => void
}

/** Where the weights come from: the run's initial directory, or a checkpoint (weights only; tokenizer from `init`). */
export interface EngineSource {
  /** Hugging Face directory with config, weights and tokenizer files. */
  readonly init: string
  /**
   * Load weights from this directory instead (a checkpoint of the same model). With LoRA, the base weights still come
   * from `init` and the adapters (and trained norm gains) from the checkpoint's `adapter/` directory.
   */
  readonly weightsFrom?: string
}

/** LoRA settings of a run and the seed its fresh adapters are drawn from. */
export interface LoraSource {
  readonly settings: Lora.LoraConfig
  readonly seed: number
}

/** Sub-directory of a checkpoint holding the PEFT adapter of a LoRA run. */
export const adapterDir = "adapter"

const failed = (operation: string) => (e: unknown) =>
  new EngineFailed({
    operation,
    detail:
      e instanceof Error
        ? e.message
        : typeof e === "object" && e !== null && "message" in e
          ? String((e as { message: unknown }).message)
          : String(e)
  })

/** Start an engine inside the current scope. */
export const make = (
  source: EngineSource,
  runtime: Device.RuntimeConfig,
  optimizer: OptimizerSection,
  objective: Objective,
  memory: MemorySection = { vocabChunk: "auto", recompute: false, headWindow: "auto", optimizer: "graph" },
  lora?: LoraSource
): Effect.Effect<Engine, EngineFailed, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* Pretrained.requireModelDir(source.init).pipe(Effect.mapError(failed("load")))
    if (!(yield* Effect.orElseSucceed(fs.exists(path.join(source.init, "tokenizer.json")), () => false))) {
      return yield* new EngineFailed({
        operation: "load",
        detail: `${source.init} has no tokenizer.json; the trainer works on text and needs the model's tokenizer files next to config.json`
      })
    }
    yield* Pretrained.verifyRecorded(source.init, Export.tokenizerFiles).pipe(Effect.mapError(failed("load tokenizer")))
    const tokenizer = yield* Tokenizer.load(source.init).pipe(Effect.mapError(failed("load tokenizer")))
    // A resumed checkpoint was hash-verified file by file by `Checkpoint.latest` just before; loading it re-checks
    // only that every weight is finite. An `init` directory gets the full check.
    // With LoRA the base always comes from `init`; a checkpoint contributes only its adapter directory.
    const weightsDir = lora === undefined ? source.weightsFrom : undefined
    const loaded = yield* Pretrained.load(
      weightsDir ?? source.init,
      weightsDir === undefined ? {} : { verifyHashes: false }
    ).pipe(Effect.mapError(failed("load weights")))
    const { config, weights, adapters } =
      lora === undefined
        ? { ...loaded, adapters: undefined }
        : yield* withAdapters(
            loaded.config,
            loaded.weights,
            lora,
            source.weightsFrom === undefined ? undefined : path.join(source.weightsFrom, adapterDir)
          )
    // Only the policy's generation and scoring are used; the engine owns the training graph (see module comment).
    const policy = yield* Policy.make(
      { config, weights, tokenizer, tokenizerDir: source.init, ...(adapters === undefined ? {} : { adapters }) },
      { runtime }
    ).pipe(Effect.mapError(failed("start policy")))
    const eos = config.eosTokenIds[0] ?? tokenizer.eosTokenId
    if (eos === undefined)
      return yield* new EngineFailed({
        operation: "load",
        detail: `${source.init}: neither config.json nor the tokenizer names an EOS token`
      })
    const pad = config.padTokenId ?? tokenizer.padTokenId ?? eos
    const vocabChunk = vocabChunkFor(memory, config.vocabSize)
    const head = { vocabChunk, recompute: memory.recompute }
    const model =
      objective.kind === "sft"
        ? Objectives.sftModel(config, head)
        : Objectives.policyModel(
            config,
            {
              clipLow: objective.rl.clipLow,
              clipHigh: objective.rl.clipHigh,
              klCoef: objective.rl.klCoef,
              aggregate: objective.rl.aggregate
            },
            head
          )
    const scope = yield* Effect.scope
    const training = trainingConfig(optimizer, memory.optimizer)
    const trainer = yield* Scope.provide(scope)(
      Trainer.make(policy.executor, model, training, { batch: 1, length: 16 })
    ).pipe(Effect.mapError(failed("build trainer")))
    // The optimizer's state keys (graph's `Training.slotKey` of each trainable param and slot), in state order.
    const slotNames = () => {
      const keys = new Set(
        trainer.trainable.flatMap((name) =>
          Optimizer.slots(training.optimizer).map((slot) => Training.slotKey(name, slot))
        )
      )
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
      encodePrompt: (prompt) => Effect.mapError(PromptText.encode(tokenizer, prompt), failed("chat template")),
      encodeCompletion: (text) => [...tokenizer.encode(text), eos],
      optimizerSlots: Effect.gen(function* () {
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

/**
 * The base config with adapters: fresh ones (B = 0, A drawn from `Rng.make(seed, "lora")`), or those of a checkpoint's
 * PEFT directory, whose trained norm gains replace the base's. The settings must equal the run's.
 */
const withAdapters = (
  base: ModelConfig.ModelConfig,
  weights: Weights.Weights,
  lora: LoraSource,
  from: string | undefined
) =>
  Effect.gen(function* () {
    const config: ModelConfig.ModelConfig = { ...base, lora: lora.settings }
    const smallest = Math.min(...Lora.adapted(config).flatMap((x) => x.a.shape.slice(1).concat(x.b.shape[0])))
    if (lora.settings.rank > smallest) {
      return yield* new EngineFailed({
        operation: "lora",
        detail: `rank ${lora.settings.rank} exceeds the smallest dimension (${smallest}) of the targeted projections; an adapter of that rank adds nothing a full-rank update would not. Use a rank below ${smallest}`
      })
    }
    if (from === undefined) return { config, weights, adapters: Lora.init(config, Rng.Rng.make(lora.seed, "lora")) }
    const saved = yield* Peft.load(from, base).pipe(Effect.mapError(failed("load adapter")))
    const key = (l: Lora.LoraConfig | undefined) =>
      JSON.stringify(l === undefined ? null : [l.rank, l.alpha, l.trainNorms, l.targets.toSorted()])
    if (key(saved.config.lora) !== key(config.lora)) {
      return yield* new EngineFailed({
        operation: "load adapter",
        detail: `${from} holds adapters for ${JSON.stringify(saved.config.lora)}, the run has ${JSON.stringify(config.lora)}`
      })
    }
    return { config, weights: new Map([...weights, ...saved.norms]), adapters: saved.adapters }
  })

/**
 * Write the model of a checkpoint into `dir`: a Hugging Face directory of the current weights (with LoRA, merged
 * `W + (alpha/rank)·B·A` under the base config, so evaluation, serving and transformers.js load it as any model) and,
 * with LoRA, the PEFT adapter in `dir/adapter` (what a resumed run restores, with `baseModel` recorded).
 */
export const save = (
  engine: Engine,
  dir: string,
  options: { readonly tokenizerDir: string; readonly onnx: boolean; readonly baseModel: string }
): Effect.Effect<void, EngineFailed, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const weights = yield* Effect.mapError(engine.policy.weights, failed("read weights"))
    const saveFailed = (e: { readonly _tag: string; readonly message: string }) =>
      new EngineFailed({ operation: "save checkpoint", detail: `${e._tag}: ${e.message}` })
    if (engine.config.lora === undefined) {
      return yield* Export.save(dir, engine.config, weights, {
        tokenizerDir: options.tokenizerDir,
        onnx: options.onnx
      }).pipe(Effect.mapError(saveFailed))
    }
    const adapters = yield* Effect.mapError(engine.policy.adapters, failed("read adapters"))
    yield* Export.save(dir, Lora.baseConfig(engine.config), Lora.merge(engine.config, weights, adapters), {
      tokenizerDir: options.tokenizerDir,
      onnx: options.onnx
    }).pipe(Effect.mapError(saveFailed))
    yield* Peft.save(path.join(dir, adapterDir), engine.config, adapters, {
      baseModel: options.baseModel,
      norms: weights
    }).pipe(Effect.mapError(saveFailed))
  })
