/**
 * What batching buys a served model: the same 32 chat requests (seeded sampling, 64 new tokens each, the demo's
 * full-size model shape at random init) sent one at a time and all at once through `realm serve`'s HTTP server,
 * against the ceiling of one direct `policy.generate` batch of the same requests in the same run. Reports
 * completion tokens/s of each and the ratios: concurrent/sequential (what batching buys) and
 * concurrent/ceiling (what HTTP, parsing, batching windows and streaming cost).
 * Each figure is the median of 5 repetitions after a warm-up.
 * Run: `node packages/server/bench/batching.ts [--quick] [--stream]`; prints a table and writes
 * bench/results/batching.json.
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
const stream = process.argv.includes("--stream")
const requests = quick ? 8 : 32
const maxTokens = quick ? 16 : 64
const questions = Array.from({ length: requests }, (_, i) => `A ${1 + (i % 9)} kg parcel goes ${10 * (1 + (i % 7))} km by ${i % 2 === 0 ? "road" : "air"}. What is the fee?`)
const body = (i: number) => ({
  model: "bench", messages: [{ role: "user", content: questions[i] }], temperature: 1, seed: i, max_tokens: maxTokens,
  ...(stream ? { stream, stream_options: { include_usage: true } } : {})
})

const reps = quick ? 1 : 5

/** The median-time run of `reps` repetitions. */
const timed = async <A>(f: () => Promise<A>) => {
  const runs: Array<{ value: A; seconds: number }> = []
  for (let r = 0; r < reps; r++) {
    const start = performance.now()
    const value = await f()
    runs.push({ value, seconds: (performance.now() - start) / 1000 })
  }
  return runs.toSorted((a, b) => a.seconds - b.seconds)[Math.floor(reps / 2)] as { value: A; seconds: number }
}

const program = Effect.gen(function*() {
  const dir = mkdtempSync(join(tmpdir(), "realm-serve-bench-"))
  yield* Scratch.create(dir, questions, { vocabSize: 384, hiddenSize: 96, intermediateSize: 256, layers: 4, heads: 4, kvHeads: 2, maxContext: 768, seed: 1 })
  const served = yield* Serve.serve(dir, { port: 0, modelName: "bench", batchWindowMs: 10, maxBatchRows: 64 })
  const call = async (i: number) => {
    const res = await fetch(`${served.baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body(i)) })
    const text = await res.text()
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text}`)
    return text
  }
  /** Completion tokens of a response body: its usage (the last data event's, when streamed). */
  const usageOf = (text: string): number => {
    const json = stream ? (text.split("\n\n").filter((e) => e.startsWith("data: {")).at(-1) ?? "").slice(6) : text
    return (JSON.parse(json) as { usage: { completion_tokens: number } }).usage.completion_tokens
  }
  const completionTokens = (texts: ReadonlyArray<string>) => texts.reduce((s, t) => s + usageOf(t), 0)
  yield* Effect.promise(() => call(0)) // warm-up: compiles the sessions of batch 1
  yield* Effect.promise(() => Promise.all(Array.from({ length: requests }, (_, i) => call(i)))) // and of the full batch
  const sequential = yield* Effect.promise(() => timed(async () => {
    const out: Array<string> = []
    for (let i = 0; i < requests; i++) out.push(await call(i))
    return out
  }))
  const before = served.engine.stats()
  const concurrent = yield* Effect.promise(() => timed(() => Promise.all(Array.from({ length: requests }, (_, i) => call(i)))))
  const after = served.engine.stats()
  const batchesPerRound = (after.batches - before.batches) / reps
  // Ceiling: one direct generate of the same prompts with the server's per-request streams (the same tokens), no HTTP.
  const ceiling = yield* Effect.scoped(Effect.gen(function*() {
    const policy = yield* Policy.load(dir)
    const tok = policy.tokenizer
    if (tok === undefined) return yield* Effect.die(new Error("no tokenizer"))
    const prompts = yield* Effect.forEach(questions, (q) => PromptText.encodeMessages(tok, [{ role: "user", content: q }]))
    const run = () => policy.generate(prompts.map((prompt, i) => ({ prompt, rng: Rng.Rng.make(i, "chat"), sampling: { temperature: 1, topK: 0, topP: 1 } })), { maxNewTokens: maxTokens })
    yield* run()
    const times: Array<number> = []
    let tokens = 0
    for (let r = 0; r < reps; r++) {
      const start = performance.now()
      const out = yield* run()
      times.push((performance.now() - start) / 1000)
      tokens = out.reduce((s, g) => s + (g[0]?.tokens.length ?? 0), 0)
    }
    return { seconds: times.toSorted((a, b) => a - b)[Math.floor(reps / 2)] as number, tokens }
  }))
  const row = (name: string, seconds: number, tokens: number) => ({ name, seconds, tokens, tokensPerSecond: tokens / seconds })
  const rows = [
    row("sequential (HTTP, one at a time)", sequential.seconds, completionTokens(sequential.value)),
    row(`concurrent (HTTP, ${requests} at once)`, concurrent.seconds, completionTokens(concurrent.value)),
    row("ceiling (one direct policy.generate)", ceiling.seconds, ceiling.tokens)
  ]
  const [seq, con, ceil] = rows as [typeof rows[0], typeof rows[0], typeof rows[0]]
  const result = {
    machine: `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}`,
    node: process.version,
    requests,
    maxTokens,
    stream,
    rows,
    batchingSpeedup: con.tokensPerSecond / seq.tokensPerSecond,
    servedFractionOfCeiling: con.tokensPerSecond / ceil.tokensPerSecond,
    largestBatch: after.largestBatch,
    batchesPerRound
  }
  console.log(`| workload (${requests} requests x ${maxTokens} tokens${stream ? ", streamed" : ""}) | seconds | completion tokens/s |\n| --- | --- | --- |`)
  for (const r of rows) console.log(`| ${r.name} | ${r.seconds.toFixed(2)} | ${r.tokensPerSecond.toFixed(0)} |`)
  console.log(`\nbatching speed-up ${result.batchingSpeedup.toFixed(2)}x; concurrent serving reaches ${(100 * result.servedFractionOfCeiling).toFixed(0)}% of the direct-generate ceiling; ${batchesPerRound.toFixed(1)} generation batches per round of ${requests} concurrent requests`)
  const outDir = join(import.meta.dirname, "results")
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, `batching${stream ? "-stream" : ""}.json`), `${JSON.stringify(result, null, 2)}\n`)
}).pipe(Effect.scoped, Effect.provide(NodeServices.layer))

Effect.runPromise(program).catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
