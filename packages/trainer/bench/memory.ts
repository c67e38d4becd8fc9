/**
 * Estimated memory of a training run per model size, from `@realm-lm/lm`'s `ModelSize.memory` (float32 weights,
 * gradients, AdamW moments, activations of a plain reverse-mode graph, KV cache): the RL footprint (training
 * micro-batch + generation cache + optional frozen reference) and the largest micro-batch of 512-token rows that
 * fits in 24 GB of CPU RAM and on an 80 GB GPU. Estimates, not measurements: ORT's arena and temporaries come on top.
 *
 * With `--measure`, it measures instead: peak RSS and SFT step time of `Policy.sftStep` on random-init weights of
 * real shapes (SmolLM2-135M, and Qwen2.5-0.5B with `--qwen`), once with the full `[tokens, vocab]` logits and once
 * with the vocabulary-chunked head (`memory.vocabChunk`), each case in its own child process so its peak is its own.
 * Prints a table and writes JSON to packages/trainer/bench/results/memory-measured.json.
 * With `--measure --lora RANK`, the two cases are full fine-tuning and LoRA of that rank on all seven projections
 * (alpha = 2·rank), both with the trainer's default head (chunks of 8192), written to memory-lora.json; `--reps N`
 * sets the timed steps after the first (default 2), `--model NAME` another row of the table (e.g. `demo S`).
 * With `--measure --recompute`, the cases are activation recomputation of every decoder layer (`memory.recompute`) off
 * and on, each with the full logits and with chunks of 8192 (with `--lora RANK`: LoRA with chunks, off and on), written
 * to memory-recompute.json. With `--measure --runtime`, the cases are ONNX Runtime / V8 memory settings of
 * `@realm-lm/graph`'s RuntimeConfig at the trainer's default head: the defaults (arena on, memory pattern off for
 * training graphs, no forced collection), `memPattern: true` (ORT's own default), `cpuMemArena: false`, both of those,
 * and `gcAfterStateMB: 256` (collect superseded state), written to memory-runtime.json. With `--measure --optimizer`,
 * the cases are the optimizer inside the training graph and on the host (`memory.optimizer: graph | host`), at the
 * trainer's default head, written to memory-optimizer.json. `--layers N` replaces the model's layer count (a smaller model of the same width),
 * `--only 0,2` runs only those cases (0-based, in the order above), `--cases JSON` runs an explicit list of cases.
 *
 *   node --conditions=@realm-lm/source packages/trainer/bench/memory.ts [--measure [--qwen] [--lora RANK] [--recompute | --runtime | --optimizer] [--rows R --length L --threads T --reps N --layers N --only I,J]]
 */
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { join } from "node:path"
import { Lora, ModelConfig, ModelSize, Policy, Weights } from "@realm-lm/lm"

const hf = (
  name: string,
  h: number,
  ffn: number,
  layers: number,
  heads: number,
  kv: number,
  vocab: number,
  qwen = false
) =>
  [
    name,
    Effect.runSync(
      ModelConfig.make({
        architecture: qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM",
        vocabSize: vocab,
        hiddenSize: h,
        intermediateSize: ffn,
        numLayers: layers,
        numHeads: heads,
        numKvHeads: kv,
        headDim: h / heads,
        maxContext: 4096,
        rmsNormEps: 1e-6,
        ropeTheta: 10000,
        ropeScaling: null,
        tieWordEmbeddings: true,
        qkvBias: qwen,
        oBias: false,
        bosTokenId: null,
        eosTokenIds: [0],
        padTokenId: null
      })
    )
  ] as const

// Published config.json values (hidden, intermediate, layers, heads, kv heads, vocab).
const models = [
  hf("demo S (Scratch defaults)", 96, 256, 4, 4, 2, 384),
  hf("demo M", 192, 512, 4, 6, 2, 384),
  hf("SmolLM2-135M", 576, 1536, 30, 9, 3, 49152),
  hf("SmolLM2-360M", 960, 2560, 32, 15, 5, 49152),
  hf("Qwen2.5-0.5B", 896, 4864, 24, 14, 2, 151936, true),
  hf("Qwen2.5-1.5B", 1536, 8960, 28, 12, 2, 151936, true)
]

