/**
 * Parameter initializers: plain data describing how a param starts, and the function that fills typed
 * arrays from them with the project's seeded `Rng` (each param gets its own stream, split by name, so
 * adding a param does not change the others).
 */
import type { Rng } from "@realm-lm/core"
import type { FloatType, ParamSpec } from "./Graph.ts"
import { sizeOf } from "./Graph.ts"

/** How a parameter is initialized. */
export type Init =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "constant"; readonly value: number }
  | { readonly kind: "normal"; readonly std: number; readonly mean?: number }
  | { readonly kind: "uniform"; readonly limit: number }

/** All zeros (biases, LoRA B). */
export const zeros: Init = { kind: "zeros" }
/** All ones (norm gains). */
export const ones: Init = { kind: "ones" }
/** Every element `value`. */
export const constant = (value: number): Init => ({ kind: "constant", value })
/** Normal(mean, std²). */
export const normal = (std: number, mean = 0): Init => ({ kind: "normal", std, mean })
/** Uniform(-limit, limit). */
export const uniform = (limit: number): Init => ({ kind: "uniform", limit })
/** Glorot/Xavier uniform for a `[fanIn, fanOut]` matrix. */
export const xavier = (fanIn: number, fanOut: number): Init => uniform(Math.sqrt(6 / (fanIn + fanOut)))

/** Fill one array for an init spec from an Rng stream. */
export const fill = (
  init: Init,
  size: number,
  rng: Rng.Rng,
  dtype: FloatType = "float32"
): Float32Array | Float64Array => {
  const out = dtype === "float32" ? new Float32Array(size) : new Float64Array(size)
  switch (init.kind) {
    case "zeros":
      break
    case "ones":
      out.fill(1)
      break
    case "constant":
      out.fill(init.value)
      break
    case "normal":
      for (let i = 0; i < size; i++) out[i] = (init.mean ?? 0) + init.std * rng.normal()
      break
    case "uniform":
      for (let i = 0; i < size; i++) out[i] = (2 * rng.float() - 1) * init.limit
      break
  }
  return out
}

/** Initial values for params, keyed by name; param `p` draws from `rng.split("init", p.name)`. */
export const values = (params: ReadonlyArray<ParamSpec>, rng: Rng.Rng): Record<string, Float32Array | Float64Array> => {
  const out: Record<string, Float32Array | Float64Array> = {}
  for (const p of params) out[p.name] = fill(p.init, sizeOf(p.shape), rng.split("init", p.name), p.dtype)
  return out
}
