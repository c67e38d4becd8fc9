/**
 * LoRA adapters (Hu et al. 2021) on the decoder's projection matrices: each targeted `W [out, in]` is used as
 * `x·Wᵀ + (alpha / rank)·(x·Aᵀ)·Bᵀ` with `A [rank, in]` and `B [out, rank]` (PEFT's layout), B starting at zero so
 * the adapted model starts as the base. Settings, adapter names and shapes, their initialisation, and the merge
 * `W + scale·B·A` are here; the graphs read them through `ModelConfig.lora` (see `Model`), the PEFT files are `Peft`.
 */
import { ConfigDecode } from "@realm-lm/core"
import type { Rng } from "@realm-lm/core"
import { Init } from "@realm-lm/graph"
import { Effect, Schema } from "effect"
import type { ModelConfig } from "./ModelConfig.ts"
import * as Weights from "./Weights.ts"

/** The projection names adapters can target: the last part of their Hugging Face names (PEFT `target_modules`). */
export const targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const
/** A projection adapters can target. */
export type Target = (typeof targets)[number]

const isTarget = (s: string): s is Target => (targets as ReadonlyArray<string>).includes(s)

/** LoRA settings (`trainer.lora`; `ModelConfig.lora` once decoded). */
export const LoraConfig = Schema.Struct({
  /** Inner dimension r of each adapter (a positive integer). */
  rank: Schema.Int.check(
    Schema.makeFilter((r) =>
      r > 0 ? undefined : `rank must be a positive integer (the adapters' inner dimension, e.g. 8), got ${r}`
    )
  ),
  /** Scale numerator: the adapter term is multiplied by alpha / rank (PEFT `lora_alpha`). Positive. */
  alpha: Schema.Finite.check(
    Schema.makeFilter((a) =>
      a > 0 ? undefined : `alpha must be positive (the adapter term is scaled by alpha / rank, e.g. 16), got ${a}`
    )
  ),
  /** Projections to adapt, by name (`q_proj`, ..., `down_proj`), each once, at least one. */
  targets: Schema.Array(Schema.String).check(
    Schema.makeFilter((list) => {
      if (list.length === 0) return `targets must name at least one projection; valid targets: ${targets.join(", ")}`
      const unknown = list.filter((t) => !isTarget(t))
      if (unknown.length > 0)
        return `unknown LoRA target${unknown.length > 1 ? "s" : ""} ${unknown.map((t) => `"${t}"`).join(", ")}; valid targets: ${targets.join(", ")}`
      const twice = list.filter((t, i) => list.indexOf(t) !== i)
      return twice.length === 0 ? undefined : `targets name ${twice.map((t) => `"${t}"`).join(", ")} more than once`
    })
  ),
  /** Also train the RMSNorm gains (every layer's and the final one), saved with the adapter as PEFT `modules_to_save`. Default false. */
  trainNorms: Schema.Boolean.pipe(ConfigDecode.withDefault(false))
})
/** Decoded LoRA settings. */
export type LoraConfig = typeof LoraConfig.Type

/** alpha / rank: the factor on the adapter term. */
export const scale = (lora: LoraConfig): number => lora.alpha / lora.rank

/** Name of adapter A of base weight `w` (`...q_proj.weight` → `...q_proj.lora_A.weight`). */
export const aName = (w: string): string => w.replace(/\.weight$/, ".lora_A.weight")
/** Name of adapter B of base weight `w`. */
export const bName = (w: string): string => w.replace(/\.weight$/, ".lora_B.weight")

const weightOf = (layer: number, target: Target): string => {
  const n = Weights.layer(layer)
  const byTarget: Record<Target, string> = {
    q_proj: n.q,
    k_proj: n.k,
    v_proj: n.v,
    o_proj: n.o,
    gate_proj: n.gate,
    up_proj: n.up,
    down_proj: n.down
  }
  return byTarget[target]
}

/** One adapted projection: the base weight `[out, in]` and its adapters `A [rank, in]`, `B [out, rank]`. */
export interface Adapted {
  readonly weight: string
  readonly a: { readonly name: string; readonly shape: readonly [number, number] }
  readonly b: { readonly name: string; readonly shape: readonly [number, number] }
}

/** Every adapted projection of `config` (none without `config.lora`), layer by layer in target order. */
export const adapted = (config: ModelConfig): ReadonlyArray<Adapted> => {
  const lora = config.lora
  if (lora === undefined) return []
  const shapes = new Map(Weights.spec(config).map((p) => [p.name, p.shape]))
  const order = targets.filter((t) => lora.targets.includes(t))
  const out: Array<Adapted> = []
  for (let l = 0; l < config.numLayers; l++) {
    for (const t of order) {
      const weight = weightOf(l, t)
      const [o, i] = shapes.get(weight) as [number, number]
      out.push({
        weight,
        a: { name: aName(weight), shape: [lora.rank, i] },
        b: { name: bName(weight), shape: [o, lora.rank] }
      })
    }
  }
  return out
}

