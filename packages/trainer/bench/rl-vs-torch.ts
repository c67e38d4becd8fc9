/**
 * One RL step of the trainer against Debian's PyTorch at the same shapes (issue 14): random weights of SmolLM2-135M's
 * or Qwen2.5-0.5B's shape with its real tokenizer, P parcel-fee prompts (with `--routes R` MRPV routes shown, as
 * the verifier renders them) encoded as the trainer encodes them, then per step:
 *
 * - rollout: the trainer engine's batched KV-cache generation of G completions per prompt, `--new-tokens` each
 *   (temperature 1, no stop token, so both sides generate exactly the same number of tokens);
 * - update: one optimizer step of the clipped surrogate (the trainer's RL defaults: token aggregation, ε 0.2 low /
 *   0.28 high, old log-probs from the sampler, no KL) over prompt + completion, in the micro-batches `Rl.train` would form
 *   (`batching.buckets`, `batching.microBatch`, the vocabulary's `microBatchTokens`), with the trainer's defaults for
 *   the head (`memory.vocabChunk: auto`, and `memory.headWindow`: `--head-window auto|off`, default auto: the LM
 *   head only at the completions) and the optimizer's placement (`--optimizer graph|host`).
 *
 * The update's GFLOP/s (`support/updateCeiling.ts`: decoder matmuls and attention forward and backward over every
 * padded position, the head over the scored ones) is set against a same-run MatMul ceiling on the same executor.
 *
 * Advantages alternate +1 / −1 within each group (what binary rewards half right give after group normalisation).
 * The same prompts every step, so the shapes are fixed and the steps after the first are steady state. Scoring (the
 * verifier, ≤ 7 ms at these shapes in real-shapes.ts) has no PyTorch counterpart and is left out. Then
 * `torch_rl_step.py` runs the same steps in a child process (same prompt ids, group, tokens, micro-batch members and
 * shapes, threads) on the same decoder in PyTorch. Each side runs in its own process (the ORT side in a child of
 * this script, `--ort-result FILE`), so each peak RSS is its own. Medians over the steps after the first; both first
 * steps and setups are reported.
 *
 *   node --conditions=@realm-lm/source packages/trainer/bench/rl-vs-torch.ts --model SmolLM2-135M
 *     [--tokenizer DIR] [--routes R] [--prompts P] [--group G] [--new-tokens T] [--steps N] [--micro-batch M]
 *     [--optimizer graph|host] [--head-window auto|off] [--runtime JSON] [--threads T] [--torch-blas-threads B] [--no-torch] [--keep DIR]
 *
 * PyTorch: `/usr/bin/python3` with Debian's python3-torch and libopenblas0-pthread (`apt-get install python3-torch
 * libopenblas0-pthread`); without it the PyTorch columns say why they are empty. PyTorch runs `--threads` intra-op
 * threads and `--torch-blas-threads` OpenBLAS threads (default 1): Debian's torch calls OpenBLAS, whose own pool
 * otherwise competes with torch's for the same cores; on 2 cores, 2 + 2 threads made PyTorch's rollout 3× slower
 * than 2 + 1 (14.8 s against 4.7 s at SmolLM2-135M with 3 routes) and its update no faster. Writes JSON to
 * bench/results/.
 */
import { NodeServices } from "@effect/platform-node"
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import * as Engine from "../src/internal/engine.ts"
import * as Steps from "../src/internal/steps.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import { flags } from "./support/cli.ts"
import { loadAverage, writeResult } from "./support/results.ts"
import { problem, verifier } from "./support/parcelBench.ts"
import { initModel, tokenizerFor } from "./support/realShape.ts"
import { median } from "./support/rlColumns.ts"
import { matmulCeiling, updateFlops } from "./support/updateCeiling.ts"

