/**
 * The training executor: compiles a model's training graphs lazily, one session per (kind, shape bucket),
 * reuses them every step, and keeps parameters and optimizer state in the executor's store between
 * steps. Supports a fused step, micro-batch accumulation + apply, evaluation and plain gradients. With
 * `optimizerOn: "host"` the graphs only compute gradients and `HostOptimizer` updates the state between runs.
 */
import type { Rng } from "@realm-lm/core"
import { Effect, Schema, Scope } from "effect"
import type { DeviceUnavailable } from "./Device.ts"
import type { ExecutorShape } from "./Executor.ts"
import type { ParamSpec, TensorData } from "./Graph.ts"
import * as G from "./Graph.ts"
import * as HostOptimizer from "./HostOptimizer.ts"
import * as Init from "./Init.ts"
import * as Gc from "./internal/gc.ts"
import * as Optimizer from "./Optimizer.ts"
import type { Feed, FeedMismatch, RunFailed, Session, SessionCreateFailed, UpdateRejected } from "./Session.ts"
import { scalar } from "./Session.ts"
import type { DeviceTensor } from "./State.ts"
import type { Kind, Model } from "./Training.ts"
import * as Training from "./Training.ts"

/** The loss (or gradient norm) was not finite; the state update of that step was not applied. */
export class NonFiniteLoss extends Schema.TaggedError<NonFiniteLoss>()("NonFiniteLoss", {
  step: Schema.Number,
  loss: Schema.Number,
  gradNorm: Schema.Number
}) {
  override get message(): string {
    return `non-finite loss ${this.loss} / grad norm ${this.gradNorm} at optimizer step ${this.step}; parameters were left unchanged. Lower the learning rate or enable clipNorm`
  }
}

/** `apply` was called with no accumulated micro-batch. */
export class NothingAccumulated extends Schema.TaggedError<NothingAccumulated>()("NothingAccumulated", {}) {
  override get message(): string {
    return "apply() needs at least one accumulate() since the last apply"
  }
}

/** Errors a training call can fail with. */
export type TrainError =
  | FeedMismatch
  | RunFailed
  | SessionCreateFailed
  | DeviceUnavailable
  | NonFiniteLoss
  | NothingAccumulated
  | G.InvalidGraph
  | G.ShapeMismatch

/** Scalar outputs of a forward pass. */
export interface ForwardResult {
  readonly loss: number
  /** Metrics as CPU tensors (scalars are usually read with `Session.scalar`). */
  readonly metrics: Readonly<Record<string, DeviceTensor>>
}

/** Result of an optimizer step. */
export interface StepResult extends ForwardResult {
  readonly gradNorm: number
  /** Optimizer steps applied so far (this one included). */
  readonly step: number
}

/** A trainer over one model. `B` is the shape-bucket type the model is built for. */
export interface Trainer<B> {
  /** Fused forward + backward + clip + optimizer step on one batch; `lr` is this step's learning rate. */
  readonly step: (
    feeds: Readonly<Record<string, Feed>>,
    options: { readonly lr: number; readonly bucket?: B }
  ) => Effect.Effect<StepResult, TrainError>
  /** Add weight·∇loss of one micro-batch to the accumulators (weight default 1). */
  readonly accumulate: (
    feeds: Readonly<Record<string, Feed>>,
    options?: { readonly weight?: number; readonly bucket?: B }
  ) => Effect.Effect<ForwardResult, TrainError>
  /** Optimizer step on Σ wᵢ∇lossᵢ / Σ wᵢ of the micro-batches since the last apply. */
  readonly apply: (options: {
    readonly lr: number
    readonly bucket?: B
  }) => Effect.Effect<{ readonly gradNorm: number; readonly step: number }, TrainError>
  /** Forward only (no state change). */
  readonly evaluate: (
    feeds: Readonly<Record<string, Feed>>,
    options?: { readonly bucket?: B }
  ) => Effect.Effect<ForwardResult, TrainError>
  /** Loss and gradients of the trainable params (no state change). */
  readonly gradients: (
    feeds: Readonly<Record<string, Feed>>,
    options?: { readonly bucket?: B }
  ) => Effect.Effect<{ readonly loss: number; readonly grads: Record<string, TensorData> }, TrainError>
  /** Write initial values (from each param's `Init`, seeded by `rng`) for params missing from the state. */
  readonly initialize: (rng: Rng.Rng, bucket?: B) => Effect.Effect<void, G.InvalidGraph | G.ShapeMismatch>
  /** Param specs of the model (for the default bucket). */
  readonly params: ReadonlyArray<ParamSpec>
  /** Names of the trainable params. */
  readonly trainable: ReadonlyArray<string>
  /**
   * Drop what `accumulate` gathered since the last `apply` (after a rejected micro-batch, or when switching objectives).
   * A rejected `apply` drops it by itself.
   */
  readonly discard: () => void
  /** Where the optimizer runs (`TrainingConfig.optimizerOn`). */
  readonly optimizerOn: "graph" | "host"
  /** Optimizer steps applied so far. */
  readonly steps: () => number
  /** Set the step counter (when resuming from a checkpoint). */
  readonly setSteps: (n: number) => void
}

