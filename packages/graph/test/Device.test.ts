/**
 * Device selection: the execution-provider table, session options, config validation with field paths,
 * and the typed DeviceUnavailable error (with an install hint) when a provider cannot start.
 */
import { describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { expect } from "vitest"
import * as Device from "../src/Device.ts"
import * as Executor from "../src/Executor.ts"
import * as Gc from "../src/internal/gc.ts"

describe("execution providers and session options", () => {
  it("maps each device to its provider with defaults", () => {
    expect(Device.executionProviders({})).toEqual(["cpu"])
    expect(Device.executionProviders({ device: "webgpu" })).toEqual([{ name: "webgpu", validationMode: "basic" }])
    expect(Device.executionProviders({ device: "cuda", cudaDeviceId: 1 })).toEqual([{ name: "cuda", deviceId: 1 }])
  })

  it("uses every core by default, no spinning, denormals flushed, and GPU outputs only on WebGPU", () => {
    const cpu = Device.sessionOptions({}, ["w::next"])
    expect(cpu.intraOpNumThreads).toBe(Device.defaultThreads())
    expect(cpu.extra).toEqual({ session: { intra_op: { allow_spinning: "0" }, set_denormal_as_zero: "1" } })
    expect(cpu.preferredOutputLocation).toBeUndefined()
    const gpu = Device.sessionOptions({ device: "webgpu", spinning: true, intraOpThreads: 3 }, ["w::next"])
    expect(gpu.preferredOutputLocation).toEqual({ "w::next": "gpu-buffer" })
    expect(gpu.intraOpNumThreads).toBe(3)
    expect(Device.sessionOptions({ device: "cuda" }, ["w::next"]).preferredOutputLocation).toBeUndefined()
  })

  it("memory settings: arena on; memory pattern off for state-updating (training) graphs, on otherwise, unless set", () => {
    const dflt = Device.sessionOptions({})
    expect([dflt.enableCpuMemArena, dflt.enableMemPattern]).toEqual([true, true])
    expect(Device.sessionOptions({}, ["w::next"], true).enableMemPattern).toBe(false)
    expect(Device.sessionOptions({ memPattern: true }, ["w::next"], true).enableMemPattern).toBe(true)
    const off = Device.sessionOptions({ cpuMemArena: false, memPattern: false })
    expect([off.enableCpuMemArena, off.enableMemPattern]).toEqual([false, false])
    expect(String(Schema.decodeUnknownExit(Device.RuntimeConfig)({ gcAfterStateMB: -1 }))).toMatch(/gcAfterStateMB/)
  })

  it("superseded state: a collection (two passes) once the threshold's bytes have accumulated, none with 0", () => {
    let calls = 0
    const note = Gc.counter(() => calls++)
    note(100 * 2 ** 20, 256)
    note(100 * 2 ** 20, 256)
    expect(calls).toBe(0)
    note(56 * 2 ** 20, 256)
    expect(calls).toBe(2)
    note(255 * 2 ** 20, 256)
    expect(calls).toBe(2)
    note(10 * 2 ** 30, 0)
    expect(calls).toBe(2)
  })

  it("rejects inconsistent configs with the field path", () => {
    const decode = Schema.decodeUnknownExit(Device.RuntimeConfig)
    expect(Exit.isSuccess(decode({ device: "cpu", intraOpThreads: 2 }))).toBe(true)
    const bad = decode({ device: "cpu", interOpThreads: 4 })
    expect(Exit.isFailure(bad)).toBe(true)
    expect(String(bad)).toMatch(/interOpThreads/)
    expect(String(decode({ device: "tpu" }))).toMatch(/device/)
    expect(String(decode({ intraOpThreads: -1 }))).toMatch(/intraOpThreads/)
  })
})

describe("DeviceUnavailable", () => {
  it("classifies the provider start-up failures onnxruntime-node 1.30 reports", () => {
    const webgpu = Device.classifyFailure(
      "webgpu",
      new Error("webgpu_context.cc:136 ... Failed to get a WebGPU adapter: No supported adapters")
    )
    expect(webgpu?._tag).toBe("DeviceUnavailable")
    expect(webgpu?.hint).toMatch(/Vulkan/)
    const cuda = Device.classifyFailure(
      "cuda",
      new Error("OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library")
    )
    expect(cuda?.hint).toMatch(/CUDA 12.*cuDNN 9/)
    expect(Device.classifyFailure("cpu", new Error("Could not find an implementation for Erf(13)"))).toBeUndefined()
  })

  for (const device of ["webgpu", "cuda"] as const) {
    it.effect(`starting ${device} either works or fails with DeviceUnavailable and an install hint`, () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Executor.make({ device, logLevel: "fatal" }))
        if (Exit.isSuccess(exit)) {
          expect(exit.value.device).toBe(device) // a machine with this device
        } else {
          const err = yield* Effect.flip(Executor.make({ device, logLevel: "fatal" }))
          expect(err._tag).toBe("DeviceUnavailable")
          if (err._tag === "DeviceUnavailable") expect(err.message).toContain(Device.installHint[device])
        }
      }).pipe(Effect.scoped)
    )
  }
})
