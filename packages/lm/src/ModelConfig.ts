/**
 * The architecture of a Llama-family decoder (Llama incl. SmolLM/TinyLlama/Llama 3.x, Qwen2, Mistral), read from
 * a Hugging Face `config.json` into one validated record. Everything that builds, loads or runs a model takes this
 * record, so an unsupported option fails here, naming its `config.json` field, before any weights are read.
 */
import { ConfigDecode } from "@realm-lm/core"
import { Effect, Schema } from "effect"
import { LoraConfig } from "./Lora.ts"

const { PositiveInt } = ConfigDecode

/** Hugging Face `architectures[0]` values we implement. */
export const Architectures = ["LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"] as const
/** One supported architecture. */
export type Architecture = (typeof Architectures)[number]

const modelTypeOf: Record<Architecture, string> = {
  LlamaForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
  MistralForCausalLM: "mistral"
}

const PositiveFinite = Schema.Finite.check(Schema.isGreaterThan(0))

/**
 * The longest context the engine can run: position ids are int32 in every graph it builds (`Model.prefillGraph`,
 * `decodeGraph`, `sequenceLogits`) and in the generator's feeds, so positions stop at 2³¹ − 1. A larger
 * `max_position_embeddings` would wrap silently; `fromHf` rejects it unless `maxContext` caps the context.
 */
export const maxSupportedContext = 2 ** 31 - 1

/** RoPE frequency scaling: `llama3` (Llama 3.1/3.2 long-context formula) or `linear` (positions divided by factor). */
export const RopeScaling = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("llama3"),
    factor: PositiveFinite,
    lowFreqFactor: PositiveFinite,
    highFreqFactor: PositiveFinite,
    originalMaxPositionEmbeddings: PositiveInt
  }),
  Schema.Struct({ type: Schema.Literal("linear"), factor: PositiveFinite })
])
/** A RoPE scaling rule. */
export type RopeScaling = typeof RopeScaling.Type

/**
 * The normalised architecture. Field docs give the Hugging Face key each comes from.
 * Cross-field rules: heads divisible by kv heads, even head_dim, llama3 high_freq_factor > low_freq_factor, and the
 * biases each architecture has (Qwen2: q/k/v only; Mistral: none; Llama: all four attention projections or none).
 */
