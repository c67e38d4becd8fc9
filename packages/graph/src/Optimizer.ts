/**
 * In-graph optimizers: AdamW (decoupled weight decay, bias correction from a run-time step input) and
 * SGD with momentum, plus global-norm gradient clipping. The learning rate is a graph input, so
 * schedules live in TypeScript. Updates are elementwise standard ops (WebGPU-safe).
 */
import { Schema } from "effect"
import type { Tensor } from "./Graph.ts"
import * as O from "./Ops.ts"

/** AdamW hyper-parameters (PyTorch semantics). */
export const AdamW = Schema.Struct({
  kind: Schema.Literal("adamw"),
  /** First-moment decay β1 in [0, 1). Default 0.9. */
  beta1: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true }))),
  /** Second-moment decay β2 in [0, 1). Default 0.999. */
  beta2: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true }))),
  /** Denominator epsilon (> 0). Default 1e-8. */
  eps: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0))),
  /** Decoupled weight decay per unit learning rate (≥ 0), applied to params with `decay`. Default 0.01. */
  weightDecay: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)))
})

/** SGD hyper-parameters (PyTorch semantics, dampening 0). */
export const Sgd = Schema.Struct({
  kind: Schema.Literal("sgd"),
  /** Momentum in [0, 1). Default 0 (no momentum state). */
  momentum: Schema.optionalKey(
    Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true }))
  ),
  /** Nesterov momentum; needs momentum > 0. Default false. */
  nesterov: Schema.optionalKey(Schema.Boolean),
  /** L2 weight decay added to the gradient (≥ 0). Default 0. */
  weightDecay: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)))
}).check(
  Schema.makeFilter((s) =>
    s.nesterov === true && (s.momentum ?? 0) === 0 ? { path: ["nesterov"], issue: "nesterov needs momentum > 0" } : true
  )
)

/** Either optimizer. */
export const OptimizerConfig = Schema.Union([AdamW, Sgd])
/** Decoded optimizer config. */
export type OptimizerConfig = typeof OptimizerConfig.Type

/** Names of the per-parameter state slots an optimizer keeps (`m`, `v` for AdamW; `mom` for SGD with momentum). */
export const slots = (config: OptimizerConfig): ReadonlyArray<string> =>
  config.kind === "adamw" ? ["m", "v"] : (config.momentum ?? 0) > 0 ? ["mom"] : []

/** Per-graph scalars derived once from the run-time `lr`, `step` and gradient scale. */
export interface Scalars {
  readonly lr: Tensor
  /** Factor applied to every gradient (clip coefficient × accumulation scale), or undefined for 1. */
  readonly gradScale: Tensor | undefined
  /** AdamW: (1 − β1)·σ and (1 − β2)·σ² with σ = gradScale. */
  readonly c1?: Tensor
  readonly c2?: Tensor
  /** AdamW: lr·√bc2 / bc1 and eps·√bc2 (PyTorch's update with numerator and denominator scaled by √bc2). */
  readonly stepSize?: Tensor
  readonly epsHat?: Tensor
  /** AdamW: 1 − lr·weightDecay. */
  readonly decayFactor?: Tensor
}

/**
 * Derive the per-graph scalars from `lr` and the 1-based `step` (both `[]` float inputs) and an optional
 * gradient scale `[]`, so each parameter's update is a handful of elementwise passes.
 */
export const scalars = (config: OptimizerConfig, lr: Tensor, step: Tensor, gradScale: Tensor | undefined): Scalars => {
  if (config.kind === "sgd") return { lr, gradScale }
  const g = lr.graph
  const b1 = config.beta1 ?? 0.9
  const b2 = config.beta2 ?? 0.999
  const bc1 = O.sub(1, O.pow(g.scalar(b1, lr.dtype), step))
  const sqrtBc2 = O.sqrt(O.sub(1, O.pow(g.scalar(b2, lr.dtype), step)))
  return {
    lr,
    gradScale,
    c1: gradScale === undefined ? g.scalar(1 - b1, lr.dtype) : O.mul(gradScale, 1 - b1),
    c2: gradScale === undefined ? g.scalar(1 - b2, lr.dtype) : O.mul(O.mul(gradScale, gradScale), 1 - b2),
    stepSize: O.div(O.mul(lr, sqrtBc2), bc1),
    epsHat: O.mul(sqrtBc2, config.eps ?? 1e-8),
    decayFactor: O.sub(1, O.mul(lr, config.weightDecay ?? 0.01))
  }
}

