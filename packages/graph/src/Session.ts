/**
 * One ONNX Runtime session per graph (and shape bucket), created once and reused every step. Inputs not
 * given in the feeds are taken from the state store by name (parameters, optimizer state), so one set of
 * parameters serves every session; outputs declared as state updates replace store entries after the run.
 */
import { InferenceSession } from "onnxruntime-node"
import type { Scope } from "effect"
import { Effect, Schema } from "effect"
import type { RuntimeConfig } from "./Device.ts"
import type { DeviceUnavailable } from "./Device.ts"
import { classifyFailure, defaultGcAfterStateMB, sessionOptions } from "./Device.ts"
import * as Gc from "./internal/gc.ts"
import type { DType, Graph, Shape, TensorData } from "./Graph.ts"
import { dtypeOf, fmt, InvalidGraph, sizeOf } from "./Graph.ts"
import * as Onnx from "./Onnx.ts"
import type { DeviceTensor, Store } from "./State.ts"
import { onGpu, wrap } from "./State.ts"

/** ORT could not create the session for a reason other than the device (e.g. an op without a kernel). */
export class SessionCreateFailed extends Schema.TaggedError<SessionCreateFailed>()("SessionCreateFailed", {
  graph: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `creating a session for graph "${this.graph}" failed: ${String(this.cause)}`
  }
}

/** A feed was missing or had the wrong dtype or size. */
export class FeedMismatch extends Schema.TaggedError<FeedMismatch>()("FeedMismatch", {
  graph: Schema.String,
  input: Schema.String,
  detail: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `graph "${this.graph}", input "${this.input}": ${this.detail}. ${this.fix}`
  }
}

/** ORT failed while running a session. */
export class RunFailed extends Schema.TaggedError<RunFailed>()("RunFailed", {
  graph: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `running graph "${this.graph}" failed: ${String(this.cause)}`
  }
}

/** A run's state updates were withheld because its guard rejected the outputs (e.g. a non-finite loss). */
export class UpdateRejected extends Schema.TaggedError<UpdateRejected>()("UpdateRejected", {
  graph: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `graph "${this.graph}": state not updated: ${this.reason}`
  }
}

/** Per-run options. */
export interface RunOptions {
  /** Inspect the non-state outputs before state is updated; a returned message withholds the update. */
  readonly guard?: (outputs: Readonly<Record<string, DeviceTensor>>) => string | undefined
}

/** A run-time value for an input: a typed array (wrapped with the graph's shape, no copy) or a device tensor. */
export type Feed = TensorData | DeviceTensor

/** Signature of one graph input or output. */
export interface Port {
  readonly name: string
  readonly dtype: DType
  readonly shape: Shape
}

/** Output `output` replaces store entry `state` after every run. */
export interface StateUpdate {
  readonly output: string
  readonly state: string
}

/** Options for `make`. */
export interface SessionOptions {
  /** Outputs that replace store entries after each run (kept on the GPU under WebGPU). */
  readonly stateUpdates?: ReadonlyArray<StateUpdate>
  /** Further outputs kept on the GPU under WebGPU (e.g. KV caches); the caller disposes them. */
  readonly gpuOutputs?: ReadonlyArray<string>
  /**
   * A training graph that returns gradients instead of updating state (a `grads` graph): planned as the graphs that
   * update state are (`RuntimeConfig.memPattern` off unless set), since its intermediates are a training step's.
   */
  readonly training?: boolean
}

/** A compiled graph bound to a state store. */
export interface Session {
  readonly name: string
  readonly inputs: ReadonlyArray<Port>
  readonly outputs: ReadonlyArray<Port>
  /** Run once; returns the outputs that are not state updates. */
  readonly run: (
    feeds: Readonly<Record<string, Feed>>
  ) => Effect.Effect<Record<string, DeviceTensor>, FeedMismatch | RunFailed>
  /** Run once, applying state updates only if `options.guard` accepts the other outputs. */
  readonly runGuarded: (
    feeds: Readonly<Record<string, Feed>>,
    options: RunOptions
  ) => Effect.Effect<Record<string, DeviceTensor>, FeedMismatch | RunFailed | UpdateRejected>
}

const isTensor = (f: Feed): f is DeviceTensor => !ArrayBuffer.isView(f)