const seq = 512
const genRows = 64
const gib = (b: number) => (b / 2 ** 30 < 0.01 ? (b / 2 ** 30).toFixed(3) : (b / 2 ** 30).toFixed(2))
const footprint = (config: ModelConfig.ModelConfig, rows: number, reference: boolean) => {
  const t = ModelSize.memory(config, { batch: rows, seq })
  const g = ModelSize.memory(config, { batch: genRows, seq })
  return t.training + g.kvCache + (reference ? t.weights : 0)
}
const largest = (config: ModelConfig.ModelConfig, budget: number) => {
  let best = 0
  for (let rows = 1; rows <= 256; rows *= 2) if (footprint(config, rows, true) <= budget) best = rows
  return best === 0 ? "does not fit" : String(best)
}

/** One measured case: model shape, tokens per micro-batch and the head's chunk (undefined = full logits). */
interface Case {
  readonly model: string
  readonly rows: number
  readonly length: number
  readonly threads: number
  readonly vocabChunk: number | undefined
  /** LoRA rank on every projection (alpha = 2·rank), or undefined for full fine-tuning. */
  readonly lora?: number | undefined
  /** Timed steps after the first. */
  readonly reps?: number
  /** Recompute every decoder layer's activations in the backward (`memory.recompute: true`). */
  readonly recompute?: boolean
  /** Runtime settings on top of `intraOpThreads` (`cpuMemArena`, `memPattern`, `gcAfterStateMB`). */
  readonly runtime?: { readonly cpuMemArena?: boolean; readonly memPattern?: boolean; readonly gcAfterStateMB?: number }
  /** Replace the model's layer count (same width). */
  readonly layers?: number
  /** Where the optimizer runs (`TrainingConfig.optimizerOn`); default the graph. */
  readonly optimizerOn?: "graph" | "host"
}

/** Run three SFT steps of one case in this process; peak RSS covers weights, AdamW state and the steps. */
const measureOne = (c: Case) =>
  Effect.gen(function* () {
    const named = (models.find(([name]) => name.startsWith(c.model)) as (typeof models)[number])[1]
    const base = c.layers === undefined ? named : { ...named, numLayers: c.layers }
    const weights = Weights.init(base, Rng.Rng.make(1, "bench"), { std: 0.02 })
    const config =
      c.lora === undefined
        ? base
        : { ...base, lora: { rank: c.lora, alpha: 2 * c.lora, targets: [...Lora.targets], trainNorms: false } }
    const policy = yield* Policy.make(
      { config, weights },
      {
        runtime: { intraOpThreads: c.threads, ...c.runtime },
        ...(c.vocabChunk === undefined ? {} : { head: { vocabChunk: c.vocabChunk } }),
        ...(c.recompute === true ? { recompute: true } : {}),
        training: { optimizer: { kind: "adamw" }, clipNorm: 1, optimizerOn: c.optimizerOn ?? "graph" }
      }
    )
    const setupMB = Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20)
    const rng = Rng.Rng.make(2, "batch")
    const n = c.rows * c.length
    const ids = Int32Array.from({ length: n + c.rows }, () => rng.int(config.vocabSize))
    const batch = {
      batch: c.rows,
      length: c.length,
      inputs: Int32Array.from({ length: n }, (_, i) => ids[i]!),
      targets: Int32Array.from({ length: n }, (_, i) => ids[i + 1]!),
      lossMask: new Float32Array(n).fill(1)
    }
    const ms: Array<number> = []
    const losses: Array<number> = []
    const reps = c.reps ?? 2
    for (let i = 0; i < 1 + reps; i++) {
      const t0 = performance.now()
      losses.push((yield* policy.sftStep(batch, { lr: 1e-4 })).loss)
      ms.push(performance.now() - t0)
    }
    const timed = ms.slice(1).toSorted((a, b) => a - b)
    const trainable = Lora.trainableNames(config)
    const trainableParams =
      c.lora === undefined
        ? ModelSize.memory(base, { batch: 1, seq: 1 }).parameters
        : Lora.adapted(config).reduce(
            (total, x) => total + x.a.shape[0] * x.a.shape[1] + x.b.shape[0] * x.b.shape[1],
            0
          )
    // AdamW state (m and v) as float32 elements, as the executor holds it after the steps.
    const moments = policy.executor.state
      .names()
      .filter((name) => name.includes("::"))
      .reduce((sum, name) => sum + (policy.executor.state.get(name)?.dims ?? []).reduce((a, b) => a * b, 1), 0)
    return {
      ...c,
      params: ModelSize.memory(base, { batch: 1, seq: 1 }).parameters,
      trainableParams,
      trainableTensors: c.lora === undefined ? Weights.spec(base).length : trainable.length,
      adamFloats: moments,
      setupMB,
      peakMB: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20),
      firstStepMs: Math.round(ms[0]!),
      stepMs: Math.round(timed[Math.floor(timed.length / 2)]!),
      stepsMs: ms.map(Math.round),
      losses
    }
  }).pipe(Effect.scoped)