const { args, option, count, has, choice, rlBatch } = flags()
const model = option("model") ?? "SmolLM2-135M"
const tokenizer = tokenizerFor(model, option("tokenizer"))
const optimizer = choice("optimizer", ["graph", "host"])
const headWindow = choice("head-window", ["auto", "off"])
const routes = count("routes", 0)
const { prompts, group, newTokens, microBatch, threads } = rlBatch()
const steps = count("steps", 4)
/** OpenBLAS threads of the PyTorch side (its own pool; see torch_rl_step.py). */
const torchBlasThreads = count("torch-blas-threads", 1)
const keep = option("keep")
/** Extra trainer `runtime` keys, e.g. `'{"gcAfterStateMB":256}'`. */
const runtime = JSON.parse(option("runtime") ?? "{}") as Record<string, unknown>
if (steps < 2) throw new RangeError("--steps must be at least 2 (the first is warm-up)")

const root = keep ?? mkdtempSync(join(tmpdir(), "realm-rl-vs-torch-"))
mkdirSync(root, { recursive: true })
const init = initModel(model, tokenizer, join(root, "init"))
const config = TrainerConfig.decodeSync({
  runtime: { intraOpThreads: threads, ...runtime },
  batching: { buckets: [64, 128, 256, 512], microBatch },
  generation: { maxPromptTokens: 448, maxNewTokens: newTokens },
  memory: { optimizer, headWindow },
  rl: { batchSize: prompts * group, groupSize: group }
})
const peakMiB = () => process.resourceUsage().maxRSS / 1024

interface OrtStep {
  readonly rolloutMs: number
  readonly updateMs: number
  readonly loss: number
}

const ort = Effect.gen(function* () {
  const t0 = performance.now()
  const engine = yield* Engine.make(
    { init },
    config.runtime,
    config.optimizer,
    { kind: "policy", rl: config.rl },
    config.memory
  )
  const setupMs = performance.now() - t0
  const rng = Rng.Rng.make(7, "bench")
  const scorer = verifier(false)
  const promptIds: Array<Array<number>> = []
  for (let i = 0; i < prompts; i++) {
    const p = problem(rng, i)
    const decision = {
      problemId: p.problem.id,
      strength: routes > 0 ? 1 : 0,
      routeCount: routes,
      hintFraction: 0,
      rescue: false,
      seed: 0
    }
    const prompt = yield* scorer.prompt({ problem: p.problem, routes: p.routes, decision })
    promptIds.push(yield* engine.encodePrompt(prompt))
  }
  const advantages = Array.from({ length: prompts * group }, (_, i) => (i % 2 === 0 ? 1 : -1))
  const budget = TrainerConfig.microBatchTokensFor(config.batching, engine.config.vocabSize)
  const timed: Array<OrtStep> = []
  let peakAfterRolloutMiB = 0
  let packed: ReturnType<typeof Steps.pack>["groups"] = []
  let windows: Array<number | undefined> = []
  for (let n = 0; n < steps; n++) {
    const r0 = performance.now()
    const out = yield* engine.policy.generate(
      promptIds.map((ids, i) => ({ prompt: ids, samples: group, rng: Rng.Rng.make(config.seed, "rl-vs-torch", n, i) })),
      { maxNewTokens: newTokens, sampling: { temperature: 1, topK: 0, topP: 1 }, stopTokens: [] }
    )
    const r1 = performance.now()
    if (n === 0) peakAfterRolloutMiB = peakMiB()
    const rollouts = out.flatMap((completions, i) =>
      completions.map((c, k) => ({
        prompt: promptIds[i]!,
        completion: c.tokens,
        advantage: advantages[i * group + k]!,
        oldLogProbs: c.logProbs
      }))
    )
    packed = Steps.pack(rollouts, config.batching.buckets, microBatch, true, budget).groups
    const micro = Steps.policyMicroBatches(
      rollouts,
      config.batching.buckets,
      microBatch,
      engine.pad,
      "token",
      budget,
      TrainerConfig.headWindowFor(config.memory, newTokens)
    )
    windows = micro.map((m) => m.bucket.window)
    const u0 = performance.now()
    const r = yield* Steps.step(engine.trainer(), micro, 1e-6, Steps.guardFor("rl", config.guards, n + 1, 0))
    timed.push({ rolloutMs: r1 - r0, updateMs: performance.now() - u0, loss: r.loss })
  }
  const micro = packed.map((g, i) => ({
    members: g.members,
    rows: g.rows,
    length: g.length,
    window: windows[i] ?? null
  }))
  const flops = updateFlops(engine.config, micro, engine.vocabChunk !== undefined)
  const largest = micro.reduce((a, m) => Math.max(a, m.rows * m.length), 1)
  const ceilingGflops = yield* matmulCeiling(engine.policy.executor, largest, engine.config.hiddenSize)
  return {
    setupMs,
    steps: timed,
    updateGflop: flops / 1e9,
    ceilingGflops,
    peakAfterRolloutMiB,
    peakMiB: peakMiB(),
    promptIds,
    advantages,
    micro,
    vocabChunk: engine.vocabChunk ?? null,
    microBatchTokens: budget,
    size: {
      vocab: engine.config.vocabSize,
      dim: engine.config.hiddenSize,
      heads: engine.config.numHeads,
      kvHeads: engine.config.numKvHeads,
      hidden: engine.config.intermediateSize,
      layers: engine.config.numLayers,
      ropeTheta: engine.config.ropeTheta
    },
    pad: engine.pad
  }
})

