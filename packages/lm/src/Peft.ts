/**
 * PEFT adapter directories: `adapter_config.json` (peft_type `LORA`, `r`, `lora_alpha`, `target_modules`,
 * `base_model_name_or_path`) and `adapter_model.safetensors` with PEFT's tensor names
 * (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` `[r, in]`, `lora_B.weight` `[out, r]`; trained
 * norm gains as `modules_to_save` under `base_model.model.<name>`), as Hugging Face `peft` writes and reads them.
 */
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect"
import * as Lora from "./Lora.ts"
import type { ModelConfig } from "./ModelConfig.ts"
import * as Safetensors from "./Safetensors.ts"
import * as Weights from "./Weights.ts"

/** `adapter_config.json`. */
export const configFile = "adapter_config.json"
/** `adapter_model.safetensors`. */
export const weightsFile = "adapter_model.safetensors"
/** Prefix PEFT puts before the wrapped model's parameter names. */
export const prefix = "base_model.model."
/** PEFT `modules_to_save` for trained norm gains (matched by name suffix: every layer's two norms and `model.norm`). */
export const normModules = ["input_layernorm", "post_attention_layernorm", "norm"] as const

/** An adapter directory this package cannot read, or whose contents do not fit the base model. */
export class InvalidAdapter extends Schema.TaggedError<InvalidAdapter>()("InvalidAdapter", {
  dir: Schema.String,
  detail: Schema.String,
  fix: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `PEFT adapter ${this.dir}: ${this.detail}${this.fix === undefined ? "" : `. Fix: ${this.fix}`}`
  }
}

/** A loaded adapter directory. */
export interface Adapter {
  /** The base config with `lora` set from `adapter_config.json`. */
  readonly config: ModelConfig
  /** Every A and B by our parameter name (`model.layers.0.self_attn.q_proj.lora_A.weight`). */
  readonly adapters: Weights.Weights
  /** Trained norm gains by our name (present exactly when `lora.trainNorms`). */
  readonly norms: Weights.Weights
  /** `base_model_name_or_path`, when recorded. */
  readonly baseModel: string | undefined
}

/** The `adapter_config.json` object for `config.lora` (the keys `peft` writes, with its defaults for the rest). */
export const adapterConfig = (config: ModelConfig, baseModel?: string): Record<string, unknown> => {
  const lora = config.lora
  if (lora === undefined) throw new RangeError("Peft.adapterConfig: the config has no lora settings")
  return {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: baseModel ?? null,
    r: lora.rank,
    lora_alpha: lora.alpha,
    lora_dropout: 0,
    target_modules: Lora.targets.filter((t) => lora.targets.includes(t)),
    modules_to_save: lora.trainNorms ? [...normModules] : null,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null
  }
}

/**
 * Write a PEFT adapter directory for `config.lora`: the adapters (validated against `config`) and, with
 * `trainNorms`, the norm gains from `norms` (the model's current ones).
 */
export const save = (
  dir: string,
  config: ModelConfig,
  adapters: Weights.Weights,
  options: { readonly baseModel?: string; readonly norms?: Weights.Weights } = {}
): Effect.Effect<void, Weights.WeightsMismatch | PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const valid = yield* Lora.validate(config, adapters)
    const tensors = new Map<string, Weights.Tensor>()
    for (const [name, t] of valid) tensors.set(prefix + name, t)
    if (config.lora?.trainNorms === true) {
      for (const name of Lora.normNames(config)) {
        const t = options.norms?.get(name)
        if (t === undefined) return yield* new Weights.MissingWeight({ name, source: "norms (trainNorms)" })
        tensors.set(prefix + name, t)
      }
    }
    yield* fs.makeDirectory(dir, { recursive: true })
    yield* fs.writeFileString(
      path.join(dir, configFile),
      `${JSON.stringify(adapterConfig(config, options.baseModel), null, 2)}\n`
    )
    yield* Safetensors.write(path.join(dir, weightsFile), tensors)
  })

const AdapterJson = Schema.Struct({
  peft_type: Schema.String,
  r: Schema.Number,
  lora_alpha: Schema.Number,
  target_modules: Schema.Union([Schema.Array(Schema.String), Schema.String]),
  base_model_name_or_path: Schema.optionalKey(Schema.NullOr(Schema.String)),
  modules_to_save: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.String))),
  bias: Schema.optionalKey(Schema.String),
  fan_in_fan_out: Schema.optionalKey(Schema.Boolean),
  use_dora: Schema.optionalKey(Schema.Boolean),
  use_rslora: Schema.optionalKey(Schema.Boolean)
})