/** Names of the norm gains trained with `trainNorms` (every layer's two and the final one). */
export const normNames = (config: ModelConfig): Array<string> =>
  Weights.spec(config)
    .filter((p) => p.kind === "norm")
    .map((p) => p.name)

/** Names of every parameter a LoRA run trains: the adapters, and the norm gains with `trainNorms`. */
export const trainableNames = (config: ModelConfig): Array<string> => [
  ...adapted(config).flatMap((x) => [x.a.name, x.b.name]),
  ...(config.lora?.trainNorms === true ? normNames(config) : [])
]

/**
 * Initialisation of an adapter parameter: A as PEFT's default (Kaiming-uniform with a = √5, i.e. U(±1/√in)), B zeros,
 * so the adapted model equals the base until B moves.
 */
export const initOf = (name: string, shape: ReadonlyArray<number>): Init.Init =>
  name.endsWith(".lora_B.weight") ? Init.zeros : Init.uniform(1 / Math.sqrt(shape[1]!))

/** Fresh adapters for `config` (A random from `rng`, B zeros), drawn as `@realm-lm/graph`'s `Trainer.initialize` draws them. */
export const init = (config: ModelConfig, rng: Rng.Rng): Weights.Weights => {
  const out = new Map<string, Weights.Tensor>()
  for (const x of adapted(config)) {
    for (const p of [x.a, x.b])
      out.set(
        p.name,
        Weights.tensor(
          p.shape,
          Init.fill(initOf(p.name, p.shape), Weights.numel(p.shape), rng.split("init", p.name)) as Float32Array
        )
      )
  }
  return out
}

/** Check adapters against `config`: every A and B of `adapted(config)` with its shape, nothing else. */
export const validate = (
  config: ModelConfig,
  adapters: Weights.Weights,
  source = "adapters"
): Effect.Effect<Weights.Weights, Weights.WeightsMismatch> =>
  Effect.gen(function* () {
    const expected = adapted(config).flatMap((x) => [x.a, x.b])
    for (const p of expected) {
      const t = adapters.get(p.name)
      if (t === undefined) return yield* new Weights.MissingWeight({ name: p.name, source })
      if (
        t.shape.length !== 2 ||
        t.shape[0] !== p.shape[0] ||
        t.shape[1] !== p.shape[1] ||
        t.data.length !== Weights.numel(p.shape)
      ) {
        return yield* new Weights.WeightShapeMismatch({
          name: p.name,
          source,
          expected: [...p.shape],
          actual: [...t.shape]
        })
      }
    }
    const known = new Set(expected.map((p) => p.name))
    for (const name of adapters.keys())
      if (!known.has(name)) return yield* new Weights.UnexpectedWeight({ name, source })
    return new Map(expected.map((p) => [p.name, adapters.get(p.name) as Weights.Tensor]))
  })

/** `config` without adapters: the architecture of the merged model. */
export const baseConfig = (config: ModelConfig): ModelConfig => {
  const { lora: _lora, ...base } = config
  return base
}

/**
 * Merged weights `W + (alpha / rank)·B·A` for every adapted projection of `config`: what a Hugging Face directory of
 * the adapted model holds (save it with `baseConfig(config)`). `weights` are the base (with trained norm gains, when
 * `trainNorms`); `adapters` hold every A and B. Untouched tensors are shared, merged ones are new arrays.
 */
export const merge = (config: ModelConfig, weights: Weights.Weights, adapters: Weights.Weights): Weights.Weights => {
  const lora = config.lora
  if (lora === undefined) return weights
  const s = scale(lora)
  const r = lora.rank
  const out = new Map(weights)
  for (const x of adapted(config)) {
    const w = Weights.get(weights, x.weight)
    const a = Weights.get(adapters, x.a.name).data // [r, in]
    const b = Weights.get(adapters, x.b.name).data // [out, r]
    const [rows, cols] = w.shape as [number, number]
    const merged = Float32Array.from(w.data)
    for (let o = 0; o < rows; o++) {
      const row = merged.subarray(o * cols, (o + 1) * cols)
      for (let k = 0; k < r; k++) {
        const f = s * b[o * r + k]!
        if (f === 0) continue
        const ak = a.subarray(k * cols, (k + 1) * cols)
        for (let i = 0; i < cols; i++) row[i] = row[i]! + f * ak[i]!
      }
    }
    out.set(x.weight, Weights.tensor(w.shape, merged))
  }
  return out
}