type OrtRun = Effect.Success<typeof ort>

interface TorchRun {
  readonly torch: string
  readonly setupMs: number
  readonly steps: ReadonlyArray<OrtStep>
  readonly peakAfterRolloutMiB: number
  readonly peakMiB: number
}

/** What `torch_rl_step.py` takes: the ORT run's prompts, micro-batches and advantages. */
const torchInput = (o: OrtRun) => ({
  size: o.size,
  threads,
  blasThreads: torchBlasThreads,
  steps,
  group,
  newTokens,
  prompts: o.promptIds,
  micro: o.micro,
  advantages: o.advantages,
  pad: o.pad,
  clip: [config.rl.clipLow, config.rl.clipHigh]
})

const runTorch = (o: OrtRun): TorchRun | string => {
  if (has("no-torch")) return "--no-torch"
  const python = "/usr/bin/python3"
  try {
    execFileSync(python, ["-c", "import torch"], { stdio: "ignore" })
  } catch {
    return `${python} cannot import torch (apt-get install python3-torch libopenblas0-pthread)`
  }
  const out = execFileSync(python, [join(import.meta.dirname, "torch_rl_step.py"), JSON.stringify(torchInput(o))], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "inherit"]
  })
  return JSON.parse(out) as TorchRun
}

/**
 * The ORT side in a child process of this script (`--ort-result FILE`), so that its memory is gone before PyTorch
 * starts (ONNX Runtime's arenas and the freed state stay in a process's heap) and each side's peak is its own.
 */
const ortInChild = (): OrtRun => {
  const file = join(root, "ort-result.json")
  execFileSync(
    process.execPath,
    ["--conditions=@realm-lm/source", import.meta.filename, ...args, "--keep", root, "--ort-result", file],
    { stdio: "inherit" }
  )
  return JSON.parse(readFileSync(file, "utf8")) as OrtRun
}