/** `gcAfterStateMB` of the host optimizer placement when the runtime config leaves it unset. */
export const hostGcAfterStateMB = 256

/**
 * Make a trainer on `executor` for `model`; `bucket` is the default shape bucket. Sessions are released
 * with the scope; state stays in the executor.
 */
export const make = <B>(
  executor: ExecutorShape,
  model: Model<B>,
  config: typeof Training.TrainingConfig.Encoded,
  bucket: B
): Effect.Effect<Trainer<B>, Schema.SchemaError | G.InvalidGraph | G.ShapeMismatch, Scope.Scope> =>
  Effect.gen(function* () {
    const cfg = yield* Schema.decodeUnknownEffect(Training.TrainingConfig)(config)
    const scope = yield* Effect.scope
    const float: G.FloatType = "float32"
    const buildSafe = <A>(f: () => A) =>
      Effect.try({
        try: f,
        catch: (e) =>
          e instanceof G.InvalidGraph || e instanceof G.ShapeMismatch ? e : new G.InvalidGraph({ detail: String(e) })
      })
    const specs = yield* buildSafe(() => Training.paramSpecs(model, bucket, float))
    const trainable = yield* buildSafe(() => Training.trainableNames(specs, cfg.freeze))
    const specByName = new Map(specs.map((p) => [p.name, p]))
    const specOf = (name: string): ParamSpec => specByName.get(name) as ParamSpec
    const host = cfg.optimizerOn === "host"
    if (host && executor.config.device === "webgpu") {
      return yield* new G.InvalidGraph({
        detail: `optimizerOn: "host" updates parameters held in CPU memory, but this executor's device is webgpu, which keeps them in GPU buffers`,
        fix: `leave optimizerOn at "graph" (the default) on WebGPU`
      })
    }
    const sessions = new Map<string, Session>()
    const zeros = new Map<string, Float32Array>()
    let steps = 0
    let accCount = 0
    let accWeight = 0
    const keyOf = (b: B | undefined) => JSON.stringify(b === undefined ? bucket : b) ?? "null"

    const session = (kind: Kind, b: B | undefined) =>
      Effect.gen(function* () {
        const key = `${kind}|${keyOf(b)}`
        const cached = sessions.get(key)
        if (cached !== undefined) return cached
        const built = yield* buildSafe(() => Training.build(kind, model, b === undefined ? bucket : b, cfg, float))
        const s = yield* Scope.provide(scope)(
          executor.compile(built.graph, { stateUpdates: built.stateUpdates, training: kind !== "eval" })
        )
        sessions.set(key, s)
        return s
      })

    const zerosFor = (name: string): Float32Array => {
      const spec = specOf(name)
      let z = zeros.get(name)
      if (z === undefined) {
        z = new Float32Array(G.sizeOf(spec.shape))
        zeros.set(name, z)
      }
      return z
    }
    // Optimizer slots start at zero; each gets its own array, because slots are replaced, never mutated.
    const ensureSlots = () => {
      for (const name of trainable) {
        const spec = specOf(name)
        for (const slot of Optimizer.slots(cfg.optimizer)) {
          const key = Training.slotKey(name, slot)
          if (!executor.state.has(key)) executor.state.setData(key, new Float32Array(G.sizeOf(spec.shape)), spec.shape)
        }
      }
    }
    const stepFeeds = (lr: number) => ({ lr: Float32Array.of(lr), step: Float32Array.of(steps + 1) })
    let rejected = { loss: Number.NaN, gradNorm: Number.NaN }
    const finiteGuard = (out: Readonly<Record<string, DeviceTensor>>) => {
      const loss = out["loss"] === undefined ? 0 : scalar(out["loss"])
      const gradNorm = out["grad_norm"] === undefined ? 0 : scalar(out["grad_norm"])
      if (Number.isFinite(loss) && Number.isFinite(gradNorm)) return undefined
      rejected = { loss, gradNorm }
      return `loss ${loss}, grad norm ${gradNorm}`
    }
    const guarded = (run: Effect.Effect<Record<string, DeviceTensor>, FeedMismatch | RunFailed | UpdateRejected>) =>
      Effect.catchTag(run, "UpdateRejected", () => Effect.fail(new NonFiniteLoss({ step: steps + 1, ...rejected })))
    const forwardResult = (out: Record<string, DeviceTensor>): ForwardResult => ({
      loss: scalar(out["loss"]),
      metrics: Object.fromEntries(
        Object.entries(out)
          .filter(([k]) => k.startsWith("metric::"))
          .map(([k, v]) => [k.slice(8), v])
      )
    })

    // The host placement: gradients from the `grads` graph, accumulated in this trainer's own arrays (never in the
    // executor's state), and each parameter replaced by `HostOptimizer.update` in turn (its slots updated in place), so
    // no step holds a second copy of every parameter and moment; each gradient is dropped once used. Replaced and
    // dropped buffers count towards a forced collection (`gcAfterStateMB`, here 256 MiB when unset).
    const hostAcc = new Map<string, Float32Array>()
    const gcAfterMB = executor.config.gcAfterStateMB ?? hostGcAfterStateMB
    const hostGrads = (feeds: Readonly<Record<string, Feed>>, b: B | undefined) =>
      Effect.gen(function* () {
        const s = yield* session("grads", b)
        const out = yield* s.run(feeds)
        const loss = scalar(out["loss"])
        if (!Number.isFinite(loss)) return yield* new NonFiniteLoss({ step: steps + 1, loss, gradNorm: Number.NaN })
        const grads = new Map(trainable.map((n) => [n, out[Training.gradName(n)]!.data as Float32Array]))
        return { result: forwardResult(out), grads }
      })
    // A parameter's optimizer slots as stored (`m`, `v` or `mom`; absent before `ensureSlots`).
    const slotsOf = (name: string) =>
      Object.fromEntries(
        Optimizer.slots(cfg.optimizer).map((slot) => [slot, executor.state.cpuData(Training.slotKey(name, slot))])
      )
    // One parameter's update; returns the bytes it let go (a helper, so they are garbage when counted).
    const replaceParam = (name: string, grad: Float32Array, s: HostOptimizer.Scalars): number => {
      const spec = specOf(name)
      const p = executor.state.cpuData(name) as Float32Array
      const slots = slotsOf(name) as Record<string, Float32Array>
      executor.state.setData(name, HostOptimizer.update(cfg.optimizer, s, p, grad, slots, spec.decay), spec.shape)
      return p.byteLength + grad.byteLength
    }
    const hostUpdate = (grads: Map<string, Float32Array>, preScale: number, lr: number, loss: number) =>
      Effect.gen(function* () {
        ensureSlots()
        for (const name of trainable) {
          const size = G.sizeOf(specOf(name).shape)
          const arrays = [["gradient", grads.get(name)], ...Object.entries(slotsOf(name))] as const
          for (const [what, a] of arrays) {
            if (a?.length !== size)
              return yield* new G.ShapeMismatch({
                op: "host optimizer",
                detail: `${name}'s ${what} has ${a?.length ?? "no"} elements, the parameter ${size}`,
                shapes: [String(size), String(a?.length)]
              })
          }
        }
        const norm = HostOptimizer.globalNorm([...grads.values()], cfg.clipNorm, preScale)
        if (!Number.isFinite(norm.norm)) return yield* new NonFiniteLoss({ step: steps + 1, loss, gradNorm: norm.norm })
        const s = HostOptimizer.scalars(cfg.optimizer, lr, steps + 1, norm.scale)
        for (const name of trainable) {
          const released = replaceParam(name, grads.get(name)!, s)
          grads.delete(name)
          Gc.replaced(released, gcAfterMB)
        }
        steps += 1
        return { gradNorm: norm.norm, step: steps }
      })
    const discard = () => {
      hostAcc.clear()
      for (const n of trainable) executor.state.delete(Training.slotKey(n, "acc"))
      accCount = 0
      accWeight = 0
    }

    const step: Trainer<B>["step"] = (feeds, options) =>
      Effect.gen(function* () {
        if (host) {
          const { result, grads } = yield* hostGrads(feeds, options.bucket)
          return { ...result, ...(yield* hostUpdate(grads, 1, options.lr, result.loss)) }
        }
        const s = yield* session("step", options.bucket)
        ensureSlots()
        const out = yield* guarded(s.runGuarded({ ...feeds, ...stepFeeds(options.lr) }, { guard: finiteGuard }))
        steps += 1
        return { ...forwardResult(out), gradNorm: scalar(out["grad_norm"]), step: steps }
      })

    const accumulate: Trainer<B>["accumulate"] = (feeds, options = {}) =>
      Effect.gen(function* () {
        const weight = options.weight ?? 1
        if (host) {
          const { result, grads } = yield* hostGrads(feeds, options.bucket)
          for (const [name, g] of grads) {
            const acc = hostAcc.get(name)
            if (acc === undefined) {
              // The gradient is this trainer's own copy of the run's output: it becomes the accumulator.
              if (weight !== 1) for (let i = 0; i < g.length; i++) g[i] = g[i]! * weight
              hostAcc.set(name, g)
            } else {
              for (let i = 0; i < g.length; i++) acc[i] = acc[i]! + weight * g[i]!
              Gc.replaced(g.byteLength, gcAfterMB)
            }
          }
          accCount += 1
          accWeight += weight
          return result
        }
        const s = yield* session("accumulate", options.bucket)
        const acc: Record<string, Feed> = {}
        if (accCount === 0) for (const n of trainable) acc[Training.slotKey(n, "acc")] = zerosFor(n)
        const out = yield* guarded(
          s.runGuarded({ ...feeds, ...acc, loss_weight: Float32Array.of(weight) }, { guard: finiteGuard })
        )
        accCount += 1
        accWeight += weight
        return forwardResult(out)
      })

    const apply: Trainer<B>["apply"] = (options) =>
      Effect.gen(function* () {
        if (accCount === 0) return yield* new NothingAccumulated()
        if (host) return yield* hostUpdate(hostAcc, 1 / accWeight, options.lr, 0)
        const s = yield* session("apply", options.bucket)
        ensureSlots()
        const out = yield* guarded(
          s.runGuarded({ ...stepFeeds(options.lr), grad_scale: Float32Array.of(1 / accWeight) }, { guard: finiteGuard })
        )
        steps += 1
        return { gradNorm: scalar(out["grad_norm"]), step: steps }
        // Applied or rejected, the accumulated gradients are spent: a rejected step must not poison the next one.
      }).pipe(Effect.ensuring(Effect.sync(discard)))

    const evaluate: Trainer<B>["evaluate"] = (feeds, options = {}) =>
      Effect.gen(function* () {
        const s = yield* session("eval", options.bucket)
        return forwardResult(yield* s.run(feeds))
      })

    const gradients: Trainer<B>["gradients"] = (feeds, options = {}) =>
      Effect.gen(function* () {
        const s = yield* session("grads", options.bucket)
        const out = yield* s.run(feeds)
        const grads: Record<string, TensorData> = {}
        for (const n of trainable) grads[n] = out[Training.gradName(n)]!.data as TensorData
        return { loss: scalar(out["loss"]), grads }
      })

    const initialize: Trainer<B>["initialize"] = (rng, b) =>
      Effect.gen(function* () {
        const ps = b === undefined ? specs : yield* buildSafe(() => Training.paramSpecs(model, b, float))
        const missing = ps.filter((p) => !executor.state.has(p.name))
        const values = Init.values(missing, rng)
        for (const p of missing) executor.state.setData(p.name, values[p.name]!, p.shape)
      })

    return {
      step,
      accumulate,
      apply,
      evaluate,
      gradients,
      initialize,
      discard,
      optimizerOn: host ? "host" : "graph",
      params: specs,
      trainable,
      steps: () => steps,
      setSteps: (n: number) => {
        steps = n
      }
    }
  })