export const ModelConfig = Schema.Struct({
  /** `architectures[0]`. */
  architecture: Schema.Literals(Architectures),
  /** `vocab_size`: rows of the embedding and of the LM head. */
  vocabSize: PositiveInt,
  /** `hidden_size`: the residual stream width. */
  hiddenSize: PositiveInt,
  /** `intermediate_size`: SwiGLU inner width. */
  intermediateSize: PositiveInt,
  /** `num_hidden_layers`. */
  numLayers: PositiveInt,
  /** `num_attention_heads`: query heads. */
  numHeads: PositiveInt,
  /** `num_key_value_heads` (default: numHeads): shared K/V heads (GQA). */
  numKvHeads: PositiveInt,
  /** `head_dim` (default: hidden_size / num_attention_heads). */
  headDim: PositiveInt,
  /** `max_position_embeddings`, or less when the caller caps the context: the longest sequence we run (≤ `maxSupportedContext`). */
  maxContext: PositiveInt.check(Schema.isLessThanOrEqualTo(maxSupportedContext)),
  /** `rms_norm_eps`: added to mean(x²) inside the square root. */
  rmsNormEps: PositiveFinite,
  /** `rope_theta`: RoPE base. */
  ropeTheta: PositiveFinite,
  /** `rope_scaling` (null: none). */
  ropeScaling: Schema.NullOr(RopeScaling),
  /** `tie_word_embeddings`: the LM head reuses `model.embed_tokens.weight`. */
  tieWordEmbeddings: Schema.Boolean,
  /** Bias on q/k/v projections (always for Qwen2; Llama's `attention_bias`). */
  qkvBias: Schema.Boolean,
  /** Bias on the output projection (Llama's `attention_bias`). */
  oBias: Schema.Boolean,
  /** `bos_token_id` (null: none). */
  bosTokenId: Schema.NullOr(Schema.Int),
  /** `eos_token_id` as a list (a number becomes a one-element list). */
  eosTokenIds: Schema.Array(Schema.Int),
  /** `pad_token_id` (null: none). */
  padTokenId: Schema.NullOr(Schema.Int),
  /**
   * LoRA adapters on the listed projections (`Lora`): every graph built from this config reads `A`/`B` from state and
   * trains only them (and the norms with `trainNorms`). Not a Hugging Face `config.json` key (`toHf` leaves it out); set
   * by the trainer. Absent: the plain model.
   */
  lora: Schema.optionalKey(LoraConfig)
}).check(
  Schema.makeFilter((c) => {
    const issues: Array<Schema.FilterIssue> = []
    if (c.numHeads % c.numKvHeads !== 0) {
      issues.push({
        path: ["numKvHeads"],
        issue: `num_attention_heads (${c.numHeads}) must be a multiple of num_key_value_heads (${c.numKvHeads})`
      })
    }
    if (c.headDim % 2 !== 0)
      issues.push({ path: ["headDim"], issue: `head_dim must be even for RoPE, got ${c.headDim}` })
    if (c.ropeScaling?.type === "llama3" && !(c.ropeScaling.highFreqFactor > c.ropeScaling.lowFreqFactor)) {
      issues.push({ path: ["ropeScaling"], issue: "rope_scaling.high_freq_factor must exceed low_freq_factor" })
    }
    const biasRule =
      c.architecture === "Qwen2ForCausalLM"
        ? c.qkvBias && !c.oBias
        : c.architecture === "MistralForCausalLM"
          ? !c.qkvBias && !c.oBias
          : c.qkvBias === c.oBias
    if (!biasRule) {
      issues.push({
        path: ["qkvBias"],
        issue: `${c.architecture} does not allow qkvBias=${c.qkvBias} with oBias=${c.oBias}`
      })
    }
    return issues
  })
)
/** A validated architecture. */
export type ModelConfig = typeof ModelConfig.Type

/** The checkpoint asks for something this library does not implement. `field` is the `config.json` key path. */
export class UnsupportedModel extends Schema.TaggedError<UnsupportedModel>()("UnsupportedModel", {
  field: Schema.String,
  value: Schema.String,
  hint: Schema.String
}) {
  override get message(): string {
    return `config.json field ${this.field} = ${this.value} is not supported: ${this.hint}`
  }
}

/** A `config.json` field is missing, of the wrong type, or inconsistent with another. */
export class InvalidModelConfig extends Schema.TaggedError<InvalidModelConfig>()("InvalidModelConfig", {
  field: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `config.json field ${this.field}: ${this.detail}`
  }
}

/** Options for `fromHf`. */
export interface FromHfOptions {
  /** Cap on the context (tokens; default max_position_embeddings). Lets Mistral run below its sliding window. */
  readonly maxContext?: number
}

type Json = Record<string, unknown>
const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const invalid = (field: string, detail: string) => Effect.fail(new InvalidModelConfig({ field, detail }))
const unsupported = (field: string, value: unknown, hint: string) =>
  Effect.fail(new UnsupportedModel({ field, value: JSON.stringify(value) ?? "undefined", hint }))

const readInt = (json: Json, field: string, fallback?: number): Effect.Effect<number, InvalidModelConfig> => {
  const v = json[field]
  if (v === undefined || v === null) {
    return fallback === undefined ? invalid(field, "is required (a positive integer)") : Effect.succeed(fallback)
  }
  return typeof v === "number" && Number.isInteger(v) && v > 0
    ? Effect.succeed(v)
    : invalid(field, `must be a positive integer, got ${JSON.stringify(v)}`)
}

const readNumber = (json: Json, field: string, fallback: number): Effect.Effect<number, InvalidModelConfig> => {
  const v = json[field]
  if (v === undefined || v === null) return Effect.succeed(fallback)
  return typeof v === "number" && Number.isFinite(v) && v > 0
    ? Effect.succeed(v)
    : invalid(field, `must be a positive number, got ${JSON.stringify(v)}`)
}

