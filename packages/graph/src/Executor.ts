/**
 * The executor: a runtime config, a device checked at start-up, and the state store that every session
 * it compiles shares. Training sessions (`Trainer`) and inference sessions (generation, scoring) made by
 * the same executor read the same parameters without copies on the CPU, and `read` brings state back
 * to typed arrays on every device (for checkpoints).
 */
import { listSupportedBackends } from "onnxruntime-node"
import { ConfigDecode } from "@realm-lm/core"
import type { Schema, Scope } from "effect"
import { Context, Effect, Layer } from "effect"
import type { Device } from "./Device.ts"
import { DeviceUnavailable, installHint, RuntimeConfig } from "./Device.ts"
import type { Shape, TensorData } from "./Graph.ts"
import * as Graph from "./Graph.ts"
import * as O from "./Ops.ts"
import * as Session from "./Session.ts"
import * as State from "./State.ts"

/** What an executor offers. */
export interface ExecutorShape {
  readonly config: RuntimeConfig
  readonly device: Device
  /** Shared state (params, optimizer moments, accumulators). */
  readonly state: State.Store
  /** Compile a graph into a session bound to this executor's state; released with the scope. */
  readonly compile: (
    graph: Graph.Graph,
    options?: Session.SessionOptions
  ) => Effect.Effect<Session.Session, DeviceUnavailable | Session.SessionCreateFailed | Graph.InvalidGraph, Scope.Scope>
  /** Store typed arrays as state (wrapped, not copied); `shapes` gives each entry's shape. */
  readonly write: (values: Readonly<Record<string, TensorData>>, shapes: Readonly<Record<string, Shape>>) => void
  /** Read state back as typed arrays (all entries by default). CPU entries are returned as stored: do not mutate. */
  readonly read: (
    names?: ReadonlyArray<string>
  ) => Effect.Effect<
    Record<string, TensorData>,
    Session.FeedMismatch | Session.RunFailed | Session.SessionCreateFailed | DeviceUnavailable | Graph.InvalidGraph
  >
}

/** The executor service. */
export class Executor extends Context.Service<Executor, ExecutorShape>()("@realm-lm/graph/Executor") {}

/** A tiny graph used to check that a device starts. */
const probeGraph = (): Graph.Graph => {
  const g = Graph.make("probe")
  g.output("y", O.add(g.input("x", "float32", [2]), 1))
  return g
}

/**
 * Start an executor: decode the config, check that the device's provider exists and starts (failing with
 * `DeviceUnavailable` and an install hint otherwise), and dispose GPU state when the scope closes.
 */
export const make = (
  input: typeof RuntimeConfig.Encoded = {}
): Effect.Effect<
  ExecutorShape,
  DeviceUnavailable | Schema.SchemaError | Session.SessionCreateFailed | Graph.InvalidGraph,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const config = yield* ConfigDecode.decodeUnknownEffect(RuntimeConfig)(input)
    const device: Device = config.device ?? "cpu"
    const backends = listSupportedBackends().map((b) => b.name)
    if (!backends.includes(device)) {
      return yield* new DeviceUnavailable({
        device,
        reason: `this onnxruntime-node build has no ${device} backend (it has ${backends.join(", ")})`,
        hint: installHint[device]
      })
    }
    const state = State.make()
    yield* Effect.addFinalizer(() => Effect.sync(() => state.clear()))
    const compile = (graph: Graph.Graph, options?: Session.SessionOptions) =>
      Session.make(graph, state, config, options)
    if (device !== "cpu") {
      // Fail early with the provider's own error instead of at the first training step.
      yield* Effect.scoped(
        Effect.flatMap(compile(probeGraph()), (s) => Effect.orDie(s.run({ x: new Float32Array(2) })))
      )
    }
    const write = (values: Readonly<Record<string, TensorData>>, shapes: Readonly<Record<string, Shape>>): void => {
      for (const [name, data] of Object.entries(values)) {
        const shape = shapes[name]
        if (shape === undefined) throw new Graph.InvalidGraph({ detail: `write: no shape given for ${name}` })
        state.setData(name, data, shape)
      }
    }
    const read = (names: ReadonlyArray<string> = state.names()) =>
      Effect.gen(function* () {
        const out: Record<string, TensorData> = {}
        const onDevice: Array<string> = []
        for (const n of names) {
          const data = state.cpuData(n)
          if (data !== undefined) out[n] = data
          else if (state.has(n)) onDevice.push(n)
          else
            return yield* new Session.FeedMismatch({
              graph: "read",
              input: n,
              detail: "no such state entry",
              fix: `known entries: ${state.names().slice(0, 20).join(", ")}`
            })
        }
        if (onDevice.length > 0) Object.assign(out, yield* readBack(onDevice))
        return out
      })
    const readBack = (names: ReadonlyArray<string>) => readViaSession({ state, compile }, names)
    return { config, device, state, compile, write, read }
  })

/** The executor as a layer (scoped: state is released when the layer is). */
export const layer = (
  config: typeof RuntimeConfig.Encoded = {}
): Layer.Layer<Executor, DeviceUnavailable | Schema.SchemaError | Session.SessionCreateFailed | Graph.InvalidGraph> =>
  Layer.effect(Executor, make(config))

/**
 * Read state through Identity nodes of a session whose outputs land on the CPU. This is how GPU state is
 * read back (onnxruntime-node 1.30 cannot download GPU tensors; all WebGPU sessions share one device
 * context); on the CPU it copies.
 */
export const readViaSession = (executor: Pick<ExecutorShape, "state" | "compile">, names: ReadonlyArray<string>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const g = Graph.make("readback")
      for (const n of names) {
        const t = executor.state.get(n)
        if (t === undefined)
          return yield* new Session.FeedMismatch({
            graph: "readback",
            input: n,
            detail: "no such state entry",
            fix: "write it first"
          })
        g.output(`${n}::read`, O.identity(g.input(n, State.dtypeOfTensor(t), t.dims)))
      }
      const session = yield* executor.compile(g)
      const res = yield* session.run({})
      const out: Record<string, TensorData> = {}
      for (const n of names) out[n] = res[`${n}::read`]!.data as TensorData
      return out
    })
  )