const main = Effect.sync(() => {
  const loadAtStart = loadAverage()
  const o = ortInChild()
  console.log(`ORT done (load ${loadAverage()}); PyTorch next`)
  const t = runTorch(o)
  const after = (s: ReadonlyArray<OrtStep>, key: "rolloutMs" | "updateMs") => median(s.slice(1).map((x) => x[key]))
  const seconds = (ms: number) => (ms / 1000).toFixed(2)
  const side = (s: ReadonlyArray<OrtStep>) => ({
    rollout: after(s, "rolloutMs"),
    update: after(s, "updateMs"),
    step: median(s.slice(1).map((x) => x.rolloutMs + x.updateMs)),
    first: s[0]!.rolloutMs + s[0]!.updateMs
  })
  const generated = prompts * group * newTokens
  const a = side(o.steps)
  const b = typeof t === "string" ? undefined : side(t.steps)
  const shapes = o.micro
    .map((m) => `${m.members.length}/${m.rows}×${m.length}${m.window === null ? "" : ` (head on ${m.window})`}`)
    .join(", ")
  const promptTokens = o.promptIds.map((p) => p.length).join(", ")
  console.log(
    `${model}, ${optimizer === "host" ? "AdamW on the host" : "AdamW in the graph"}, ${prompts}×${group} completions of ${newTokens} tokens, ` +
      `${routes} routes (prompt tokens ${promptTokens}), micro-batches (rows/padded rows × length) ${shapes}, ` +
      `vocabChunk ${o.vocabChunk ?? "off"}, headWindow ${headWindow}, ${threads} threads; medians of ${steps - 1} steps after the first`
  )
  const rows: Array<[string, string, string, string]> = [
    ["rollout s", seconds(a.rollout), b ? seconds(b.rollout) : "", b ? (b.rollout / a.rollout).toFixed(2) : ""],
    ["update s", seconds(a.update), b ? seconds(b.update) : "", b ? (b.update / a.update).toFixed(2) : ""],
    ["step s (rollout + update)", seconds(a.step), b ? seconds(b.step) : "", b ? (b.step / a.step).toFixed(2) : ""],
    [
      "generated tokens/s",
      (generated / (a.rollout / 1000)).toFixed(0),
      b ? (generated / (b.rollout / 1000)).toFixed(0) : "",
      ""
    ],
    [
      `update GFLOP/s (${o.updateGflop.toFixed(0)} GFLOP) / MatMul ceiling`,
      `${(o.updateGflop / (a.update / 1000)).toFixed(1)} / ${o.ceilingGflops.toFixed(1)} (${((100 * o.updateGflop) / (a.update / 1000) / o.ceilingGflops).toFixed(0)}%)`,
      "",
      ""
    ],
    [
      "setup + first step s",
      seconds(o.setupMs + a.first),
      typeof t === "string" || b === undefined ? "" : seconds(t.setupMs + b.first),
      ""
    ],
    [
      "peak RSS after first rollout MiB",
      Math.round(o.peakAfterRolloutMiB).toString(),
      typeof t === "string" ? "" : Math.round(t.peakAfterRolloutMiB).toString(),
      ""
    ],
    [
      "peak RSS MiB",
      Math.round(o.peakMiB).toString(),
      typeof t === "string" ? "" : Math.round(t.peakMiB).toString(),
      ""
    ]
  ]
  const torchHead =
    typeof t === "string" ? `(not run: ${t})` : `${t.torch} (${threads} threads, OpenBLAS ${torchBlasThreads})`
  console.log(`| | ORT | PyTorch ${torchHead} | PyTorch ÷ ORT time |\n|---|---|---|---|`)
  for (const r of rows) console.log(`| ${r.join(" | ")} |`)
  writeResult(`rl-vs-torch-${basename(model, ".json")}-${optimizer}-r${routes}-head-${headWindow}`, threads, {
    args,
    loadAtStart,
    loadAtEnd: loadAverage(),
    promptTokens: o.promptIds.map((p) => p.length),
    ort: o,
    torch: t,
    torchInput: torchInput(o)
  })
})

const ortResult = option("ort-result")
const program =
  ortResult === undefined ? main : Effect.map(Effect.scoped(ort), (o) => writeFileSync(ortResult, JSON.stringify(o)))

Effect.runPromise(program.pipe(Effect.provide(NodeServices.layer)))
  .then(() => {
    if (keep === undefined) rmSync(root, { recursive: true, force: true })
  })
  .catch((e: unknown) => {
    console.error(e)
    process.exit(1)
  })