const readTokenId = (json: Json, field: string): Effect.Effect<number | null, InvalidModelConfig> => {
  const v = json[field]
  if (v === undefined || v === null) return Effect.succeed(null)
  return typeof v === "number" && Number.isInteger(v) && v >= 0
    ? Effect.succeed(v)
    : invalid(field, `must be a token id, got ${JSON.stringify(v)}`)
}

const readEos = (json: Json): Effect.Effect<ReadonlyArray<number>, InvalidModelConfig> => {
  const v = json.eos_token_id
  if (v === undefined || v === null) return Effect.succeed([])
  const list = Array.isArray(v) ? v : [v]
  return list.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0)
    ? Effect.succeed(list as Array<number>)
    : invalid("eos_token_id", `must be a token id or a list of them, got ${JSON.stringify(v)}`)
}

/** Per-architecture Hugging Face defaults for keys a config.json may omit. */
const defaults: Record<Architecture, { maxPositions: number; eps: number; theta: number }> = {
  LlamaForCausalLM: { maxPositions: 2048, eps: 1e-6, theta: 10000 },
  Qwen2ForCausalLM: { maxPositions: 32768, eps: 1e-6, theta: 10000 },
  MistralForCausalLM: { maxPositions: 4096 * 32, eps: 1e-6, theta: 10000 }
}

const architectureOf = (json: Json): Effect.Effect<Architecture, UnsupportedModel | InvalidModelConfig> => {
  const archs = json.architectures
  const modelType = json.model_type
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== "string") {
      return invalid("architectures", `must be a non-empty list of class names, got ${JSON.stringify(archs)}`)
    }
    const arch = archs[0] as string
    if (!(Architectures as ReadonlyArray<string>).includes(arch)) {
      return unsupported("architectures[0]", arch, `supported: ${Architectures.join(", ")}`)
    }
    const expected = modelTypeOf[arch as Architecture]
    if (modelType !== undefined && modelType !== expected) {
      return invalid("model_type", `is ${JSON.stringify(modelType)} but architectures[0] ${arch} implies "${expected}"`)
    }
    return Effect.succeed(arch as Architecture)
  }
  const found = Architectures.find((a) => modelTypeOf[a] === modelType)
  return found !== undefined
    ? Effect.succeed(found)
    : unsupported("model_type", modelType, `supported: ${Architectures.map((a) => modelTypeOf[a]).join(", ")}`)
}

const readRopeScaling = (
  raw: unknown,
  field: string
): Effect.Effect<RopeScaling | null, UnsupportedModel | InvalidModelConfig> => {
  if (raw === undefined || raw === null) return Effect.succeed(null)
  if (!isObject(raw)) return invalid(field, `must be an object or null, got ${JSON.stringify(raw)}`)
  const typeKey = raw.rope_type !== undefined ? "rope_type" : "type"
  const type = raw[typeKey]
  if (type === "default" || type === undefined) return Effect.succeed(null)
  return Effect.gen(function* () {
    const num = (key: string, fallback?: number) => {
      const v = raw[key] ?? fallback
      return typeof v === "number" && Number.isFinite(v) && v > 0
        ? Effect.succeed(v)
        : invalid(`${field}.${key}`, `must be a positive number, got ${JSON.stringify(raw[key])}`)
    }
    if (type === "llama3") {
      return {
        type: "llama3" as const,
        factor: yield* num("factor"),
        lowFreqFactor: yield* num("low_freq_factor"),
        highFreqFactor: yield* num("high_freq_factor"),
        originalMaxPositionEmbeddings: yield* num("original_max_position_embeddings")
      }
    }
    if (type === "linear") return { type: "linear" as const, factor: yield* num("factor") }
    return yield* unsupported(`${field}.${typeKey}`, type, "supported RoPE scalings: default, linear, llama3")
  })
}

/**
 * Read a parsed Hugging Face `config.json`. Fails with `UnsupportedModel` (naming the field) for model types and
 * options we do not implement, and `InvalidModelConfig` for missing or malformed values.
 */
