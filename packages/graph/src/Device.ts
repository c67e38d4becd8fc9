/**
 * The one place that maps a device (`cpu | webgpu | cuda`) to ONNX Runtime execution providers and
 * session options, and that turns provider start-up failures into a typed `DeviceUnavailable` error
 * saying what to install. Runtime config is an Effect Schema decoded before any session is made.
 */
import type { InferenceSession } from "onnxruntime-node"
import { availableParallelism } from "node:os"
import { Schema } from "effect"

/** Where graphs run. */
export type Device = "cpu" | "webgpu" | "cuda"

/** Runtime (execution) configuration, decoded from config path `graph.runtime` by callers that use Config. */
export const RuntimeConfig = Schema.Struct({
  /** Execution device. Default `cpu`. */
  device: Schema.optionalKey(Schema.Literals(["cpu", "webgpu", "cuda"])),
  /** Threads inside one op (MLAS GEMM etc.); 0 = all available cores (default). */
  intraOpThreads: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 256 }))),
  /** Threads across independent ops; only used when `parallelOps` is true. Default 1. */
  interOpThreads: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 256 }))),
  /** Run independent branches in parallel (`executionMode: parallel`). Default false. */
  parallelOps: Schema.optionalKey(Schema.Boolean),
  /** Let idle ORT worker threads busy-spin between runs: faster back-to-back steps, but burns CPU the JS side may need. Default false. */
  spinning: Schema.optionalKey(Schema.Boolean),
  /** Flush denormals to zero (Adam states and small gradients produce them). Default true. */
  denormalAsZero: Schema.optionalKey(Schema.Boolean),
  /** ORT graph optimization level. Default `all`. */
  graphOptimization: Schema.optionalKey(Schema.Literals(["disabled", "basic", "extended", "all"])),
  /** ORT log severity. Default `error`. */
  logLevel: Schema.optionalKey(Schema.Literals(["verbose", "info", "warning", "error", "fatal"])),
  /** WebGPU validation mode. Default `basic`. */
  webgpuValidation: Schema.optionalKey(Schema.Literals(["disabled", "wgpuOnly", "basic", "full"])),
  /** Node names forced onto the CPU under WebGPU (debugging fallbacks). Default none. */
  webgpuForceCpuNodes: Schema.optionalKey(Schema.Array(Schema.String)),
  /**
   * ONNX Runtime's CPU memory arena (`enableCpuMemArena`): freed blocks stay with the session for reuse instead of
   * going back to the system. Default true. Measured effect at SmolLM2-135M's shape: docs/BENCHMARKS.md.
   */
  cpuMemArena: Schema.optionalKey(Schema.Boolean),
  /**
   * ONNX Runtime's memory pattern planning (`enableMemPattern`): intermediates placed in blocks planned from earlier
   * runs. Default: off for training graphs, those that update state or return gradients (at SmolLM2-135M's shape it
   * raised a training step's peak RSS from 6.2 to 8.1 GB at the same step time, docs/BENCHMARKS.md), on for the others
   * (generation, scoring; not measured there). Set it to force either for every session.
   */
  memPattern: Schema.optionalKey(Schema.Boolean),
  /**
   * Force a V8 garbage collection once this many MiB of CPU state (parameters, optimizer moments) have been replaced
   * since the last one. Every training step returns the new state as fresh ArrayBuffers and the old ones become
   * garbage that V8 frees late, so without this several steps' worth of state can sit in memory at once. 0 = never
   * (V8 decides; the default, except for a trainer with `optimizerOn: "host"`, which collects every 256 MiB).
   * Measured: a 3% lower peak at SmolLM2-135M's width with 4 layers, none at the full 30 layers (docs/BENCHMARKS.md).
   */
  gcAfterStateMB: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** CUDA device ordinal. Default 0. */
  cudaDeviceId: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
}).check(
  Schema.makeFilter((c) =>
    c.interOpThreads !== undefined && c.interOpThreads > 1 && c.parallelOps !== true
      ? { path: ["interOpThreads"], issue: "interOpThreads > 1 only has an effect with parallelOps: true" }
      : c.cudaDeviceId !== undefined && c.cudaDeviceId > 0 && c.device !== "cuda"
        ? { path: ["cudaDeviceId"], issue: "cudaDeviceId is set but device is not cuda" }
        : c.webgpuForceCpuNodes !== undefined && c.device !== "webgpu"
          ? { path: ["webgpuForceCpuNodes"], issue: "webgpuForceCpuNodes is set but device is not webgpu" }
          : true
  )
)
/** Decoded runtime config. */
export type RuntimeConfig = typeof RuntimeConfig.Type

