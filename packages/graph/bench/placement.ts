/**
 * Op placement: which nodes of the decoder's training step (forward + backward + AdamW) and of its forward
 * graph ONNX Runtime puts on the CPU when `--device` is webgpu or cuda. onnxruntime-node 1.30 has no API
 * for placement, so a child process creates the sessions with verbose session logging and this process
 * parses its log (`Placement.parse`). Every CPU node under a GPU device costs host copies and a sync per step.
 * Prints a table and writes JSON (`--out FILE`, default bench/results/placement-<device>-<time>.json).
 * Run: `node --conditions=@realm-lm/source bench/placement.ts --device webgpu [--tiny]`.
 */
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { Executor, Placement } from "../src/index.ts"
import * as Transformer from "../test/support/transformer.ts"
import { deviceArg, outArg } from "./args.ts"

const device = deviceArg("webgpu")
const tiny = process.argv.includes("--tiny")
const size: Transformer.TransformerSize = tiny
  ? { vocab: 64, dim: 16, heads: 2, kvHeads: 1, hidden: 32, layers: 1 }
  : { vocab: 512, dim: 128, heads: 4, kvHeads: 2, hidden: 384, layers: 2 }
const bucket: Transformer.Bucket = tiny ? { batch: 1, seq: 8 } : { batch: 8, seq: 64 }

/** The child: create the step and forward sessions with verbose logging and run each once. */
const child = Effect.scoped(
  Effect.gen(function* () {
    const exec = yield* Executor.make({ device, logLevel: "verbose" })
    const trainer = yield* Transformer.adamwTrainer(exec, size, bucket, 1)
    const n = bucket.batch * bucket.seq
    const batch = {
      tokens: Int32Array.from({ length: n }, (_, i) => (i * 7) % size.vocab),
      targets: Int32Array.from({ length: n }, (_, i) => (i * 5) % size.vocab)
    }
    yield* trainer.step(batch, { lr: 1e-4 })
    yield* trainer.evaluate(batch)
  })
)

const parent = () => {
  const started = performance.now()
  const args = [...process.execArgv, process.argv[1]!, "--child", "--device", device, ...(tiny ? ["--tiny"] : [])]
  const run = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1024 ** 3, timeout: 600_000 })
  const log = `${run.stdout ?? ""}\n${run.stderr ?? ""}`
  const report = Placement.parse(log)
  const errorLine =
    run.status === 0
      ? undefined
      : log
          .split("\n")
          .filter((l) => /placement child failed|Error/.test(l) && !/^\d{4}-/.test(l))
          .slice(0, 3)
          .join(" | ")
          .slice(0, 600)
  const ok = run.status === 0 && report.sessions > 0
  const result = {
    device,
    model: { size, bucket },
    ok,
    ...(ok
      ? {}
      : { error: errorLine || `child exited with ${run.status ?? run.signal}; ${report.sessions} sessions logged` }),
    sessions: report.sessions,
    nodesByProvider: report.nodesByProvider,
    cpuOps: report.cpuOps,
    cpuNodes: report.cpuNodes.map((n) => `${n.op} (${n.name})`),
    missingWebgpuKernels: report.missingWebgpuKernels,
    ms: performance.now() - started
  }
  console.log(
    `op placement on ${device}: ${report.sessions} sessions (training step, forward); nodes by provider ${JSON.stringify(report.nodesByProvider)}`
  )
  if (!ok) console.log(`placement failed: ${result.error}`)
  if (device !== "cpu") {
    console.log("| op on the CPU | nodes |")
    console.log("|---|---|")
    for (const o of report.cpuOps) console.log(`| ${o.op} | ${o.count} |`)
    if (report.cpuOps.length === 0 && ok) console.log("| (none: every node on the GPU) | 0 |")
    if (report.missingWebgpuKernels.length > 0)
      console.log(`webgpu kernels missing for: ${report.missingWebgpuKernels.join(", ")}`)
  }
  const out = outArg(`placement-${device}`)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(result, null, 2))
  console.log(`wrote ${out}`)
  if (!ok) process.exitCode = 1
}

// A benchmark script is an entry point, like the CLI.
if (process.argv.includes("--child")) {
  Effect.runPromise(child).catch((e: unknown) => {
    console.error(`placement child failed: ${String(e)}`)
    process.exitCode = 1
  })
} else parent()
