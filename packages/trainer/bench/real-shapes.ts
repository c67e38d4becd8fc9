/**
 * SFT and RL through the trainer at a real model's shape with its real tokenizer (issue 14): random weights of
 * SmolLM2-135M's or Qwen2.5-0.5B's published shape (`packages/lm/bench/init-model.ts`, vocabulary = the tokenizer's),
 * synthetic parcel-fee problems (`support/parcelBench.ts`), then `Sft.train` for a few steps and `Rl.train` from its
 * checkpoint twice: prompts without routes and prompts with 3 MRPV-style routes. Per row: SFT tokens/s and step time,
 * RL step time split into rollout (batched KV-cache generation), scoring (verifier rewards) and update (the clipped
 * surrogate over prompt + completion), and the process's peak RSS after each phase (`peak_rss_mib` in metrics.jsonl).
 * Medians over the steps after the first. One case per process, so a case's peak is its own; a shell loop runs the
 * cases. The verifier adds a reward spread (`verifier(true)`): a random model earns no answer reward, and RL would
 * otherwise skip every update.
 *
 *   node --conditions=@realm-lm/source packages/trainer/bench/real-shapes.ts --model SmolLM2-135M
 *     [--tokenizer DIR] [--lora RANK] [--optimizer graph|host] [--threads T] [--sft-steps N] [--sft-batch N]
 *     [--rl-steps N] [--prompts P] [--group G] [--new-tokens T] [--micro-batch M] [--runtime JSON] [--keep DIR]
 *
 * `--runtime` adds trainer `runtime` keys (e.g. `'{"cpuMemArena":false}'`) to `intraOpThreads`.
 * `--tokenizer` defaults to GPT-2's for SmolLM2 (its own is not in the shared data; 50,257 ids instead of 49,152) and
 * Qwen2.5's for Qwen, under `REALM_DATA_DIR` (default ../shared/data). Writes JSON to bench/results/.
 */
import { NodeServices } from "@effect/platform-node"
import { Verifier } from "@realm-lm/core"
import { Effect, Layer } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import * as FixedCurriculum from "../src/FixedCurriculum.ts"
import * as Metrics from "../src/Metrics.ts"
import * as Rl from "../src/Rl.ts"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import { flags } from "./support/cli.ts"
import { loadAverage, writeResult } from "./support/results.ts"
import { verifier, writeCorpus } from "./support/parcelBench.ts"
import { initModel, tokenizerFor } from "./support/realShape.ts"
import { medianOf, rlColumns } from "./support/rlColumns.ts"

const { args, option, count, choice, rlBatch } = flags()
const model = option("model") ?? "SmolLM2-135M"
const tokenizer = tokenizerFor(model, option("tokenizer"))
const lora = option("lora") === undefined ? undefined : count("lora", 0)
const optimizer = choice("optimizer", ["graph", "host"])
const { prompts, group, newTokens, microBatch, threads } = rlBatch()
const sftSteps = count("sft-steps", 4)
const sftBatch = count("sft-batch", 8)
const rlSteps = count("rl-steps", 3)
const keep = option("keep")
const runtime = JSON.parse(option("runtime") ?? "{}") as Record<string, unknown>

const root = keep ?? mkdtempSync(join(tmpdir(), "realm-real-shapes-"))
mkdirSync(root, { recursive: true })
const init = initModel(model, tokenizer, join(root, "init"))

const common = {
  runtime: { intraOpThreads: threads, ...runtime },
  batching: { buckets: [64, 128, 256, 512], microBatch },
  generation: { maxPromptTokens: 448, maxNewTokens: newTokens },
  checkpoint: { every: 0, onnx: "never" as const },
  log: { tensorboard: false },
  memory: { optimizer },
  ...(lora === undefined
    ? {}
    : {
        lora: {
          rank: lora,
          alpha: 2 * lora,
          targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        }
      })
}

const program = Effect.gen(function* () {
  const { corpus } = writeCorpus(root, 200, 7)
  const loadAtStart = loadAverage()
  const linesOf = (dir: string) => Metrics.parse(readFileSync(join(dir, Metrics.metricsFile), "utf8"))
  const value = (line: Metrics.MetricsLine | undefined, key: string): number => Number(line?.[key] ?? Number.NaN)
  const sftDir = join(root, "sft")
  const sft = yield* Sft.train(
    { init, corpus, outDir: sftDir, resume: false },
    TrainerConfig.decodeSync({
      ...common,
      sft: { steps: sftSteps, batchSize: sftBatch, lr: { peak: 1e-4 }, heldOutFraction: 0 }
    })
  )
  const sftLines = linesOf(sftDir)
  const sftAfterFirst = sftLines.slice(1)
  const sftRow = {
    "SFT tokens/s": Math.round(medianOf(sftAfterFirst, "tokens_per_second")),
    "SFT step s": medianOf(sftAfterFirst, "time_update").toFixed(2),
    "SFT first step s": value(sftLines[0], "time_update").toFixed(2),
    "SFT peak RSS MiB": Math.round(value(sftLines.at(-1), "peak_rss_mib"))
  }
  const rows: Array<Record<string, string | number>> = []
  for (const [mode, curriculum] of [
    ["no routes", FixedCurriculum.never()],
    ["3 routes", FixedCurriculum.alwaysRoutes(3)]
  ] as const) {
    const out = join(root, `rl-${mode.replace(" ", "-")}`)
    yield* Rl.train(
      { init: sft.path, corpus, outDir: out, resume: false },
      TrainerConfig.decodeSync({ ...common, rl: { steps: rlSteps, batchSize: prompts * group, groupSize: group } })
    ).pipe(Effect.provide(FixedCurriculum.layer(curriculum)))
    const lines = linesOf(out)
    rows.push({
      model,
      training: lora === undefined ? `full, optimizer on the ${optimizer}` : `LoRA r${lora}`,
      ...sftRow,
      "RL prompts": `${prompts}×${group}, ${mode}`,
      ...rlColumns(lines.slice(1)),
      "RL first step s": (
        value(lines[0], "time_rollout") +
        value(lines[0], "time_scoring") +
        value(lines[0], "time_update")
      ).toFixed(2),
      "RL peak RSS MiB": Math.round(value(lines.at(-1), "peak_rss_mib"))
    })
  }
  const keys = Object.keys(rows[0]!)
  console.log(`load average: ${loadAtStart} at start, ${loadAverage()} at end`)
  console.log(`| ${keys.join(" | ")} |\n|${keys.map(() => "---").join("|")}|`)
  for (const r of rows) console.log(`| ${keys.map((k) => r[k]).join(" | ")} |`)
  writeResult(`real-shapes-${basename(model, ".json")}-${lora === undefined ? optimizer : `lora${lora}`}`, threads, {
    args,
    runtime,
    tokenizer,
    loadAtStart,
    loadAtEnd: loadAverage(),
    rows
  })
})

Effect.runPromise(
  program.pipe(Effect.provide(Layer.merge(NodeServices.layer, Layer.succeed(Verifier.Verifier, verifier(true)))))
)
  .then(() => {
    if (keep === undefined) rmSync(root, { recursive: true, force: true })
  })
  .catch((e: unknown) => {
    console.error(e)
    process.exit(1)
  })
