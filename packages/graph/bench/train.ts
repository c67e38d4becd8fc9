/**
 * Training-step throughput of Llama-style decoder blocks on the CPU provider, against a same-run ceiling:
 * a plain ORT MatMul chain with the step's FLOPs and the model's GEMM shape ([tokens, dim] x [dim, dim]).
 * Also the per-step cost of moving state (params, Adam m and v) in and out, measured with a graph that
 * passes the same tensors through Identity. Prints a table and writes JSON to bench/results/.
 * With `--torch`, the same model and step in PyTorch (bench/torch_step.py, Debian python3-torch) for a ratio.
 * `--device webgpu|cuda` runs everything on that device (PyTorch then on CUDA), `--tiny` one tiny size (a dry run),
 * `--out FILE` names the JSON, `--python PATH` the interpreter with torch, and `--torch-args` prints torch_step.py's
 * argument for the chosen sizes and exits (the GPU check runs PyTorch as its own step).
 * `--smollm2` benches SmolLM2-135M's shape alone (vocab 49,152, 576 wide, 30 layers, 9 heads / 3 KV heads, tied head)
 * at `--batch B --seq S` (default 2 × 256); `--threads T` sets ORT's intra-op threads and PyTorch's (default: all
 * cores), `--reps N` the timed steps. Each row also has the first step's time and the process's peak RSS after the
 * timed steps (before the ceiling and state graphs run); PyTorch reports the same from its own process.
 * `--qwen` benches Qwen2.5-0.5B's shape alone (vocab 151,936, 896 wide, 24 layers, 14 heads / 2 KV heads, ffn 4864,
 * tied head; without Qwen's q/k/v biases, in both frameworks) at the same `--batch`/`--seq`. `--optimizer host` runs
 * AdamW on the host (`TrainingConfig.optimizerOn`, what fits Qwen2.5-0.5B's full fine-tuning in 24 GB); the state
 * round trip is then not measured (no step feeds the state through a session).
 * Run: `npm run bench -w @realm-lm/graph` (or `node bench/train.ts [--quick] [--spin] [--torch] [--device D]` from packages/graph).
 */
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { dirname, join } from "node:path"
import { Executor, Graph, Ops } from "../src/index.ts"
import * as Transformer from "../test/support/transformer.ts"
import { arg, deviceArg, outArg } from "./args.ts"

const quick = process.argv.includes("--quick")
const spinning = process.argv.includes("--spin")
const withTorch = process.argv.includes("--torch")
const tiny = process.argv.includes("--tiny")
const device = deviceArg("cpu")
const torchDevice = device === "cpu" ? "cpu" : "cuda"
const python = arg("--python") ?? process.env.REALM_PYTHON ?? "/usr/bin/python3"
const sizes: Array<{ name: string; size: Transformer.TransformerSize; bucket: Transformer.Bucket }> = [
  {
    name: "S d128 L2",
    size: { vocab: 512, dim: 128, heads: 4, kvHeads: 2, hidden: 384, layers: 2 },
    bucket: { batch: 8, seq: 64 }
  },
  {
    name: "M d256 L2",
    size: { vocab: 1024, dim: 256, heads: 8, kvHeads: 4, hidden: 768, layers: 2 },
    bucket: { batch: 8, seq: 128 }
  },
  {
    name: "L d512 L4",
    size: { vocab: 2048, dim: 512, heads: 8, kvHeads: 4, hidden: 1536, layers: 4 },
    bucket: { batch: 4, seq: 128 }
  }
]
const smol: typeof sizes = [
  {
    name: "SmolLM2-135M",
    size: { vocab: 49152, dim: 576, heads: 9, kvHeads: 3, hidden: 1536, layers: 30 },
    bucket: { batch: Number(arg("--batch") ?? 2), seq: Number(arg("--seq") ?? 256) }
  }
]
const qwen: typeof sizes = [
  {
    name: "Qwen2.5-0.5B",
    size: { vocab: 151936, dim: 896, heads: 14, kvHeads: 2, hidden: 4864, layers: 24 },
    bucket: { batch: Number(arg("--batch") ?? 2), seq: Number(arg("--seq") ?? 256) }
  }
]
const optimizerOn = arg("--optimizer") ?? "graph"
if (optimizerOn !== "graph" && optimizerOn !== "host")
  throw new RangeError(`--optimizer must be graph or host, got ${optimizerOn}`)
