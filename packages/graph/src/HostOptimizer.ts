/**
 * The optimizers of `Optimizer.ts` as plain functions over CPU typed arrays, for training where the graphs only
 * compute gradients (`TrainingConfig.optimizerOn: "host"`). The formulas are the in-graph ones term for term (AdamW with
 * the bias corrections folded into a step size and epsilon, SGD with momentum, global-norm clipping as one scale), so
 * both placements agree to float32 rounding. An update returns the new parameter as a fresh array (an executor's
 * parameters are replaced, not mutated, so a snapshot of the weights stays valid) and writes the new slot states
 * (AdamW's moments, SGD's momentum) into the given slot arrays, which only the optimizer owns.
 */
import type { OptimizerConfig } from "./Optimizer.ts"

/** The global gradient norm and the factor every gradient is multiplied by before the update. */
export interface GlobalNorm {
  /** ‖preScale·g‖₂ over every gradient (before clipping). */
  readonly norm: number
  /** preScale × min(1, maxNorm / (norm + 1e-6)) (PyTorch `clip_grad_norm_`), or preScale without a limit. */
  readonly scale: number
}

/**
 * `globalNorm` of `Optimizer.ts` over CPU gradients: sums in float64, one pass per gradient. A sum of squares beyond
 * float32's range gives an infinite norm, as the graph's float32 sum does, so both placements reject the same steps.
 */
export const globalNorm = (
  grads: ReadonlyArray<Float32Array>,
  maxNorm: number | undefined,
  preScale = 1
): GlobalNorm => {
  let sq = 0
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!
  const norm = Number.isFinite(Math.fround(sq)) ? Math.sqrt(sq) * Math.abs(preScale) : Number.POSITIVE_INFINITY
  return { norm, scale: maxNorm === undefined ? preScale : preScale * Math.min(maxNorm / (norm + 1e-6), 1) }
}

/** Per-step scalars, derived once from the learning rate, the 1-based step and the gradient scale. */
export interface Scalars {
  readonly lr: number
  readonly gradScale: number
  /** AdamW: (1 − β1)·σ and (1 − β2)·σ², σ = gradScale. */
  readonly c1: number
  readonly c2: number
  /** AdamW: lr·√bc2 / bc1 and eps·√bc2. */
  readonly stepSize: number
  readonly epsHat: number
  /** AdamW: 1 − lr·weightDecay. */
  readonly decayFactor: number
}

/** The scalars of one step (`Optimizer.scalars` in numbers). */
export const scalars = (config: OptimizerConfig, lr: number, step: number, gradScale: number): Scalars => {
  if (config.kind === "sgd") return { lr, gradScale, c1: 0, c2: 0, stepSize: 0, epsHat: 0, decayFactor: 1 }
  const b1 = config.beta1 ?? 0.9
  const b2 = config.beta2 ?? 0.999
  const bc1 = 1 - b1 ** step
  const sqrtBc2 = Math.sqrt(1 - b2 ** step)
  return {
    lr,
    gradScale,
    c1: gradScale * (1 - b1),
    c2: gradScale * gradScale * (1 - b2),
    stepSize: (lr * sqrtBc2) / bc1,
    epsHat: sqrtBc2 * (config.eps ?? 1e-8),
    decayFactor: 1 - lr * (config.weightDecay ?? 0.01)
  }
}

/**
 * The update of parameter `p` from its raw gradient `grad` (multiplied by `s.gradScale` inside): returns the new value
 * as a fresh array and writes the new slot states into `slots` (`m`, `v` for AdamW, `mom` for SGD with momentum;
 * `Optimizer.slots`), in place. `decay` as the param's spec says.
 */
export const update = (
  config: OptimizerConfig,
  s: Scalars,
  p: Float32Array,
  grad: Float32Array,
  slots: Readonly<Record<string, Float32Array>>,
  decay: boolean
): Float32Array => {
  const n = p.length
  const param = new Float32Array(n)
  if (config.kind === "adamw") {
    const [b1, b2] = [config.beta1 ?? 0.9, config.beta2 ?? 0.999]
    const decayFactor = decay && (config.weightDecay ?? 0.01) > 0 ? s.decayFactor : 1
    const [m, v] = [slots["m"]!, slots["v"]!]
    for (let i = 0; i < n; i++) {
      const g = grad[i]!
      const mi = Math.fround(m[i]! * b1 + g * s.c1)
      const vi = Math.fround(v[i]! * b2 + g * g * s.c2)
      m[i] = mi
      v[i] = vi
      param[i] = p[i]! * decayFactor - (mi / (Math.sqrt(vi) + s.epsHat)) * s.stepSize
    }
    return param
  }
  const wd = decay ? (config.weightDecay ?? 0) : 0
  const mu = config.momentum ?? 0
  const nesterov = config.nesterov === true
  const mom = mu === 0 ? undefined : slots["mom"]!
  for (let i = 0; i < n; i++) {
    const g = grad[i]! * s.gradScale + p[i]! * wd
    if (mom === undefined) {
      param[i] = p[i]! - g * s.lr
      continue
    }
    const b = Math.fround(mom[i]! * mu + g)
    mom[i] = b
    param[i] = p[i]! - (nesterov ? g + b * mu : b) * s.lr
  }
  return param
}