/** Check a feed against its port and wrap it; returns an error description or the tensor. */
const prepare = (port: Port, feed: Feed): DeviceTensor | string => {
  if (isTensor(feed)) {
    if (feed.type !== port.dtype) return `dtype ${feed.type}, expected ${port.dtype}`
    if (feed.dims.length !== port.shape.length || feed.dims.some((d, i) => d !== port.shape[i]))
      return `shape ${fmt(feed.dims)}, expected ${fmt(port.shape)}`
    return feed
  }
  if (dtypeOf(feed) !== port.dtype) return `typed array of ${dtypeOf(feed)}, expected ${port.dtype}`
  if (feed.length !== sizeOf(port.shape))
    return `${feed.length} elements, expected ${sizeOf(port.shape)} for ${fmt(port.shape)}`
  return wrap(feed, port.shape)
}

/** Create a session for `graph` on the configured device; released when the scope closes. */
export const make = (
  graph: Graph,
  store: Store,
  config: RuntimeConfig,
  options: SessionOptions = {}
): Effect.Effect<Session, DeviceUnavailable | SessionCreateFailed | InvalidGraph, Scope.Scope> =>
  Effect.gen(function* () {
    const encoded = yield* Effect.try({
      try: () => Onnx.encode(graph),
      catch: (e) =>
        e instanceof InvalidGraph
          ? e
          : new InvalidGraph({ detail: `encoding graph "${graph.name}" failed: ${String(e)}` })
    })
    const inputs: Array<Port> = encoded.inputs.map((n) => {
      const t = graph.inputNamed(n)
      return { name: n, dtype: t?.dtype ?? "float32", shape: t?.shape ?? [] }
    })
    const outputs: Array<Port> = graph.outputs.map((o) => ({
      name: o.name,
      dtype: o.tensor.dtype,
      shape: o.tensor.shape
    }))
    const updates = options.stateUpdates ?? []
    const gpuOutputs = [...updates.map((u) => u.output), ...(options.gpuOutputs ?? [])]
    const device = config.device ?? "cpu"
    const session = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          InferenceSession.create(
            encoded.model,
            sessionOptions(config, gpuOutputs, updates.length > 0 || options.training === true)
          ),
        catch: (cause) => classifyFailure(device, cause) ?? new SessionCreateFailed({ graph: graph.name, cause })
      }),
      (s) => Effect.promise(() => s.release())
    )
    const updateOf = new Map(updates.map((u) => [u.output, u.state]))
    const runGuarded = (feeds: Readonly<Record<string, Feed>>, runOptions: RunOptions) =>
      Effect.gen(function* () {
        const ortFeeds: Record<string, DeviceTensor> = {}
        for (const port of inputs) {
          const given = feeds[port.name] ?? store.get(port.name)
          if (given === undefined) {
            return yield* new FeedMismatch({
              graph: graph.name,
              input: port.name,
              detail: `no feed and no state entry for ${port.dtype}${fmt(port.shape)}`,
              fix: "pass it in the feeds, or write it to the executor state (Executor.write / Trainer init)"
            })
          }
          const t = prepare(port, given)
          if (typeof t === "string")
            return yield* new FeedMismatch({
              graph: graph.name,
              input: port.name,
              detail: t,
              fix: "feed the shape and dtype the graph was built with"
            })
          ortFeeds[port.name] = t
        }
        const result = yield* Effect.tryPromise({
          try: () => session.run(ortFeeds),
          catch: (cause) => new RunFailed({ graph: graph.name, cause })
        })
        const out: Record<string, DeviceTensor> = {}
        for (const [name, t] of Object.entries(result)) if (!updateOf.has(name)) out[name] = t
        const rejected = runOptions.guard?.(out)
        if (rejected !== undefined) {
          for (const [name, t] of Object.entries(result)) if (updateOf.has(name) && onGpu(t)) t.dispose()
          return yield* new UpdateRejected({ graph: graph.name, reason: rejected })
        }
        let superseded = 0
        for (const [name, key] of updateOf) {
          const t = result[name]
          if (t === undefined) continue
          const old = store.get(key)
          if (old !== undefined && !onGpu(old)) superseded += (old.data as TensorData).byteLength
          store.set(key, t)
        }
        Gc.replaced(superseded, config.gcAfterStateMB ?? defaultGcAfterStateMB)
        return out
      })
    // Without a guard nothing can be rejected.
    const run = (feeds: Readonly<Record<string, Feed>>) =>
      Effect.catchTag(runGuarded(feeds, {}), "UpdateRejected", Effect.die)
    return { name: graph.name, inputs, outputs, run, runGuarded }
  })

/** The first element of a CPU output as a number (losses, norms). */
export const scalar = (t: DeviceTensor | undefined): number => {
  if (t === undefined) return Number.NaN
  if (onGpu(t)) throw new RangeError("scalar: tensor is on the GPU; list it as a CPU output")
  return Number((t.data as ArrayLike<number | bigint>)[0])
}