const threads = Number(arg("--threads") ?? 0)
const tinySizes: typeof sizes = [
  {
    name: "T d32 L1",
    size: { vocab: 64, dim: 32, heads: 2, kvHeads: 1, hidden: 64, layers: 1 },
    bucket: { batch: 2, seq: 16 }
  }
]
if (process.argv.includes("--smollm2") && process.argv.includes("--qwen"))
  throw new RangeError("--smollm2 and --qwen each bench one shape: pass one of them")
const entries = process.argv.includes("--smollm2")
  ? smol
  : process.argv.includes("--qwen")
    ? qwen
    : tiny
      ? tinySizes
      : quick
        ? sizes.slice(0, 1)
        : sizes
const repetitions = Number(arg("--reps") ?? (tiny ? 2 : quick ? 3 : 10))
/** torch_step.py's argument for these sizes. */
const torchArgs = (chosen: typeof sizes) =>
  JSON.stringify({
    sizes: chosen,
    reps: repetitions,
    threads: threads > 0 ? threads : cpus().length,
    device: torchDevice
  })

/** Median of timed repetitions (ms) of an effect, after warm-up; `first` receives the first warm-up's ms. */
const time = <A, E>(run: Effect.Effect<A, E>, reps: number, warmup = 2, first?: (ms: number) => void) =>
  Effect.gen(function* () {
    for (let i = 0; i < warmup; i++) {
      const t0 = performance.now()
      yield* run
      if (i === 0) first?.(performance.now() - t0)
    }
    const ms: Array<number> = []
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now()
      yield* run
      ms.push(performance.now() - t0)
    }
    return ms.toSorted((a, b) => a - b)[Math.floor(ms.length / 2)]!
  })

const benchSize = (entry: (typeof sizes)[number], reps: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { size, bucket } = entry
      const exec = yield* Executor.make({ device, spinning, ...(threads > 0 ? { intraOpThreads: threads } : {}) })
      const setupStart = performance.now()
      const trainer = yield* Transformer.adamwTrainer(exec, size, bucket, 1, optimizerOn)
      const setupMs = performance.now() - setupStart
      const rng = Rng.Rng.make(2)
      const n = bucket.batch * bucket.seq
      const tokens = Int32Array.from({ length: n }, () => rng.int(size.vocab))
      const targets = Int32Array.from({ length: n }, () => rng.int(size.vocab))
      let firstStepMs = 0
      const stepMs = yield* time(trainer.step({ tokens, targets }, { lr: 1e-4 }), reps, 2, (ms) => (firstStepMs = ms))
      const peakRssMB = process.resourceUsage().maxRSS / 1024
      const flops = Transformer.trainFlops(size, bucket)
      const paramCount = trainer.params.reduce((s, p) => s + Graph.sizeOf(p.shape), 0)

      // Ceiling: X [n, dim] through k matmuls with [dim, dim] weights, k chosen to match the step's FLOPs.
      const k = Math.max(1, Math.round(flops / (2 * n * size.dim * size.dim)))
      const g = Graph.make("ceiling")
      let x = g.input("x", "float32", [n, size.dim])
      const w = g.input("w", "float32", [size.dim, size.dim])
      for (let i = 0; i < k; i++) x = Ops.matmul(x, w)
      g.output("y", Ops.reduceSum(x))
      const ceilingSession = yield* exec.compile(g)
      const xs = Float32Array.from({ length: n * size.dim }, () => rng.normal() * 0.01)
      const ws = Float32Array.from({ length: size.dim * size.dim }, () => rng.normal() / Math.sqrt(size.dim))
      const ceilMs = yield* time(ceilingSession.run({ x: xs, w: ws }), reps)
      const ceilFlops = 2 * n * size.dim * size.dim * k

      // State round trip: every param, m and v fed in and returned, as in a step, with no compute (in-graph optimizer only).
      let ioMs = Number.NaN
      if (optimizerOn === "graph") {
        const state = yield* exec.read()
        const sg = Graph.make("state_io")
        for (const name of Object.keys(state))
          sg.output(`${name}::out`, Ops.identity(sg.input(name, "float32", exec.state.get(name)?.dims ?? [])))
        const ioSession = yield* exec.compile(sg)
        ioMs = yield* time(ioSession.run({}), reps)
      }
      return {
        name: entry.name,
        size,
        bucket,
        params: paramCount,
        // Executor state: parameters and (in-graph optimizer) AdamW moments; with the host optimizer the moments live there.
        stateFloats: exec.state.names().reduce((s, name) => s + (exec.state.get(name)?.size ?? 0), 0),
        setupMs,
        firstStepMs,
        stepMs,
        peakRssMB,
        tokensPerSec: n / (stepMs / 1000),
        gflops: flops / (stepMs / 1000) / 1e9,
        ceilingMatmuls: k,
        ceilingGflops: ceilFlops / (ceilMs / 1000) / 1e9,
        ratio: flops / (stepMs / 1000) / (ceilFlops / (ceilMs / 1000)),
        stateIoMs: ioMs,
        stateIoShare: ioMs / stepMs
      }
    })
  )