/** The device could not be started; `hint` says what to install or change. */
export class DeviceUnavailable extends Schema.TaggedError<DeviceUnavailable>()("DeviceUnavailable", {
  device: Schema.Literals(["cpu", "webgpu", "cuda"]),
  reason: Schema.String,
  hint: Schema.String
}) {
  override get message(): string {
    return `device ${this.device} is unavailable: ${this.reason}. ${this.hint}`
  }
}

/** What to install for each device. */
export const installHint: Record<Device, string> = {
  cpu: "The CPU provider is bundled with onnxruntime-node; reinstall onnxruntime-node 1.30.0 for linux/x64, darwin or win32.",
  webgpu:
    "WebGPU runs on Dawn over Vulkan: install a GPU driver with Vulkan support plus the Vulkan loader (Debian: `apt-get install libvulkan1` and the vendor ICD, e.g. NVIDIA's driver with graphics capabilities; in containers set NVIDIA_DRIVER_CAPABILITIES=all). Check with `vulkaninfo --summary`. CPU-only Vulkan (lavapipe) is rejected by Dawn. Or use device 'cpu'.",
  cuda: "The CUDA provider needs onnxruntime-node's CUDA 12 libraries, which its install script downloads from api.nuget.org: reinstall with network access and without ONNXRUNTIME_NODE_INSTALL=skip (or run `node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12`), plus CUDA 12 and cuDNN 9 on the library path. Or use device 'cpu'."
}

const severity = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 } as const

/** The device → execution-provider table (the only one in the repo). */
export const executionProviders = (config: RuntimeConfig): ReadonlyArray<InferenceSession.ExecutionProviderConfig> => {
  switch (config.device ?? "cpu") {
    case "cpu":
      return ["cpu"]
    case "webgpu":
      return [
        {
          name: "webgpu",
          validationMode: config.webgpuValidation ?? "basic",
          ...(config.webgpuForceCpuNodes === undefined ? {} : { forceCpuNodeNames: [...config.webgpuForceCpuNodes] })
        } as InferenceSession.ExecutionProviderConfig
      ]
    case "cuda":
      return [{ name: "cuda", deviceId: config.cudaDeviceId ?? 0 }]
  }
}

/** `gcAfterStateMB` when unset: off. */
export const defaultGcAfterStateMB = 0

/** Threads used when `intraOpThreads` is 0: every core Node reports (ORT's own default counts physical cores). */
export const defaultThreads = (): number => Math.max(1, availableParallelism())

/**
 * ORT session options for a config. `gpuOutputs` names outputs that stay on the device as GPU buffers
 * (WebGPU only; ignored elsewhere, because the Node binding has no CUDA IO binding). `updatesState`: the graph
 * replaces state entries (a training step), which turns ORT's memory pattern off unless `memPattern` says otherwise.
 */
export const sessionOptions = (
  config: RuntimeConfig,
  gpuOutputs: ReadonlyArray<string> = [],
  updatesState = false
): InferenceSession.SessionOptions => {
  const device = config.device ?? "cpu"
  const intraOpThreads = config.intraOpThreads ?? 0
  const extra = {
    session: {
      intra_op: { allow_spinning: config.spinning === true ? "1" : "0" },
      set_denormal_as_zero: config.denormalAsZero === false ? "0" : "1"
    }
  }
  return {
    executionProviders: executionProviders(config),
    intraOpNumThreads: intraOpThreads === 0 ? defaultThreads() : intraOpThreads,
    interOpNumThreads: config.interOpThreads ?? 1,
    executionMode: config.parallelOps === true ? "parallel" : "sequential",
    graphOptimizationLevel: config.graphOptimization ?? "all",
    enableCpuMemArena: config.cpuMemArena ?? true,
    enableMemPattern: config.memPattern ?? !updatesState,
    logSeverityLevel: severity[config.logLevel ?? "error"],
    extra,
    ...(device === "webgpu" && gpuOutputs.length > 0
      ? { preferredOutputLocation: Object.fromEntries(gpuOutputs.map((n) => [n, "gpu-buffer" as const])) }
      : {})
  }
}

/**
 * Classify a session-creation failure: provider start-up errors become `DeviceUnavailable`, anything
 * else is returned as undefined (the caller reports it as a session failure).
 */
export const classifyFailure = (device: Device, error: unknown): DeviceUnavailable | undefined => {
  const text = String(error instanceof Error ? error.message : error)
  const patterns: Record<Device, RegExp> = {
    cpu: /backend not found|no available backend/i,
    webgpu: /webgpu adapter|no supported adapters|vulkan|dawn|backend not found|no available backend/i,
    cuda: /cuda|cudnn|cublas|libonnxruntime_providers|failed to load (shared )?library|backend not found|no available backend/i
  }
  if (!patterns[device].test(text)) return undefined
  return new DeviceUnavailable({
    device,
    reason: text.split("\n")[0]?.slice(0, 400) ?? text,
    hint: installHint[device]
  })
}
