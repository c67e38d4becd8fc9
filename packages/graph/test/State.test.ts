/**
 * The state store and sessions: GPU tensors are disposed exactly once when superseded, CPU data is
 * wrapped without copying, and feeds are checked with messages that name the input.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Tensor as OrtTensor } from "onnxruntime-node"
import { Effect } from "effect"

import * as Executor from "../src/Executor.ts"
import * as G from "../src/Graph.ts"
import * as O from "../src/Ops.ts"
import * as State from "../src/State.ts"

/** A GPU-located ORT tensor over a stand-in buffer that counts its disposals (the binding's path in JS). */
const fakeGpu = (counts: Map<string, number>, id: string) =>
  OrtTensor.fromGpuBuffer({ id } as never, {
    dataType: "float32",
    dims: [2],
    dispose: () => counts.set(id, (counts.get(id) ?? 0) + 1)
  }) as unknown as State.DeviceTensor

describe("Store", () => {
  it("disposes each superseded GPU tensor exactly once, never CPU data, and clears on shutdown", () => {
    const counts = new Map<string, number>()
    const store = State.make()
    store.setData("w", Float32Array.of(1, 2), [2])
    const g1 = fakeGpu(counts, "g1")
    const g2 = fakeGpu(counts, "g2")
    store.set("w", g1) // CPU data replaced: nothing to dispose
    store.set("w", g1) // same tensor again: no-op
    assert.isUndefined(counts.get("g1"))
    store.set("w", g2)
    assert.strictEqual(counts.get("g1"), 1)
    store.set("m", fakeGpu(counts, "g3"))
    store.set("alias", g2)
    store.delete("alias") // still held under "w"
    assert.isUndefined(counts.get("g2"))
    store.clear()
    assert.deepStrictEqual(Object.fromEntries(counts), { g1: 1, g2: 1, g3: 1 })
    assert.deepStrictEqual(store.names(), [])
  })

  it("wraps CPU arrays without copying", () => {
    const store = State.make()
    const data = Float32Array.of(1, 2, 3, 4)
    store.setData("w", data, [2, 2])
    assert.strictEqual(store.cpuData("w"), data)
    assert.deepStrictEqual(store.get("w")?.dims, [2, 2])
    assert.throws(() => store.setData("v", data, [3]), /do not fill/)
  })
})

describe("Executor service", () => {
  it.effect("is available as a scoped layer", () =>
    Effect.gen(function* () {
      const exec = yield* Executor.Executor
      assert.strictEqual(exec.device, "cpu")
      exec.write({ w: Float32Array.of(1) }, { w: [1] })
      assert.deepStrictEqual(Array.from((yield* exec.read(["w"]))["w"] as Float32Array), [1])
    }).pipe(Effect.provide(Executor.layer({ intraOpThreads: 1 })))
  )
})

describe("Session feeds", () => {
  it.effect("missing, mis-shaped and mis-typed feeds fail with FeedMismatch naming the input", () =>
    Effect.gen(function* () {
      const exec = yield* Executor.make()
      const g = G.make("f")
      g.output("y", O.mul(g.input("x", "float32", [2, 2]), g.param("w", [2])))
      const s = yield* exec.compile(g)
      const missing = yield* Effect.flip(s.run({ x: new Float32Array(4) }))
      assert.match(missing.message, /input "w": no feed and no state entry/)
      exec.write({ w: Float32Array.of(2, 3) }, { w: [2] })
      const wrongSize = yield* Effect.flip(s.run({ x: new Float32Array(3) }))
      assert.match(wrongSize.message, /input "x": 3 elements, expected 4/)
      const wrongType = yield* Effect.flip(s.run({ x: new Float64Array(4) }))
      assert.match(wrongType.message, /typed array of float64, expected float32/)
      const ok = yield* s.run({ x: Float32Array.of(1, 1, 2, 2) })
      assert.deepStrictEqual(Array.from(ok["y"]?.data as Float32Array), [2, 3, 4, 6])
      const override = yield* s.run({ x: Float32Array.of(1, 1, 1, 1), w: Float32Array.of(5, 5) })
      assert.deepStrictEqual(Array.from(override["y"]?.data as Float32Array), [5, 5, 5, 5])
      const unknown = yield* Effect.flip(exec.read(["nope"]))
      assert.strictEqual(unknown._tag, "FeedMismatch")
    }).pipe(Effect.scoped)
  )
})
