/**
 * Training graphs built from a model function: a fused `step` (forward + backward + clip + optimizer),
 * `accumulate` (forward + backward into gradient accumulators, for micro-batches) and `apply`
 * (optimizer on the accumulated gradients), plus `eval` (forward only) and `grads` (loss and gradients).
 * Parameters and optimizer state are graph inputs; their updates are graph outputs named `<key>::next`.
 */
import { Schema } from "effect"
import { grad } from "./Autodiff.ts"
import type { FloatType, Graph, ParamSpec, Tensor } from "./Graph.ts"
import * as G from "./Graph.ts"
import * as O from "./Ops.ts"
import * as Optimizer from "./Optimizer.ts"
import type { StateUpdate } from "./Session.ts"

/** What a model function returns: a scalar loss `[]` and optional scalar or tensor metrics. */
export interface ModelOutputs {
  readonly loss: Tensor
  readonly metrics?: Readonly<Record<string, Tensor>>
}

/** A model: builds its forward pass into `g` for one shape bucket (e.g. `{ batch, seq }`). */
export type Model<B = void> = (g: Graph, bucket: B) => ModelOutputs

/** Training configuration (decoded before any graph is built). */
export const TrainingConfig = Schema.Struct({
  optimizer: Optimizer.OptimizerConfig,
  /** Global gradient-norm limit (> 0); absent = no clipping (the norm is still reported). */
  clipNorm: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0))),
  /** Frozen params: exact names, or prefixes ending in `*` (`layers.0.*`). Each pattern must match a param. */
  freeze: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isMinLength(1)))),
  /** Embedding gradient: `scatter` (ScatterElements add, default) or `matmul` (one-hot Gemm, deterministic). */
  embeddingGrad: Schema.optionalKey(Schema.Literals(["scatter", "matmul"])),
  /**
   * Where the optimizer runs. `graph` (default): inside the training graphs, which take the parameters and moments as
   * inputs and return their new values, so a step holds them twice more (ONNX Runtime's outputs and their JavaScript
   * copies). `host`: in TypeScript on the CPU (`HostOptimizer`) between runs of a gradients-only graph, one parameter at
   * a time, so a step holds them once plus one parameter's update: the placement that lets the larger models fit in
   * memory for full fine-tuning on a CPU. Same formulas (float32 rounding apart). CPU state only (not WebGPU).
   */
  optimizerOn: Schema.optionalKey(Schema.Literals(["graph", "host"]))
})
/** Decoded training config. */
export type TrainingConfig = typeof TrainingConfig.Type

/** Which graph to build. */
export type Kind = "step" | "accumulate" | "apply" | "eval" | "grads"

/** A built training graph and how its outputs map onto state. */
export interface TrainGraph {
  readonly kind: Kind
  readonly graph: Graph
  readonly stateUpdates: ReadonlyArray<StateUpdate>
  readonly params: ReadonlyArray<ParamSpec>
  readonly trainable: ReadonlyArray<string>
}

/** State key of an optimizer slot or accumulator of a param: `wte::m`, `wte::acc`. */
export const slotKey = (param: string, slot: string): string => `${param}::${slot}`
/** Output name carrying the next value of a state key. */
export const nextName = (key: string): string => `${key}::next`
/** Output name of a metric. */
export const metricName = (name: string): string => `metric::${name}`
/** Output name of a gradient (`grads` graphs). */
export const gradName = (param: string): string => `grad::${param}`

/** Names of the trainable params: not frozen by spec or by a `freeze` pattern. Unmatched patterns are errors. */
export const trainableNames = (params: ReadonlyArray<ParamSpec>, freeze: ReadonlyArray<string> = []): Array<string> => {
  const matches = (pattern: string, name: string) =>
    pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern
  for (const pattern of freeze) {
    if (!params.some((p) => matches(pattern, p.name))) {
      throw new G.InvalidGraph({
        detail: `freeze pattern "${pattern}" matches no param`,
        fix: `params are: ${params
          .slice(0, 12)
          .map((p) => p.name)
          .join(", ")}`
      })
    }
  }
  return params.filter((p) => p.trainable && !freeze.some((f) => matches(f, p.name))).map((p) => p.name)
}

/** The param specs of a model for a bucket (builds a throwaway forward graph). */
export const paramSpecs = <B>(model: Model<B>, bucket: B, float: FloatType = "float32"): ReadonlyArray<ParamSpec> => {
  const g = G.make("specs", { float })
  model(g, bucket)
  return g.params
}

