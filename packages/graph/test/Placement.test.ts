/**
 * Placement.parse reads node placement from onnxruntime-node 1.30's verbose session log: the one-provider
 * summary (checked against a real CPU session's log) and the multi-provider listing (in the format of ORT's
 * VerifyEachNodeIsAssignedToAnEp, whose strings the 1.30 binary holds) with WebGPU's missing-kernel notes.
 */
import { assert, describe, it } from "vitest"
import { spawnSync } from "node:child_process"
import * as Placement from "../src/Placement.ts"

const webgpuLog = [
  "2026-12-06 02:38:41.1 [I:onnxruntime:, webgpu_execution_provider.cc:812 GetCapability] webgpu kernel not found in registries for Op type: Mod node name: m1",
  "2026-12-06 02:38:41.2 [I:onnxruntime:, webgpu_execution_provider.cc:812 GetCapability] webgpu kernel not found in registries for Op type: Mod node name: m2",
  "2026-12-06 02:38:41.3 [V:onnxruntime:, session_state.cc:1374 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 3",
  "  MatMul (mm)",
  "  MemcpyToHost (Memcpy_token_1)",
  "  Softmax (sm)",
  "",
  "2026-12-06 02:38:41.4 [V:onnxruntime:, session_state.cc:1374 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 3",
  "  Mod (m1)",
  "  Mod (m2)",
  "  Shape (shape_of_x)",
  "",
  "2026-12-06 02:38:41.5 [V:onnxruntime:, session_state.cc:186 CreateGraphInfo] SaveMLValueNameIndexMapping",
  "  Unrelated (indented text after another record)",
  "2026-12-06 02:38:42.0 [V:onnxruntime:, session_state.cc:1380 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 7"
].join("\n")

describe("Placement.parse", () => {
  it("lists CPU nodes of mixed sessions by op type, counts sessions and nodes per provider", () => {
    const r = Placement.parse(webgpuLog)
    assert.strictEqual(r.sessions, 2)
    assert.deepStrictEqual(r.nodesByProvider, { WebGpuExecutionProvider: 10, CPUExecutionProvider: 3 })
    assert.deepStrictEqual(
      r.cpuNodes.map((n) => n.name),
      ["m1", "m2", "shape_of_x"]
    )
    assert.deepStrictEqual(r.cpuOps, [
      { op: "Mod", count: 2 },
      { op: "Shape", count: 1 }
    ])
    assert.deepStrictEqual(r.missingWebgpuKernels, ["Mod"])
  })

  it("reads a real CPU session's verbose log from a child process", () => {
    // The log goes to the process's stderr, so a child process creates the session.
    const src = (file: string) => JSON.stringify(new URL(`../src/${file}`, import.meta.url).pathname)
    const script = [
      `import { Effect } from "effect"`,
      `import * as Executor from ${src("Executor.ts")}`,
      `import * as G from ${src("Graph.ts")}`,
      `import * as O from ${src("Ops.ts")}`,
      `const g = G.make("p")`,
      `g.output("y", O.reduceSum(O.exp(g.input("x", "float32", [2, 3]))))`,
      `await Effect.runPromise(Effect.scoped(Effect.flatMap(Executor.make({ device: "cpu", logLevel: "verbose" }), (e) => e.compile(g))))`
    ].join("\n")
    const run = spawnSync(process.execPath, ["--conditions=@realm-lm/source", "--input-type=module", "-e", script], {
      encoding: "utf8",
      cwd: import.meta.dirname
    })
    assert.strictEqual(run.status, 0, run.stderr.slice(-2000))
    const r = Placement.parse(`${run.stdout}\n${run.stderr}`)
    assert.isAtLeast(r.sessions, 1)
    assert.deepStrictEqual(Object.keys(r.nodesByProvider), ["CPUExecutionProvider"])
    assert.deepStrictEqual(r.cpuNodes, [])
  })

  it("finds nothing in a log without verbose placement lines", () => {
    assert.deepStrictEqual(
      Placement.parse("2026-12-06 02:38:41.1 [W:onnxruntime:, x.cc:1 F] something else\n  Mod (m1)\n"),
      {
        sessions: 0,
        nodesByProvider: {},
        cpuNodes: [],
        cpuOps: [],
        missingWebgpuKernels: []
      }
    )
  })
})
