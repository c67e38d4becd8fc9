/**
 * Device selection: the execution-provider table, session options, config validation with field paths,
 * and the typed DeviceUnavailable error (with an install hint) when a provider cannot start.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"

import * as Device from "../src/Device.ts"
import * as Executor from "../src/Executor.ts"
import * as Gc from "../src/internal/gc.ts"

describe("execution providers and session options", () => {
  it("maps each device to its provider with defaults", () => {
    assert.deepStrictEqual(Device.executionProviders({}), ["cpu"])
    assert.deepStrictEqual(Device.executionProviders({ device: "webgpu" }), [
      { name: "webgpu", validationMode: "basic" }
    ])
    assert.deepStrictEqual(Device.executionProviders({ device: "cuda", cudaDeviceId: 1 }), [
      { name: "cuda", deviceId: 1 }
    ])
  })

  it("uses every core by default, no spinning, denormals flushed, and GPU outputs only on WebGPU", () => {
    const cpu = Device.sessionOptions({}, ["w::next"])
    assert.strictEqual(cpu.intraOpNumThreads, Device.defaultThreads())
    assert.deepStrictEqual(cpu.extra, { session: { intra_op: { allow_spinning: "0" }, set_denormal_as_zero: "1" } })
    assert.isUndefined(cpu.preferredOutputLocation)
    const gpu = Device.sessionOptions({ device: "webgpu", spinning: true, intraOpThreads: 3 }, ["w::next"])
    assert.deepStrictEqual(gpu.preferredOutputLocation, { "w::next": "gpu-buffer" })
    assert.strictEqual(gpu.intraOpNumThreads, 3)
    assert.isUndefined(Device.sessionOptions({ device: "cuda" }, ["w::next"]).preferredOutputLocation)
  })

  it("memory settings: arena on; memory pattern off for state-updating (training) graphs, on otherwise, unless set", () => {
    const dflt = Device.sessionOptions({})
    assert.deepStrictEqual([dflt.enableCpuMemArena, dflt.enableMemPattern], [true, true])
    assert.isFalse(Device.sessionOptions({}, ["w::next"], true).enableMemPattern)
    assert.isTrue(Device.sessionOptions({ memPattern: true }, ["w::next"], true).enableMemPattern)
    const off = Device.sessionOptions({ cpuMemArena: false, memPattern: false })
    assert.deepStrictEqual([off.enableCpuMemArena, off.enableMemPattern], [false, false])
    assert.match(String(Schema.decodeUnknownExit(Device.RuntimeConfig)({ gcAfterStateMB: -1 })), /gcAfterStateMB/)
  })

  it("superseded state: a collection (two passes) once the threshold's bytes have accumulated, none with 0", () => {
    let calls = 0
    const note = Gc.counter(() => calls++)
    note(100 * 2 ** 20, 256)
    note(100 * 2 ** 20, 256)
    assert.strictEqual(calls, 0)
    note(56 * 2 ** 20, 256)
    assert.strictEqual(calls, 2)
    note(255 * 2 ** 20, 256)
    assert.strictEqual(calls, 2)
    note(10 * 2 ** 30, 0)
    assert.strictEqual(calls, 2)
  })

  it("rejects inconsistent configs with the field path", () => {
    const decode = Schema.decodeUnknownExit(Device.RuntimeConfig)
    assert.isTrue(Exit.isSuccess(decode({ device: "cpu", intraOpThreads: 2 })))
    const bad = decode({ device: "cpu", interOpThreads: 4 })
    assert.isTrue(Exit.isFailure(bad))
    assert.match(String(bad), /interOpThreads/)
    assert.match(String(decode({ device: "tpu" })), /device/)
    assert.match(String(decode({ intraOpThreads: -1 })), /intraOpThreads/)
  })
})

describe("DeviceUnavailable", () => {
  it("classifies the provider start-up failures onnxruntime-node 1.30 reports", () => {
    const webgpu = Device.classifyFailure(
      "webgpu",
      new Error("webgpu_context.cc:136 ... Failed to get a WebGPU adapter: No supported adapters")
    )
    assert.strictEqual(webgpu?._tag, "DeviceUnavailable")
    assert.match(webgpu?.hint ?? "", /Vulkan/)
    const cuda = Device.classifyFailure(
      "cuda",
      new Error("OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library")
    )
    assert.match(cuda?.hint ?? "", /CUDA 12.*cuDNN 9/)
    assert.isUndefined(Device.classifyFailure("cpu", new Error("Could not find an implementation for Erf(13)")))
  })

  for (const device of ["webgpu", "cuda"] as const) {
    it.effect(`starting ${device} either works or fails with DeviceUnavailable and an install hint`, () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Executor.make({ device, logLevel: "fatal" }))
        if (Exit.isSuccess(exit)) {
          assert.strictEqual(exit.value.device, device) // a machine with this device
        } else {
          const err = yield* Effect.flip(Executor.make({ device, logLevel: "fatal" }))
          assert.strictEqual(err._tag, "DeviceUnavailable")
          if (err._tag === "DeviceUnavailable") assert.include(err.message, Device.installHint[device])
        }
      }).pipe(Effect.scoped)
    )
  }
})