const checkLoss = (loss: Tensor): void => {
  if (loss.rank !== 0)
    throw new G.InvalidGraph({
      detail: `the model's loss must be a scalar [], got ${loss.toString()}`,
      fix: "reduce it with Ops.reduceMean or Loss.*"
    })
}

const forward = <B>(g: Graph, model: Model<B>, bucket: B): { loss: Tensor } => {
  const out = model(g, bucket)
  checkLoss(out.loss)
  g.output("loss", out.loss)
  for (const [name, t] of Object.entries(out.metrics ?? {})) g.output(metricName(name), t)
  return { loss: out.loss }
}

/** Optimizer update of `names` with `grads`; declares slot inputs and `::next` outputs. */
const optimize = (
  g: Graph,
  config: TrainingConfig,
  specs: ReadonlyArray<ParamSpec>,
  params: ReadonlyArray<Tensor>,
  grads: ReadonlyArray<Tensor>,
  updates: Array<StateUpdate>,
  preScale?: Tensor
): void => {
  const lr = g.input("lr", g.float, [])
  const step = g.input("step", g.float, [])
  const norm = Optimizer.globalNorm(grads, config.clipNorm, preScale)
  g.output("grad_norm", norm.norm)
  const s = Optimizer.scalars(config.optimizer, lr, step, norm.scale)
  params.forEach((p, i) => {
    const spec = specs.find((x) => x.name === p.name) as ParamSpec
    const state: Record<string, Tensor> = {}
    for (const slot of Optimizer.slots(config.optimizer)) state[slot] = g.input(slotKey(p.name, slot), g.float, p.shape)
    const u = Optimizer.update(config.optimizer, s, p, grads[i]!, norm.squares[i], state, spec.decay)
    g.output(nextName(p.name), u.param)
    updates.push({ output: nextName(p.name), state: p.name })
    for (const [slot, t] of Object.entries(u.slots)) {
      const key = slotKey(p.name, slot)
      g.output(nextName(key), t)
      updates.push({ output: nextName(key), state: key })
    }
  })
}

/**
 * Build one training graph for a bucket. Inputs: the model's data inputs, every param, and per kind:
 * `step`: `lr`, `step` (1-based, float) and optimizer slots; `accumulate`: `<p>::acc` and `loss_weight`;
 * `apply`: slots, `<p>::acc`, `grad_scale`, `lr`, `step`. Outputs: `loss`, `metric::*`, `grad_norm`, `*::next`.
 */
export const build = <B>(
  kind: Kind,
  model: Model<B>,
  bucket: B,
  config: TrainingConfig,
  float: FloatType = "float32"
): TrainGraph => {
  const g = G.make(`${kind}`, { float })
  const updates: Array<StateUpdate> = []
  const embedding = config.embeddingGrad ?? "scatter"
  if (kind === "apply") {
    const specs = paramSpecs(model, bucket, float)
    const trainable = trainableNames(specs, config.freeze)
    const params = trainable.map((n) => {
      const spec = specs.find((p) => p.name === n) as ParamSpec
      return g.param(n, spec.shape, { init: spec.init, trainable: true, decay: spec.decay })
    })
    const scale = g.input("grad_scale", float, [])
    const grads = params.map((p) => g.input(slotKey(p.name, "acc"), float, p.shape))
    optimize(g, config, g.params, params, grads, updates, scale)
    return { kind, graph: g, stateUpdates: updates, params: specs, trainable }
  }
  const { loss } = forward(g, model, bucket)
  const trainable = trainableNames(g.params, config.freeze)
  const params = trainable.map((n) => g.inputNamed(n) as Tensor)
  if (kind === "eval") return { kind, graph: g, stateUpdates: [], params: g.params, trainable }
  if (trainable.length === 0)
    throw new G.InvalidGraph({ detail: "no trainable params", fix: "check the freeze patterns" })
  if (kind === "grads") {
    grad(loss, params, { embedding }).forEach((d, i) => g.output(gradName(params[i]!.name), d))
    return { kind, graph: g, stateUpdates: [], params: g.params, trainable }
  }
  if (kind === "accumulate") {
    const weight = g.input("loss_weight", float, [])
    grad(loss, params, { embedding, seed: weight }).forEach((d, i) => {
      const p = params[i]!
      const key = slotKey(p.name, "acc")
      g.output(nextName(key), O.add(g.input(key, float, p.shape), d))
      updates.push({ output: nextName(key), state: key })
    })
    return { kind, graph: g, stateUpdates: updates, params: g.params, trainable }
  }
  optimize(g, config, g.params, params, grad(loss, params, { embedding }), updates)
  return { kind, graph: g, stateUpdates: updates, params: g.params, trainable }
}