const argOf = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}

if (process.argv.includes("--one")) {
  const c = JSON.parse(process.argv[process.argv.indexOf("--one") + 1]!) as Case
  process.stdout.write(JSON.stringify(await Effect.runPromise(measureOne(c))))
  process.exit(0)
}

if (process.argv.includes("--measure")) {
  const rows = argOf("--rows", 2)
  const length = argOf("--length", 256)
  const threads = argOf("--threads", 2)
  const rank = argOf("--lora", 0)
  const reps = argOf("--reps", 2)
  const named = process.argv.indexOf("--model")
  const first = named >= 0 ? process.argv[named + 1]! : "SmolLM2-135M"
  const layersArg = argOf("--layers", 0)
  const layers = layersArg > 0 ? { layers: layersArg } : {}
  const mode = process.argv.includes("--recompute")
    ? "recompute"
    : process.argv.includes("--runtime")
      ? "runtime"
      : process.argv.includes("--optimizer")
        ? "optimizer"
        : rank > 0
          ? "lora"
          : "head"
  let cases: Array<Case> = []
  for (const model of [first, ...(process.argv.includes("--qwen") ? ["Qwen2.5-0.5B"] : [])]) {
    const c0 = { model, rows, length, threads, reps, ...layers }
    if (mode === "recompute") {
      if (rank > 0)
        for (const recompute of [false, true]) cases.push({ ...c0, vocabChunk: 8192, lora: rank, recompute })
      else
        for (const vocabChunk of [undefined, 8192])
          for (const recompute of [false, true]) cases.push({ ...c0, vocabChunk, recompute })
    } else if (mode === "runtime") {
      for (const runtime of [
        {},
        { memPattern: true },
        { cpuMemArena: false },
        { cpuMemArena: false, memPattern: true },
        { gcAfterStateMB: 256 }
      ])
        cases.push({ ...c0, vocabChunk: 8192, ...(rank > 0 ? { lora: rank } : {}), runtime })
    } else if (mode === "optimizer") {
      for (const optimizerOn of ["graph", "host"] as const)
        cases.push({ ...c0, vocabChunk: 8192, ...(rank > 0 ? { lora: rank } : {}), optimizerOn })
    } else if (rank > 0) for (const lora of [undefined, rank]) cases.push({ ...c0, vocabChunk: 8192, lora })
    else for (const vocabChunk of [undefined, 8192]) cases.push({ ...c0, vocabChunk })
  }
  const onlyAt = process.argv.indexOf("--only")
  if (onlyAt >= 0) {
    const keep = new Set(process.argv[onlyAt + 1]!.split(",").map(Number))
    cases = cases.filter((_, i) => keep.has(i))
  }
  const casesAt = process.argv.indexOf("--cases")
  if (casesAt >= 0) cases = JSON.parse(process.argv[casesAt + 1]!) as Array<Case>
  const results = cases.map((c) => {
    const r = JSON.parse(
      execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, "--one", JSON.stringify(c)], {
        encoding: "utf8",
        maxBuffer: 1 << 20
      })
    )
    console.error(
      `${c.model}${c.layers === undefined ? "" : ` (${c.layers} layers)`} chunk ${c.vocabChunk ?? "none"} ${c.lora === undefined ? "full" : `LoRA r${c.lora}`}${c.recompute === true ? " recompute" : ""}${c.optimizerOn === "host" ? " host optimizer" : ""} ${JSON.stringify(c.runtime ?? {})}: setup ${r.setupMB} MB, peak ${r.peakMB} MB, steps ${r.stepsMs.join(", ")} ms, loss ${r.losses.map((l: number) => l.toFixed(4)).join(" ")}`
    )
    return r
  })
  const training = (r: Case) =>
    `${r.lora === undefined ? "full" : `LoRA r${r.lora} (all 7 projections)`}${r.optimizerOn === "host" ? ", optimizer on the host" : ""}`
  const runtimeOf = (r: Case) =>
    Object.entries(r.runtime ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ") || "defaults"
  console.log(
    `| model | tokens per micro-batch | LM head | training | recompute | runtime | trainable params | AdamW m + v (MB) | RSS after setup (MB) | peak RSS (MB) | step (s, median) | first step (s) | losses |`
  )
  console.log("| --- | ---: | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
  for (const r of results) {
    console.log(
      `| ${r.model}${r.layers === undefined ? "" : ` (${r.layers} layers)`} | ${r.rows} × ${r.length} | ${r.vocabChunk === undefined ? "full logits" : `chunks of ${r.vocabChunk}`} | ${training(r)} | ${r.recompute === true ? "every layer" : "off"} | ${runtimeOf(r)} | ${(r.trainableParams / 1e6).toFixed(2)}M | ${((r.adamFloats * 4) / 2 ** 20).toFixed(1)} | ${r.setupMB} | ${r.peakMB} | ${(r.stepMs / 1000).toFixed(1)} | ${(r.firstStepMs / 1000).toFixed(1)} | ${r.losses.map((l: number) => l.toFixed(4)).join(", ")} |`
    )
  }
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? "unknown",
    memGB: Math.round(totalmem() / 2 ** 30),
    node: process.version
  }
  const dir = join(import.meta.dirname, "results")
  mkdirSync(dir, { recursive: true })
  const file = {
    recompute: "memory-recompute.json",
    runtime: "memory-runtime.json",
    optimizer: "memory-optimizer.json",
    lora: "memory-lora.json",
    head: "memory-measured.json"
  }[mode]
  writeFileSync(join(dir, file), JSON.stringify({ machine, results }, null, 2))
  process.exit(0)
}

console.log(
  `| model | params | weights + grads + AdamW (GiB) | activations 8×${seq} (GiB) | KV cache ${genRows}×${seq} (GiB) | RL total, micro-batch 8, with reference (GiB) | largest micro-batch in 24 GB | in 80 GB |`
)
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for (const [name, config] of models) {
  const t = ModelSize.memory(config, { batch: 8, seq })
  const g = ModelSize.memory(config, { batch: genRows, seq })
  console.log(
    `| ${name} | ${(t.parameters / 1e6).toFixed(2)}M | ${gib(t.weights + t.gradients + t.adamState)} | ${gib(t.activations)} | ${gib(g.kvCache)} | ${gib(footprint(config, 8, true))} | ${largest(config, 24e9)} | ${largest(config, 80e9)} |`
  )
}