export const fromHf = (
  json: unknown,
  options: FromHfOptions = {}
): Effect.Effect<ModelConfig, UnsupportedModel | InvalidModelConfig> =>
  Effect.gen(function* () {
    if (!isObject(json)) return yield* invalid("(root)", "config.json must be a JSON object")
    const architecture = yield* architectureOf(json)
    const d = defaults[architecture]
    const hiddenSize = yield* readInt(json, "hidden_size")
    const numHeads = yield* readInt(json, "num_attention_heads")
    const act = json.hidden_act ?? "silu"
    if (act !== "silu" && act !== "swish")
      return yield* unsupported("hidden_act", act, "only SwiGLU (silu) MLPs are implemented")
    if (json.mlp_bias === true) return yield* unsupported("mlp_bias", true, "MLP biases are not implemented")
    if (json.quantization_config !== undefined && json.quantization_config !== null) {
      return yield* unsupported(
        "quantization_config",
        json.quantization_config,
        "load an unquantized (F32/F16/BF16) checkpoint"
      )
    }
    const maxPositions = yield* readInt(json, "max_position_embeddings", d.maxPositions)
    if (maxPositions > maxSupportedContext && options.maxContext === undefined) {
      return yield* unsupported(
        "max_position_embeddings",
        maxPositions,
        `the engine runs at most ${maxSupportedContext} positions (position ids are int32 in its graphs); fix config.json or cap the context with maxContext`
      )
    }
    const maxContext = options.maxContext ?? maxPositions
    if (!Number.isInteger(maxContext) || maxContext <= 0 || maxContext > Math.min(maxPositions, maxSupportedContext)) {
      return yield* invalid(
        "max_position_embeddings",
        `the requested maxContext ${maxContext} must be an integer in [1, ${Math.min(maxPositions, maxSupportedContext)}]`
      )
    }
    // Sliding-window attention equals full attention while the context never exceeds the window.
    const slidingActive =
      architecture === "MistralForCausalLM" || (architecture === "Qwen2ForCausalLM" && json.use_sliding_window === true)
    const window = json.sliding_window
    if (slidingActive && window !== undefined && window !== null) {
      if (typeof window !== "number" || !Number.isInteger(window) || window <= 0) {
        return yield* invalid("sliding_window", `must be a positive integer or null, got ${JSON.stringify(window)}`)
      }
      if (window < maxContext) {
        return yield* unsupported(
          "sliding_window",
          window,
          `sliding-window attention is not implemented; pass maxContext <= ${window} so the window never binds (context now ${maxContext})`
        )
      }
    }
    const params = isObject(json.rope_parameters) ? json.rope_parameters : undefined
    const ropeTheta =
      params !== undefined
        ? yield* readNumber(params, "rope_theta", d.theta)
        : yield* readNumber(json, "rope_theta", d.theta)
    const ropeScaling =
      params !== undefined
        ? yield* readRopeScaling(params, "rope_parameters")
        : yield* readRopeScaling(json.rope_scaling, "rope_scaling")
    const llamaBias = architecture === "LlamaForCausalLM" && json.attention_bias === true
    const candidate = {
      architecture,
      vocabSize: yield* readInt(json, "vocab_size"),
      hiddenSize,
      intermediateSize: yield* readInt(json, "intermediate_size"),
      numLayers: yield* readInt(json, "num_hidden_layers"),
      numHeads,
      numKvHeads: yield* readInt(json, "num_key_value_heads", numHeads),
      headDim: yield* readInt(json, "head_dim", Math.floor(hiddenSize / numHeads)),
      maxContext,
      rmsNormEps: yield* readNumber(json, "rms_norm_eps", d.eps),
      ropeTheta,
      ropeScaling,
      tieWordEmbeddings: json.tie_word_embeddings === true,
      qkvBias: architecture === "Qwen2ForCausalLM" || llamaBias,
      oBias: llamaBias,
      bosTokenId: yield* readTokenId(json, "bos_token_id"),
      eosTokenIds: yield* readEos(json),
      padTokenId: yield* readTokenId(json, "pad_token_id")
    }
    if (json.head_dim === undefined && hiddenSize % numHeads !== 0) {
      return yield* invalid(
        "hidden_size",
        `${hiddenSize} is not divisible by num_attention_heads ${numHeads}; set head_dim`
      )
    }
    return yield* make(candidate)
  })

