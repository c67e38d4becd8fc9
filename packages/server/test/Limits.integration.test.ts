/**
 * The server's limits under abuse, with a real tokenizer on loopback: eight ~1 MB prompts in flight do not stall
 * `/health` (the prompt-byte bound refuses them before encoding; without it this test sees medians of seconds), and
 * eight prompts just under the bound are all encoded while `/health` keeps answering (the pacing that guarantees
 * this is tested exactly in `Admission.test.ts`). /health is probed from a worker thread every 20 ms while the
 * prompts are in flight; the median latency counts, and a spoiled measurement is repeated, so a loaded machine does
 * not make the test flaky.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Scratch } from "@realm-lm/trainer"
import { Effect } from "effect"
import { rmSync } from "node:fs"
import { Worker } from "node:worker_threads"
import * as Serve from "../src/Serve.ts"
import { modelShape, tempDir } from "./support.ts"

/** An untrained model: only its tokenizer matters here. */
const scratchModel = Effect.gen(function* () {
  const dir = tempDir("realm-serve-limits-")
  yield* Scratch.create(dir, ["many words here and there", "what is 1 + 1?"], modelShape)
  yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
  return dir
})

const median = (xs: ReadonlyArray<number>): number => xs[Math.floor(xs.length / 2)]!

/** Median, max and count of latencies, for messages. */
const summary = (xs: ReadonlyArray<number>): string =>
  `median ${median(xs).toFixed(1)} ms, max ${(xs.at(-1) ?? 0).toFixed(1)} ms over ${xs.length} probes`

interface Load {
  /** The chat responses: status and body text. */
  readonly responses: ReadonlyArray<{ readonly status: number; readonly body: string }>
  /** /health latencies in ms, sorted. */
  readonly health: ReadonlyArray<number>
}

/**
 * The client side runs in a worker thread, so the server has this thread's event loop to itself (a client here
 * could not even send a probe while the server is stalled, and its own writes would load the loop it measures).
 * After a warm-up probe it POSTs `copies` of `body` at once, each on its own connection, and probes `GET /health`
 * every 20 ms from then until all are answered (and for at least 200 ms).
 */
const loadOnce = (baseUrl: string, body: string, copies: number): Promise<Load> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(
      `
      const { parentPort, workerData: { baseUrl, body, copies } } = require("node:worker_threads")
      const { request } = require("node:http")
      const post = () => new Promise((resolve, reject) => {
        const req = request(baseUrl + "/chat/completions", { method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
          const chunks = []
          res.on("data", (c) => chunks.push(c))
          res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }))
        })
        req.on("error", reject)
        req.end(body)
      })
      const root = baseUrl.replace(/\\/v1$/, "")
      const probe = () => {
        const start = performance.now()
        return fetch(root + "/health").then((r) => r.json()).then(() => performance.now() - start, () => Infinity)
      }
      const run = async () => {
        await probe()
        const times = [], probes = []
        const timer = setInterval(() => probes.push(probe().then((t) => times.push(t))), 20)
        const started = performance.now()
        const responses = await Promise.all(Array.from({ length: copies }, post))
        await new Promise((r) => setTimeout(r, Math.max(0, 200 - (performance.now() - started))))
        clearInterval(timer)
        await Promise.all(probes)
        parentPort.postMessage({ responses, health: times.sort((a, b) => a - b) })
      }
      run().catch((e) => parentPort.postMessage({ error: String(e) }))
    `,
      { eval: true, workerData: { baseUrl, body, copies } }
    )
    worker.once("message", (m: Load | { error: string }) => {
      void worker.terminate()
      if ("error" in m) reject(new Error(m.error))
      else resolve(m)
    })
    worker.once("error", reject)
  })

/**
 * `loadOnce`, repeated (up to three times in all) while the median /health latency is 200 ms or more: a burst of
 * other work on a loaded machine can spoil one measurement, while a server that stalls stalls every time.
 */
const underLoad = async (baseUrl: string, body: string): Promise<Load> => {
  let load = await loadOnce(baseUrl, body, 8)
  for (let attempt = 1; attempt < 3 && median(load.health) >= 200; attempt++) {
    console.log(`/health median ${median(load.health).toFixed(1)} ms on attempt ${attempt}; measuring again`)
    load = await loadOnce(baseUrl, body, 8)
  }
  return load
}

const chatBody = (content: string) =>
  JSON.stringify({ model: "scratch", messages: [{ role: "user", content }], max_tokens: 4 })

const errorOf = (r: { body: string }) => (JSON.parse(r.body) as { error: { code: string; message: string } }).error

/**
 * Serves the scratch model, sends eight chats of "many words " repeated `repeats` times (`size` names them in the log),
 * and checks that /health's median latency stays under 200 ms while they are in flight. Returns the chat responses
 * and the server's engine.
 */
const healthUnder = (size: string, repeats: number) =>
  Effect.gen(function* () {
    const served = yield* Serve.serve(yield* scratchModel, { port: 0, modelName: "scratch" })
    const load = yield* Effect.promise(() => underLoad(served.baseUrl, chatBody("many words ".repeat(repeats))))
    console.log(`/health under eight ${size} prompts: ${summary(load.health)}`)
    assert.isBelow(median(load.health), 200, summary(load.health))
    return { responses: load.responses, engine: served.engine }
  })

describe("realm serve under large prompts", () => {
  it.live(
    "eight ~1 MB prompts in flight: /health answers within 200 ms and each prompt gets 413 naming maxPromptBytes",
    () =>
      Effect.gen(function* () {
        // ~1 MB each, inside the default maxBodyBytes.
        const { responses, engine } = yield* healthUnder("~1 MB", 90_000)
        for (const r of responses) {
          assert.strictEqual(r.status, 413)
          assert.strictEqual(errorOf(r).code, "prompt_too_large")
          assert.match(errorOf(r).message, /maxPromptBytes/)
        }
        assert.strictEqual(engine.pending(), 0)
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.live(
    "eight prompts just under the byte bound are encoded (and refused for the context) while /health keeps answering within 200 ms",
    () =>
      Effect.gen(function* () {
        // ~64 KB each, just under the default maxPromptBytes: encoded, then refused for the model's 512-token context.
        const { responses } = yield* healthUnder("~64 KB", 5_900)
        for (const r of responses) assert.strictEqual(errorOf(r).code, "context_length_exceeded")
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})
