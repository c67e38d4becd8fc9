/**
 * Peak memory and time of the LM head's forward + backward (token log-probs → masked mean loss → gradients of the
 * hidden states and the head weight) with the full `[tokens, vocab]` logits against `LmHead`'s vocabulary chunks,
 * at real vocabulary sizes. Each case runs in its own child process so its peak RSS (`maxRSS`) is its own.
 * Prints a table and writes JSON to bench/results/head.json.
 * Run: `node --conditions=@realm-lm/source bench/head.ts [--quick]` from packages/graph.
 */
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { join } from "node:path"
import { Autodiff, Executor, Graph, LmHead, Loss, Ops } from "../src/index.ts"

interface Case {
  readonly name: string
  readonly tokens: number
  readonly hidden: number
  readonly vocab: number
  readonly chunk: number | undefined
}

interface Result extends Case {
  readonly baseMB: number
  readonly peakMB: number
  readonly stepMs: number
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20)

/** One case, in this process: build, compile, run 3 steps, report peak RSS above the inputs and median step time. */
const runOne = (c: Case) =>
  Effect.gen(function* () {
    const rng = Rng.Rng.make(1, "head")
    const feeds = {
      h: Float32Array.from({ length: c.tokens * c.hidden }, () => rng.normal()),
      w: Float32Array.from({ length: c.vocab * c.hidden }, () => rng.normal() * 0.05),
      t: Int32Array.from({ length: c.tokens }, () => rng.int(c.vocab))
    }
    const g = Graph.make("head")
    const h = g.input("h", "float32", [c.tokens, c.hidden])
    const w = g.input("w", "float32", [c.vocab, c.hidden])
    const t = g.input("t", "int32", [c.tokens])
    const loss = Loss.maskedMean(Ops.neg(LmHead.tokenLogProbs(h, w, t, { vocabChunk: c.chunk })))
    const [dh, dw] = Autodiff.grad(loss, [h, w])
    g.output("loss", loss)
    g.output("dh", dh as Graph.Tensor)
    g.output("dw", dw as Graph.Tensor)
    const base = process.memoryUsage().rss
    const exec = yield* Executor.make({ device: "cpu", intraOpThreads: 1 })
    const session = yield* exec.compile(g)
    const ms: Array<number> = []
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      const out = yield* session.run(feeds)
      ms.push(performance.now() - t0)
      const lossValue = (out["loss"]?.data as Float32Array | undefined)?.[0]
      if (lossValue === undefined || !Number.isFinite(lossValue)) throw new Error("non-finite loss")
    }
    const peak = process.resourceUsage().maxRSS * 1024
    return {
      ...c,
      baseMB: mb(base),
      peakMB: mb(peak),
      stepMs: Math.round(ms.toSorted((a, b) => a - b)[1]!)
    } satisfies Result
  }).pipe(Effect.scoped)

const quick = process.argv.includes("--quick")
const oneArg = process.argv.indexOf("--one")
if (oneArg >= 0) {
  const c = JSON.parse(process.argv[oneArg + 1]!) as Case
  process.stdout.write(JSON.stringify(await Effect.runPromise(runOne(c))))
} else {
  const shapes = [
    {
      name: "SmolLM2-135M head",
      hidden: 576,
      vocab: 49_152,
      tokens: quick ? 256 : 512,
      chunks: [undefined, 8192, 4096]
    },
    ...(quick
      ? []
      : [{ name: "Qwen2.5-0.5B head", hidden: 896, vocab: 151_936, tokens: 512, chunks: [undefined, 16_384, 8192] }])
  ]
  const results: Array<Result> = []
  for (const s of shapes) {
    for (const chunk of s.chunks) {
      const c: Case = { name: s.name, tokens: s.tokens, hidden: s.hidden, vocab: s.vocab, chunk }
      const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, "--one", JSON.stringify(c)], {
        encoding: "utf8",
        maxBuffer: 1 << 20
      })
      const r = JSON.parse(out) as Result
      results.push(r)
      console.error(`${r.name} chunk ${r.chunk ?? "none"}: peak ${r.peakMB} MB, ${r.stepMs} ms`)
    }
  }
  console.log(`\n| head | tokens | vocab × hidden | vocab chunk | peak RSS (MB) | above inputs (MB) | step (ms) |`)
  console.log("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
  for (const r of results)
    console.log(
      `| ${r.name} | ${r.tokens} | ${r.vocab} × ${r.hidden} | ${r.chunk ?? "none (full logits)"} | ${r.peakMB} | ${r.peakMB - r.baseMB} | ${r.stepMs} |`
    )
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? "unknown",
    memGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    intraOpThreads: 1
  }
  const dir = join(import.meta.dirname, "results")
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, "head.json"), JSON.stringify({ machine, results }, null, 2))
}