const hfFieldOf: Record<string, string> = {
  vocabSize: "vocab_size",
  hiddenSize: "hidden_size",
  intermediateSize: "intermediate_size",
  numLayers: "num_hidden_layers",
  numHeads: "num_attention_heads",
  numKvHeads: "num_key_value_heads",
  headDim: "head_dim",
  maxContext: "max_position_embeddings",
  rmsNormEps: "rms_norm_eps",
  ropeTheta: "rope_theta",
  ropeScaling: "rope_scaling",
  tieWordEmbeddings: "tie_word_embeddings",
  qkvBias: "attention_bias"
}

/** Validate a `ModelConfig` built in code (e.g. a from-scratch model); errors name the Hugging Face field. */
export const make = (fields: typeof ModelConfig.Encoded): Effect.Effect<ModelConfig, InvalidModelConfig> =>
  Schema.decodeUnknownEffect(ModelConfig)(fields).pipe(
    Effect.mapError((error) => {
      const key = Object.keys(hfFieldOf).find((k) => error.message.includes(`"${k}"`))
      return new InvalidModelConfig({
        field: key === undefined ? "(config)" : hfFieldOf[key]!,
        detail: error.message
      })
    })
  )

/** Llama's standard settings for a model built from scratch: RMSNorm ε 1e-5, RoPE θ 10000 unscaled, tied embeddings, no attention biases. */
export const llamaDefaults = {
  architecture: "LlamaForCausalLM",
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  tieWordEmbeddings: true,
  qkvBias: false,
  oBias: false
} as const

/** The fields `llama` needs: sizes and token ids; any of `llamaDefaults` may be given to override it. */
export type LlamaFields = Omit<typeof ModelConfig.Encoded, keyof typeof llamaDefaults> &
  Partial<Pick<typeof ModelConfig.Encoded, keyof typeof llamaDefaults>>

/** A from-scratch Llama config: `llamaDefaults` under the given fields, validated like `make`. */
export const llama = (fields: LlamaFields): Effect.Effect<ModelConfig, InvalidModelConfig> =>
  make({ ...llamaDefaults, ...fields })

/** Write the config back as a Hugging Face `config.json` object (what transformers and transformers.js read). */
export const toHf = (
  config: ModelConfig,
  options: { readonly torchDtype?: "float32" | "bfloat16" | "float16" } = {}
): Record<string, unknown> => {
  const scaling =
    config.ropeScaling === null
      ? null
      : config.ropeScaling.type === "linear"
        ? { rope_type: "linear", factor: config.ropeScaling.factor }
        : {
            rope_type: "llama3",
            factor: config.ropeScaling.factor,
            low_freq_factor: config.ropeScaling.lowFreqFactor,
            high_freq_factor: config.ropeScaling.highFreqFactor,
            original_max_position_embeddings: config.ropeScaling.originalMaxPositionEmbeddings
          }
  return {
    architectures: [config.architecture],
    model_type: modelTypeOf[config.architecture],
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    max_position_embeddings: config.maxContext,
    hidden_act: "silu",
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    rope_scaling: scaling,
    tie_word_embeddings: config.tieWordEmbeddings,
    ...(config.architecture === "LlamaForCausalLM" ? { attention_bias: config.oBias, mlp_bias: false } : {}),
    ...(config.architecture === "Qwen2ForCausalLM" ? { use_sliding_window: false, sliding_window: null } : {}),
    ...(config.architecture === "MistralForCausalLM" ? { sliding_window: null } : {}),
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds,
    pad_token_id: config.padTokenId,
    torch_dtype: options.torchDtype ?? "float32"
  }
}
