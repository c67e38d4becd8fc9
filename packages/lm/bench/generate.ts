/**
 * Generation throughput of the engine against transformers.js on the same exported model, in the same run:
 * prefill and decode tokens/s at batch 1 and 32 (plus 64/128 for the engine alone) for stories260K (real weights
 * when ../shared/data is present, else its shape at random) and a ~25M-parameter random-init model.
 * Method, identical for both: prefill = batch·prompt / time(generate 1 token); decode = batch·(N−1) /
 * (time(generate N) − time(generate 1)), medians of repetitions interleaved between the engines after a warm-up,
 * greedy, no early stop (the export has no EOS).
 * Run: `node packages/lm/bench/generate.ts [--quick] [--batches=1,32] [--model=stories|25M]`; prints a table and
 * writes bench/results/generate.json.
 */
import { NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import { Executor } from "@realm-lm/graph"
import * as Export from "../src/Export.ts"
import * as Generator from "../src/Generator.ts"
import * as Llama2c from "../src/Llama2c.ts"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as ModelSize from "../src/ModelSize.ts"
import * as Weights from "../src/Weights.ts"
import { offline } from "../src/internal/transformers.ts"
import { stories260KHeader } from "../test/support.ts"

const quick = process.argv.includes("--quick")
const promptLength = 64
const newTokens = quick ? 32 : 128
const reps = quick ? 1 : 5
const batchArg = process.argv.find((a) => a.startsWith("--batches="))
const batches = batchArg === undefined ? [1, 32, 64, 128] : batchArg.slice(10).split(",").map(Number)
const only = process.argv.find((a) => a.startsWith("--model="))?.slice(8)

const base = {
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  qkvBias: false,
  oBias: false,
  bosTokenId: 1,
  eosTokenIds: [],
  padTokenId: null
} as const
const small25M = ModelConfig.make({
  ...base,
  architecture: "LlamaForCausalLM",
  vocabSize: 2048,
  hiddenSize: 512,
  intermediateSize: 1408,
  numLayers: 8,
  numHeads: 8,
  numKvHeads: 4,
  headDim: 64,
  maxContext: 512,
  tieWordEmbeddings: true
})

const median = (xs: ReadonlyArray<number>) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!
const promptsFor = (batch: number, vocab: number) => {
  const rng = Rng.Rng.make("bench-prompts", batch)
  return Array.from({ length: batch }, () => [
    1,
    ...Array.from({ length: promptLength - 1 }, () => 3 + rng.int(vocab - 3))
  ])
}

interface Row {
  readonly model: string
  readonly parameters: number
  readonly engine: string
  readonly batch: number
  readonly prefillTokPerS: number
  readonly decodeTokPerS: number
}

/** Runners of one engine: generate `n` new tokens for `batch` prompts. */
type Runner = (batch: number, n: number) => Promise<unknown>

/**
 * Time engines with interleaved repetitions (so load from other processes hits them alike): per repetition each
 * engine generates 1 and N tokens; prefill and decode rates come from the medians.
 */
const compare = async (engines: ReadonlyArray<readonly [string, Runner]>, batch: number) => {
  for (const [, run] of engines) await run(batch, 2) // warm-up: compiles sessions
  const t1: Array<Array<number>> = engines.map(() => [])
  const tn: Array<Array<number>> = engines.map(() => [])
  for (let r = 0; r < reps; r++) {
    for (const [i, [, run]] of engines.entries()) {
      for (const [n, into] of [
        [1, t1],
        [newTokens, tn]
      ] as const) {
        const t0 = performance.now()
        await run(batch, n)
        into[i]?.push(performance.now() - t0)
      }
    }
  }
  return engines.map(([engine], i) => {
    const a = median(t1[i]!)
    const b = median(tn[i]!)
    return {
      engine,
      batch,
      prefillTokPerS: (batch * promptLength) / (a / 1000),
      decodeTokPerS: (batch * (newTokens - 1)) / ((b - a) / 1000)
    }
  })
}

const measure = (name: string, config: ModelConfig.ModelConfig, weights: Weights.Weights) =>
  Effect.gen(function* () {
    const parameters = ModelSize.parameterCount(config)
    const dir = mkdtempSync(join(tmpdir(), "lm-bench-"))
    yield* Export.save(dir, { ...config, eosTokenIds: [] }, weights)
    const exec = yield* Executor.make({ device: "cpu" })
    for (const [n, t] of weights) exec.state.setData(n, t.data, t.shape)
    const gen = yield* Generator.make(exec, config)
    const ours: Runner = (batch, n) =>
      Effect.runPromise(
        gen.generate(
          promptsFor(batch, config.vocabSize).map((prompt) => ({ prompt })),
          { maxNewTokens: n, stopTokens: [] }
        )
      )
    const t = yield* Effect.promise(() => offline())
    const model = yield* Effect.promise(() =>
      t.AutoModelForCausalLM.from_pretrained(dir, { local_files_only: true, dtype: "fp32", device: "cpu" })
    )
    const theirs: Runner = (batch, n) => {
      const ids = new t.Tensor("int64", BigInt64Array.from(promptsFor(batch, config.vocabSize).flat(), BigInt), [
        batch,
        promptLength
      ])
      const mask = new t.Tensor("int64", new BigInt64Array(batch * promptLength).fill(1n), [batch, promptLength])
      return model.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: n, do_sample: false } as never)
    }
    const rows: Array<Row> = []
    for (const batch of batches) {
      const engines: ReadonlyArray<readonly [string, Runner]> =
        batch <= 32
          ? [
              ["@realm-lm/lm", ours],
              ["transformers.js 4.3.1", theirs]
            ]
          : [["@realm-lm/lm", ours]]
      for (const r of yield* Effect.promise(() => compare(engines, batch))) {
        rows.push({ model: name, parameters, ...r })
        console.log(JSON.stringify(rows.at(-1)))
      }
    }
    yield* Effect.promise(() => model.dispose())
    return rows
  }).pipe(Effect.scoped)

const program = Effect.gen(function* () {
  const storiesFile = SharedData.sharedDataFile("stories260K", "stories260K.bin")
  const stories =
    storiesFile !== undefined
      ? yield* Llama2c.read(storiesFile)
      : yield* Effect.map(Llama2c.configOf(stories260KHeader), (config) => ({
          config,
          weights: Weights.init(config, Rng.Rng.make("bench"))
        }))
  const big = yield* small25M
  const rows = [
    ...(only === "25M"
      ? []
      : yield* measure(
          storiesFile !== undefined ? "stories260K" : "stories260K-shaped (random)",
          stories.config,
          stories.weights
        )),
    ...(only === "stories"
      ? []
      : yield* measure(
          "25M random-init (d512 L8 GQA 8/4 vocab 2048)",
          big,
          Weights.init(big, Rng.Rng.make("bench-25M"))
        ))
  ]
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US")
  console.log(
    `\n${cpus()[0]?.model} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; prompt ${promptLength}, ${newTokens} new tokens, greedy\n`
  )
  console.log("| model | engine | batch | prefill tok/s | decode tok/s |\n| --- | --- | ---: | ---: | ---: |")
  for (const r of rows)
    console.log(`| ${r.model} | ${r.engine} | ${r.batch} | ${fmt(r.prefillTokPerS)} | ${fmt(r.decodeTokPerS)} |`)
  const out = join(import.meta.dirname, "results")
  mkdirSync(out, { recursive: true })
  writeFileSync(
    join(out, "generate.json"),
    `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, promptLength, newTokens, rows }, null, 2)}\n`
  )
})

await Effect.runPromise(Effect.provide(program, NodeServices.layer))
