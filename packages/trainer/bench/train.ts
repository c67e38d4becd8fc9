/**
 * Trainer throughput on the CPU for two from-scratch model sizes, on synthetic parcel-fee texts shaped like the
 * built-in domain (short questions, 3-6 step routes): SFT tokens/s, then RL step time split into rollout
 * (generation), scoring (verifier + log-prob passes) and update, with route-less prompts and with 3-route
 * MRPV-style prompts. Prints a table and writes JSON to bench/results/.
 *
 *   node packages/trainer/bench/train.ts [--quick] [--threads N]
 */
import { NodeServices } from "@effect/platform-node"
import { Verifier } from "@realm-lm/core"
import { Effect, Layer } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import * as FixedCurriculum from "../src/FixedCurriculum.ts"
import * as Metrics from "../src/Metrics.ts"
import * as Rl from "../src/Rl.ts"
import * as Scratch from "../src/Scratch.ts"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import { verifier, writeCorpus } from "./support/parcelBench.ts"
import { medianOf, rlColumns } from "./support/rlColumns.ts"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const threads = Number(args[args.indexOf("--threads") + 1] ?? 0) || 2

const sizes = [
  { name: "S", hiddenSize: 96, intermediateSize: 256, layers: 4, heads: 4, kvHeads: 2 },
  { name: "M", hiddenSize: 192, intermediateSize: 512, layers: 4, heads: 6, kvHeads: 2 }
]

const program = Effect.gen(function* () {
  const root = mkdtempSync(join(tmpdir(), "realm-trainer-bench-"))
  const { corpus, texts } = writeCorpus(root, 400, 7)
  const common = {
    runtime: { intraOpThreads: threads },
    batching: { buckets: [64, 96, 128, 192, 256, 384, 512], microBatch: 16 },
    generation: { maxPromptTokens: 384, maxNewTokens: 128 },
    checkpoint: { every: 0, onnx: "never" as const },
    log: { tensorboard: false }
  }
  const rows: Array<Record<string, string | number>> = []
  const load = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  console.error(`load average at start: ${load()}`)
  for (const size of sizes) {
    const dir = join(root, size.name)
    const created = yield* Scratch.create(join(dir, "init"), texts, { ...size, maxContext: 512 })
    const sftSteps = quick ? 20 : 100
    const sftConfig = TrainerConfig.decodeSync({
      ...common,
      sft: { steps: sftSteps, batchSize: 32, lr: { peak: 3e-3, warmupSteps: 5 }, heldOutFraction: 0 }
    })
    const sft = yield* Sft.train(
      { init: join(dir, "init"), corpus, outDir: join(dir, "sft"), resume: false },
      sftConfig
    )
    const sftLog = Metrics.parse(readFileSync(join(dir, "sft", Metrics.metricsFile), "utf8")).slice(3)
    const sftRow = {
      model: `${size.name}: d${size.hiddenSize}, ${size.layers} layers, ffn ${size.intermediateSize}, vocab ${created.config.vocabSize}`,
      params: `${(created.parameters / 1e6).toFixed(2)}M`,
      "SFT tokens/s": Math.round(medianOf(sftLog, "tokens_per_second")),
      "SFT step s (32 ex)": medianOf(sftLog, "time_update").toFixed(2),
      "SFT padding": medianOf(sftLog, "padding_fraction").toFixed(2)
    }
    for (const [mode, curriculum] of [
      ["no routes", FixedCurriculum.never()],
      ["3 routes", FixedCurriculum.alwaysRoutes(3)]
    ] as const) {
      const rlSteps = quick ? 3 : 6
      const rlConfig = TrainerConfig.decodeSync({ ...common, rl: { steps: rlSteps, batchSize: 64, groupSize: 8 } })
      const out = join(dir, `rl-${mode.replace(" ", "-")}`)
      yield* Rl.train({ init: sft.path, corpus, outDir: out, resume: false }, rlConfig).pipe(
        Effect.provide(FixedCurriculum.layer(curriculum))
      )
      const log = Metrics.parse(readFileSync(join(out, Metrics.metricsFile), "utf8")).slice(1)
      rows.push({ ...sftRow, "RL prompts": `8×8, ${mode}`, ...rlColumns(log) })
    }
  }
  console.error(`load average at end: ${load()}`)
  const keys = Object.keys(rows[0]!)
  console.log(`| ${keys.join(" | ")} |\n|${keys.map(() => "---").join("|")}|`)
  for (const r of rows) console.log(`| ${keys.map((k) => r[k]).join(" | ")} |`)
  const results = join(import.meta.dirname, "results")
  mkdirSync(results, { recursive: true })
  writeFileSync(
    join(results, `train-${Date.now()}.json`),
    JSON.stringify(
      { machine: { cpus: cpus().map((c) => c.model)[0], count: cpus().length, threads }, node: process.version, rows },
      null,
      2
    )
  )
})

Effect.runPromise(
  program.pipe(Effect.provide(Layer.merge(NodeServices.layer, Layer.succeed(Verifier.Verifier, verifier(false)))))
).catch((e) => {
  console.error(e)
  process.exit(1)
})
