/**
 * What batching buys a served model: the same 32 chat requests (seeded sampling, up to 64 new tokens each, the
 * demo's full-size model shape at random init) sent one at a time and all at once through `realm serve`'s HTTP
 * server, as JSON and as streams, against the ceiling of one direct `policy.generate` of the same requests (the
 * same tokens), all in one process. The five workloads are interleaved over 5 repetitions after a warm-up; each
 * figure is the median, and the spread (min-max) is reported too.
 * Run: `node packages/server/bench/batching.ts [--quick]`; prints a table and writes bench/results/batching.json.
 */
import { NodeServices } from "@effect/platform-node"
import { Rng } from "@realm-lm/core"
import { Policy, PromptText } from "@realm-lm/lm"
import { Scratch } from "@realm-lm/trainer"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import * as Serve from "../src/Serve.ts"

const quick = process.argv.includes("--quick")
const requests = quick ? 8 : 32
const maxTokens = quick ? 16 : 64
const reps = quick ? 1 : 5
const questions = Array.from(
  { length: requests },
  (_, i) =>
    `A ${1 + (i % 9)} kg parcel goes ${10 * (1 + (i % 7))} km by ${i % 2 === 0 ? "road" : "air"}. What is the fee?`
)
const body = (i: number, stream: boolean) => ({
  model: "bench",
  messages: [{ role: "user", content: questions[i] }],
  temperature: 1,
  seed: i,
  max_tokens: maxTokens,
  ...(stream ? { stream, stream_options: { include_usage: true } } : {})
})

interface Sample {
  readonly seconds: number
  readonly tokens: number
}

const program = Effect.gen(function* () {
  const dir = mkdtempSync(join(tmpdir(), "realm-serve-bench-"))
  yield* Scratch.create(dir, questions, {
    vocabSize: 384,
    hiddenSize: 96,
    intermediateSize: 256,
    layers: 4,
    heads: 4,
    kvHeads: 2,
    maxContext: 768,
    seed: 1
  })
  const served = yield* Serve.serve(dir, { port: 0, modelName: "bench", batchWindowMs: 10, maxBatchRows: 64 })
  /** One request; its completion tokens from the usage (the last data event's, when streamed). */
  const call = async (i: number, stream: boolean): Promise<number> => {
    const res = await fetch(`${served.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body(i, stream))
    })
    const text = await res.text()
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text}`)
    const json = stream
      ? (
          text
            .split("\n\n")
            .filter((e) => e.startsWith("data: {"))
            .at(-1) ?? ""
        ).slice(6)
      : text
    return (JSON.parse(json) as { usage: { completion_tokens: number } }).usage.completion_tokens
  }
  const all = (stream: boolean) => Promise.all(Array.from({ length: requests }, (_, i) => call(i, stream)))
  const oneByOne = async (stream: boolean) => {
    let tokens = 0
    for (let i = 0; i < requests; i++) tokens += await call(i, stream)
    return tokens
  }
  const time = async (f: () => Promise<number | Array<number>>): Promise<Sample> => {
    const start = performance.now()
    const out = await f()
    return {
      seconds: (performance.now() - start) / 1000,
      tokens: Array.isArray(out) ? out.reduce((a, b) => a + b, 0) : out
    }
  }

  const policy = yield* Policy.load(dir)
  const tok = policy.tokenizer
  if (tok === undefined) return yield* Effect.die(new Error("no tokenizer"))
  const prompts = yield* Effect.forEach(questions, (q) =>
    PromptText.encodeMessages(tok, [{ role: "user", content: q }])
  )
  // The server's per-request streams, so the ceiling generates the same tokens.
  const direct = policy.generate(
    prompts.map((prompt, i) => ({
      prompt,
      rng: Rng.Rng.make(i, "chat"),
      sampling: { temperature: 1, topK: 0, topP: 1 }
    })),
    { maxNewTokens: maxTokens }
  )
  const ceiling = Effect.gen(function* () {
    const start = performance.now()
    const out = yield* direct
    return {
      seconds: (performance.now() - start) / 1000,
      tokens: out.reduce((s, g) => s + (g[0]?.tokens.length ?? 0), 0)
    }
  })

  // Warm-up: compiles the sessions of batch 1 and of the full batch on both paths.
  yield* Effect.promise(() => call(0, false))
  yield* Effect.promise(() => all(false))
  yield* direct
  const names = [
    "sequential, JSON",
    "sequential, streamed",
    `${requests} concurrent, JSON`,
    `${requests} concurrent, streamed`,
    "ceiling: one direct generate"
  ] as const
  const samples = names.map(() => [] as Array<Sample>)
  let batches = 0
  for (let r = 0; r < reps; r++) {
    samples[0]?.push(yield* Effect.promise(() => time(() => oneByOne(false))))
    samples[1]?.push(yield* Effect.promise(() => time(() => oneByOne(true))))
    const before = served.engine.stats().batches
    samples[2]?.push(yield* Effect.promise(() => time(() => all(false))))
    samples[3]?.push(yield* Effect.promise(() => time(() => all(true))))
    batches += served.engine.stats().batches - before
    samples[4]?.push(yield* ceiling)
  }
  const rate = (s: Sample) => s.tokens / s.seconds
  const rows = names.map((name, k) => {
    const rates = (samples[k] ?? []).map(rate).toSorted((a, b) => a - b)
    return {
      name,
      tokensPerSecond: rates[Math.floor(rates.length / 2)]!,
      min: rates[0]!,
      max: rates.at(-1) as number
    }
  })
  const [seqJson, seqStream, conJson, conStream, ceil] = rows as [
    (typeof rows)[0],
    (typeof rows)[0],
    (typeof rows)[0],
    (typeof rows)[0],
    (typeof rows)[0]
  ]
  const result = {
    machine: `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}`,
    node: process.version,
    requests,
    maxTokens,
    reps,
    rows,
    batchingSpeedup: {
      json: conJson.tokensPerSecond / seqJson.tokensPerSecond,
      streamed: conStream.tokensPerSecond / seqStream.tokensPerSecond
    },
    fractionOfCeiling: {
      json: conJson.tokensPerSecond / ceil.tokensPerSecond,
      streamed: conStream.tokensPerSecond / ceil.tokensPerSecond
    },
    batchesPerConcurrentRound: batches / (2 * reps)
  }
  console.log(
    `| workload (${requests} requests x up to ${maxTokens} tokens) | completion tokens/s, median | min-max |\n| --- | --- | --- |`
  )
  for (const r of rows)
    console.log(`| ${r.name} | ${r.tokensPerSecond.toFixed(0)} | ${r.min.toFixed(0)}-${r.max.toFixed(0)} |`)
  console.log(
    `\nbatching speed-up ${result.batchingSpeedup.json.toFixed(2)}x JSON, ${result.batchingSpeedup.streamed.toFixed(2)}x streamed; ` +
      `concurrent serving reaches ${(100 * result.fractionOfCeiling.json).toFixed(0)}% / ${(100 * result.fractionOfCeiling.streamed).toFixed(0)}% of the ceiling; ` +
      `${result.batchesPerConcurrentRound.toFixed(1)} generation batches per round of ${requests} concurrent requests`
  )
  const outDir = join(import.meta.dirname, "results")
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, "batching.json"), `${JSON.stringify(result, null, 2)}\n`)
}).pipe(Effect.scoped, Effect.provide(NodeServices.layer))

Effect.runPromise(program).catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
