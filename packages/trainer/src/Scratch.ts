/**
 * A from-scratch starting point: train the built-in byte-level BPE on sample texts, build a small Llama-style
 * config around it and write a Hugging Face directory (config, random weights, tokenizer with the ChatML template)
 * that every phase can take as `init`. Used by the tests and by the embedded demo's base model.
 */
import { ConfigDecode, Rng } from "@realm-lm/core"
import { BuiltinTokenizer, ModelConfig, ModelSize, Pretrained, Weights } from "@realm-lm/lm"
import { Effect, Schema } from "effect"
import type { FileSystem, Path, PlatformError } from "effect"

const { PositiveInt, withDefault } = ConfigDecode

/** Size and tokenizer of a from-scratch model. Defaults give about 0.6M parameters. */
export const ScratchConfig = Schema.Struct({
  /** Upper bound on the tokenizer's ids (≥ 259: 3 specials + 256 bytes); fewer when merges run out. Default 384. */
  vocabSize: Schema.Int.check(Schema.isGreaterThanOrEqualTo(259)).pipe(withDefault(384)),
  /** Residual width. Default 96. */
  hiddenSize: PositiveInt.pipe(withDefault(96)),
  /** SwiGLU inner width. Default 256. */
  intermediateSize: PositiveInt.pipe(withDefault(256)),
  /** Decoder layers. Default 4. */
  layers: PositiveInt.pipe(withDefault(4)),
  /** Query heads. Default 4. */
  heads: PositiveInt.pipe(withDefault(4)),
  /** Key/value heads (GQA). Default 2. */
  kvHeads: PositiveInt.pipe(withDefault(2)),
  /** Longest sequence in tokens. Default 1024. */
  maxContext: PositiveInt.pipe(withDefault(1024)),
  /** Seed of the weight initialisation. Default 0. */
  seed: Schema.Int.pipe(withDefault(0)),
  /** Initialisation std of matrices. Default 0.02. */
  initStd: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(0.02))
}).check(
  Schema.makeFilter((c) => {
    const issues: Array<Schema.FilterIssue> = []
    if (c.hiddenSize % c.heads !== 0)
      issues.push({
        path: ["hiddenSize"],
        issue: `hiddenSize (${c.hiddenSize}) must be divisible by heads (${c.heads})`
      })
    else if ((c.hiddenSize / c.heads) % 2 !== 0)
      issues.push({
        path: ["heads"],
        issue: `head size hiddenSize / heads = ${c.hiddenSize / c.heads} must be even (RoPE)`
      })
    if (c.heads % c.kvHeads !== 0)
      issues.push({ path: ["kvHeads"], issue: `heads (${c.heads}) must be a multiple of kvHeads (${c.kvHeads})` })
    return issues
  })
)
export type ScratchConfig = typeof ScratchConfig.Type

/** What `create` wrote. */
export interface Created {
  readonly dir: string
  readonly config: ModelConfig.ModelConfig
  readonly parameters: number
}

/**
 * Write a fresh model directory: the tokenizer is trained on `texts` (prompts and completions the model will see),
 * `<|endoftext|>` is BOS and padding, `<|im_end|>` ends every completion.
 */
export const create = (
  dir: string,
  texts: Iterable<string>,
  settings: typeof ScratchConfig.Encoded = {}
): Effect.Effect<
  Created,
  Schema.SchemaError | ModelConfig.InvalidModelConfig | Weights.WeightsMismatch | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const c = yield* ConfigDecode.decodeUnknownEffect(ScratchConfig)(settings)
    const tok = BuiltinTokenizer.train(texts, { ...BuiltinTokenizer.defaultTrainConfig, vocabSize: c.vocabSize })
    const eos = tok.ids.get("<|im_end|>") as number
    const config = yield* ModelConfig.llama({
      vocabSize: tok.tokens.length,
      hiddenSize: c.hiddenSize,
      intermediateSize: c.intermediateSize,
      numLayers: c.layers,
      numHeads: c.heads,
      numKvHeads: c.kvHeads,
      headDim: c.hiddenSize / c.heads,
      maxContext: c.maxContext,
      bosTokenId: 0,
      eosTokenIds: [eos],
      padTokenId: 0
    })
    yield* Pretrained.save(dir, config, Weights.init(config, Rng.Rng.make(c.seed, "scratch"), { std: c.initStd }))
    yield* BuiltinTokenizer.save(dir, tok, c.maxContext)
    return { dir, config, parameters: ModelSize.parameterCount(config) }
  })