/** Read a PEFT LoRA directory written for the base model of `config` (its `lora` is ignored and replaced). */
export const load = (
  dir: string,
  config: ModelConfig
): Effect.Effect<Adapter, InvalidAdapter | PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const bad = (detail: string, fix?: string) =>
      new InvalidAdapter({ dir, detail, ...(fix === undefined ? {} : { fix }) })
    const text = yield* fs.readFileString(path.join(dir, configFile))
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => bad(`${configFile} is not JSON (${String(e)})`)
    })
    const parsed = Schema.decodeUnknownResult(AdapterJson)(json)
    if (parsed._tag === "Failure") return yield* bad(`${configFile}: ${parsed.failure.message}`)
    const c = parsed.success
    if (c.peft_type !== "LORA") return yield* bad(`peft_type is ${c.peft_type}, only LORA is supported`)
    if (typeof c.target_modules === "string")
      return yield* bad(
        `target_modules is the pattern "${c.target_modules}"`,
        `list the projections instead (${Lora.targets.join(", ")})`
      )
    const unsupported = [
      c.use_dora === true && "use_dora",
      c.use_rslora === true && "use_rslora",
      c.fan_in_fan_out === true && "fan_in_fan_out",
      (c.bias ?? "none") !== "none" && `bias "${c.bias}"`
    ].filter((x) => x !== false)
    if (unsupported.length > 0)
      return yield* bad(
        `${unsupported.join(", ")} is not supported`,
        "train a plain LoRA adapter (bias none, no DoRA/rsLoRA)"
      )
    const saved = c.modules_to_save ?? []
    const foreign = saved.filter((m) => !(normModules as ReadonlyArray<string>).includes(m))
    if (foreign.length > 0)
      return yield* bad(
        `modules_to_save ${foreign.join(", ")} are not norm gains`,
        `only ${normModules.join(", ")} can be saved with the adapter`
      )
    const lora = Schema.decodeUnknownResult(Lora.LoraConfig)({
      rank: c.r,
      alpha: c.lora_alpha,
      targets: c.target_modules,
      trainNorms: saved.length > 0
    })
    if (lora._tag === "Failure") return yield* bad(lora.failure.message)
    const adaptedConfig: ModelConfig = { ...Lora.baseConfig(config), lora: lora.success }
    const tensors = yield* Safetensors.read(path.join(dir, weightsFile)).pipe(
      Effect.mapError((e) => (e._tag === "PlatformError" ? e : bad(`${weightsFile}: ${e.message}`)))
    )
    const adapters = new Map<string, Weights.Tensor>()
    const norms = new Map<string, Weights.Tensor>()
    const normSet = new Set(Lora.normNames(config))
    for (const [name, t] of tensors) {
      if (!name.startsWith(prefix)) return yield* bad(`tensor ${name} lacks the "${prefix}" prefix PEFT writes`)
      const ours = name.slice(prefix.length).replace(/\.default\.weight$/, ".weight")
      if (normSet.has(ours)) norms.set(ours, t)
      else adapters.set(ours, t)
    }
    const valid = yield* Lora.validate(adaptedConfig, adapters, weightsFile).pipe(
      Effect.mapError((e) =>
        bad(e.message, "the adapter was trained for another base model (check base_model_name_or_path)")
      )
    )
    if (!lora.success.trainNorms && norms.size > 0)
      return yield* bad(`${weightsFile} holds norm gains (${[...norms.keys()][0]}) but modules_to_save is empty`)
    for (const name of lora.success.trainNorms ? normSet : []) {
      const t = norms.get(name)
      const expected = config.hiddenSize
      if (t === undefined || t.data.length !== expected)
        return yield* bad(
          `modules_to_save lists the norms but ${name} is ${t === undefined ? "missing" : `[${t.shape.join(", ")}]`}, expected [${expected}]`
        )
    }
    for (const [name, t] of [...valid, ...norms]) {
      const nonFinite = Weights.nonFinite(name, t, weightsFile)
      if (nonFinite !== undefined) return yield* bad(nonFinite.message)
    }
    return { config: adaptedConfig, adapters: valid, norms, baseModel: c.base_model_name_or_path ?? undefined }
  })