/** The same model and step in PyTorch (Debian python3-torch; CUDA for a GPU device), same thread count; undefined when unavailable. */
type TorchRow = { name: string; stepMs: number; firstStepMs: number; setupMs: number; peakRssMB: number }
const torchTimes = (
  chosen: typeof sizes
): { version: string; ms: Record<string, number>; rows: Array<TorchRow> } | undefined => {
  if (!existsSync(python)) return undefined
  try {
    const out = execFileSync(python, [join(import.meta.dirname, "torch_step.py"), torchArgs(chosen)], {
      encoding: "utf8"
    })
    const parsed = JSON.parse(out) as { torch: string; rows: Array<TorchRow> }
    return {
      version: parsed.torch,
      ms: Object.fromEntries(parsed.rows.map((r) => [r.name, r.stepMs])),
      rows: parsed.rows
    }
  } catch (e) {
    console.error(`PyTorch comparison skipped: ${String(e).split("\n")[0]}`)
    return undefined
  }
}

const main = Effect.gen(function* () {
  const rows = []
  let torch: { version: string; ms: Record<string, number>; rows: Array<TorchRow> } | undefined
  for (const entry of entries) {
    rows.push(yield* benchSize(entry, repetitions))
    // Right after the ORT run of the same size, so both see the same machine load.
    const t = withTorch ? torchTimes([entry]) : undefined
    if (t !== undefined)
      torch = { version: t.version, ms: { ...torch?.ms, ...t.ms }, rows: [...(torch?.rows ?? []), ...t.rows] }
  }
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version
  }
  console.log(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, onnxruntime-node 1.30.0, device ${device}, spinning ${spinning ? "on" : "off"}, threads ${threads > 0 ? threads : "all"}, reps ${repetitions}, optimizer on the ${optimizerOn}`
  )
  const torchHead = torch === undefined ? "" : ` PyTorch ${torch.version} step ms | ORT/PyTorch speed |`
  console.log(
    `| model | params | tokens/step | step ms | tokens/s | GFLOP/s | MatMul ceiling GFLOP/s | ratio | state in/out ms (share) |${torchHead}`
  )
  console.log(`|---|---|---|---|---|---|---|---|---|${torch === undefined ? "" : "---|---|"}`)
  for (const r of rows) {
    const t = torch?.ms[r.name]
    const torchCols =
      torch === undefined
        ? ""
        : ` ${t?.toFixed(1) ?? "n/a"} | ${t === undefined ? "n/a" : (t / r.stepMs).toFixed(2)}x |`
    console.log(
      `| ${r.name} | ${(r.params / 1e6).toFixed(2)}M | ${r.bucket.batch * r.bucket.seq} | ${r.stepMs.toFixed(1)} | ${r.tokensPerSec.toFixed(0)} | ${r.gflops.toFixed(1)} | ${r.ceilingGflops.toFixed(1)} | ${(100 * r.ratio).toFixed(0)}% | ${Number.isNaN(r.stateIoMs) ? "n/a" : `${r.stateIoMs.toFixed(1)} (${(100 * r.stateIoShare).toFixed(0)}%)`} |${torchCols}`
    )
  }
  for (const r of rows)
    console.log(
      `ORT ${r.name}: setup ${r.setupMs.toFixed(0)} ms, first step ${r.firstStepMs.toFixed(0)} ms, peak RSS ${r.peakRssMB.toFixed(0)} MB`
    )
  for (const r of torch?.rows ?? []) {
    console.log(
      `PyTorch ${r.name}: setup ${r.setupMs.toFixed(0)} ms, first step ${r.firstStepMs.toFixed(0)} ms, peak RSS ${r.peakRssMB.toFixed(0)} MB`
    )
  }
  const file = outArg("train")
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify({ machine, device, spinning, optimizerOn, rows, torch }, null, 2))
  console.log(`wrote ${file}`)
})

// A benchmark script is an entry point, like the CLI.
if (process.argv.includes("--torch-args")) console.log(torchArgs(entries))
else
  Effect.runPromise(main).catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