/** One parameter's update: new value and new slot states. */
export interface Update {
  readonly param: Tensor
  readonly slots: Readonly<Record<string, Tensor>>
}

/**
 * Build the update of parameter `p` from its raw gradient `grad` (scaled by `s.gradScale` inside the
 * update), `gradSquared` = grad·grad when already computed for the norm, and its slot states.
 */
export const update = (
  config: OptimizerConfig,
  s: Scalars,
  p: Tensor,
  grad: Tensor,
  gradSquared: Tensor | undefined,
  state: Readonly<Record<string, Tensor>>,
  decay: boolean
): Update => {
  if (config.kind === "adamw") {
    const m = O.add(O.mul(state["m"]!, config.beta1 ?? 0.9), O.mul(grad, s.c1 as Tensor))
    const v = O.add(O.mul(state["v"]!, config.beta2 ?? 0.999), O.mul(gradSquared ?? O.mul(grad, grad), s.c2 as Tensor))
    const base = decay && (config.weightDecay ?? 0.01) > 0 ? O.mul(p, s.decayFactor as Tensor) : p
    return {
      param: O.sub(base, O.mul(O.div(m, O.add(O.sqrt(v), s.epsHat as Tensor)), s.stepSize as Tensor)),
      slots: { m, v }
    }
  }
  const wd = decay ? (config.weightDecay ?? 0) : 0
  const scaled = s.gradScale === undefined ? grad : O.mul(grad, s.gradScale)
  const g = wd > 0 ? O.add(scaled, O.mul(p, wd)) : scaled
  const mu = config.momentum ?? 0
  if (mu === 0) return { param: O.sub(p, O.mul(g, s.lr)), slots: {} }
  const mom = O.add(O.mul(state["mom"]!, mu), g)
  const dir = config.nesterov === true ? O.add(g, O.mul(mom, mu)) : mom
  return { param: O.sub(p, O.mul(dir, s.lr)), slots: { mom } }
}

/** Global gradient norm and the gradient scale it implies. */
export interface GlobalNorm {
  /** ‖preScale·g‖₂ over all gradients `[]` (before clipping). */
  readonly norm: Tensor
  /** preScale × min(1, maxNorm / (norm + 1e-6)) (PyTorch `clip_grad_norm_`), or undefined when neither applies. */
  readonly scale: Tensor | undefined
  /** g·g per gradient, reusable by AdamW's second moment. */
  readonly squares: ReadonlyArray<Tensor>
}

/**
 * Global-norm clipping as a scalar factor: gradients are never rewritten, the factor is folded into the
 * optimizer's per-graph scalars. `preScale` (e.g. 1/Σ micro-batch weights) multiplies every gradient first.
 */
export const globalNorm = (
  grads: ReadonlyArray<Tensor>,
  maxNorm: number | undefined,
  preScale?: Tensor
): GlobalNorm => {
  const first = grads[0]
  if (first === undefined) throw new RangeError("globalNorm: no gradients")
  const squares = grads.map((d) => O.mul(d, d))
  let sq: Tensor | undefined
  for (const d2 of squares) {
    const s = O.reduceSum(d2)
    sq = sq === undefined ? s : O.add(sq, s)
  }
  const raw = O.sqrt(sq as Tensor)
  const norm = preScale === undefined ? raw : O.mul(raw, O.abs(preScale))
  if (maxNorm === undefined) return { norm, scale: preScale, squares }
  const coef = O.min(O.div(first.graph.scalar(maxNorm, first.dtype), O.add(norm, 1e-6)), 1)
  return { norm, scale: preScale === undefined ? coef : O.mul(preScale, coef), squares }
}
