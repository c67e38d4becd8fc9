/**
 * `maxResponseBytes`: a teacher endpoint that streams a huge answer (no Content-Length) is read only up to the cap,
 * then the connection is dropped; one that declares a huge Content-Length is refused before reading. Either way the
 * request fails with reason `too-large` (not retried), the problem is recorded in `failures.jsonl`, and the build is
 * `failed`. The bound is checked on the bytes the server managed to send, not on RSS. A refused connection is
 * reported with its errno.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import type { Problem } from "@realm-lm/core"
import { Effect, Layer, Stream } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { Server, ServerResponse } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import * as Corpus from "../src/Corpus.ts"
import * as HttpTeacher from "../src/HttpTeacher.ts"
import type * as TeacherMetrics from "../src/TeacherMetrics.ts"
import { judgeLayer } from "./support.ts"

const MiB = 1024 * 1024
/** What the streaming endpoint would send in all: far more than the cap (1 MiB) and than socket buffers. */
const hugeBody = 512 * MiB

type Mode = "stream" | "declared"
let mode: Mode = "stream"
let requests = 0
/** Bytes the current response handed to the socket, and whether its connection was closed. */
let sent = 0
let closed = false
const isClosed = () => closed

const streamForever = (res: ServerResponse) => {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  res.writeHead(200, { "content-type": "application/json" }) // chunked: no Content-Length
  res.write('{"choices":[{"message":{"role":"assistant","content":"')
  const pump = () => {
    while (!isClosed() && sent < hugeBody) {
      sent += chunk.length
      if (!res.write(chunk)) return void res.once("drain", pump)
    }
    if (!isClosed()) res.end('"}}]}')
  }
  pump()
}

let server: Server
let baseUrl = ""
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      requests++
      sent = 0
      closed = false
      res.on("close", () => void (closed = true))
      res.on("error", () => undefined)
      if (mode === "stream") return streamForever(res)
      // A declared 300 MB body, of which only a little ever comes: the client must not wait for it.
      res.writeHead(200, { "content-type": "application/json", "content-length": String(300 * 1000 * 1000) })
      res.write("{")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  baseUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/v1`
})
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
)

const roots: Array<string> = []
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** A fresh run directory, removed after the tests. */
const freshRunDir = (): string => {
  const runDir = mkdtempSync(join(tmpdir(), "realm-cap-"))
  roots.push(runDir)
  return runDir
}

const problem: Problem.Problem = {
  id: "toy/1",
  domain: "toy",
  question: "Q1: what is 1 + 1?",
  rulebook: "Add.",
  gold: "2",
  answerType: "number",
  difficulty: 1,
  split: "train",
  metadata: {}
}

const build = (runDir: string, url = baseUrl) =>
  Effect.gen(function* () {
    const teacher = yield* HttpTeacher.decodeConfig({
      baseUrl: url,
      model: "m",
      maxResponseBytes: MiB,
      maxRetries: 3,
      initialBackoffMs: 1,
      maxBackoffMs: 2,
      timeoutMs: 20_000
    })
    const corpus = yield* Corpus.decodeConfig({
      runDir,
      routesPerProblem: 1,
      negativesPerProblem: 0,
      minPositives: 0,
      minNegatives: 0,
      balanceAttempts: 0
    })
    return yield* Corpus.build(corpus, { problems: Stream.make(problem) }).pipe(
      Effect.provide(Layer.mergeAll(HttpTeacher.layerFetch(teacher).pipe(Layer.provide(judgeLayer)), judgeLayer))
    )
  }).pipe(Effect.provide(NodeServices.layer))

const lines = <A>(path: string) =>
  readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as A)

/** Wait (real time, a few seconds at most) for the server to see the connection closed. */
const connectionClosed = Effect.promise(async () => {
  for (let i = 0; i < 100 && !isClosed(); i++) await new Promise((r) => setTimeout(r, 50))
  return isClosed()
})

/** Builds the corpus against the server answering in `serverMode`; the run directory, summary and time it took. */
const buildAgainst = (serverMode: typeof mode) =>
  Effect.gen(function* () {
    mode = serverMode
    requests = 0
    const runDir = freshRunDir()
    const started = Date.now()
    const summary = yield* build(runDir)
    return { runDir, summary, elapsedMs: Date.now() - started }
  })

describe("HttpTeacher maxResponseBytes", () => {
  it.live(
    "a streamed answer over the cap: the read stops at the cap, the request fails as too-large without retries",
    () =>
      Effect.gen(function* () {
        const { runDir, summary, elapsedMs } = yield* buildAgainst("stream")
        assert.isTrue(yield* connectionClosed, "the client dropped the connection")
        // The server got rid of a few MiB (cap + socket buffers), never the 512 MiB it meant to send.
        assert.isBelow(sent, 64 * MiB, `server sent ${sent} bytes`)
        assert.isBelow(elapsedMs, 15_000)
        assert.strictEqual(requests, 1) // not retried
        assert.strictEqual(summary.status, "failed")
        assert.deepStrictEqual(summary.failedByReason, { "too-large": 1 })
        const failures = lines<{ problemId: string; reason: string; detail: string }>(
          join(runDir, "corpus", "failures.jsonl")
        )
        assert.strictEqual(failures.length, 1)
        assert.strictEqual(failures[0]?.reason, "too-large")
        assert.match(
          failures[0]?.detail ?? "",
          /larger than maxResponseBytes \(1048576; stopped reading after \d+ bytes\): raise maxResponseBytes/
        )
        const events = lines<TeacherMetrics.TeacherEvent>(join(runDir, "corpus", "events.jsonl"))
        assert.deepStrictEqual(
          events.map((e) => `${e.type}:${e.reason}`),
          ["request-failed:too-large"]
        )
      })
  )

  it.live("a declared Content-Length over the cap is refused before reading the body", () =>
    Effect.gen(function* () {
      const { runDir, summary, elapsedMs } = yield* buildAgainst("declared")
      // Well inside timeoutMs (20 s): nothing waited for the 300 MB that never come.
      assert.isBelow(elapsedMs, 10_000)
      assert.isTrue(yield* connectionClosed, "the client dropped the connection")
      assert.strictEqual(requests, 1)
      assert.strictEqual(summary.status, "failed")
      const failures = lines<{ reason: string; detail: string }>(join(runDir, "corpus", "failures.jsonl"))
      assert.strictEqual(failures[0]?.reason, "too-large")
      assert.include(failures[0]?.detail ?? "", "Content-Length 300000000")
    })
  )

  it.live("a refused connection is reported with its errno, not as a bare transport error", () =>
    Effect.gen(function* () {
      const gone = createServer()
      yield* Effect.promise(() => new Promise<void>((resolve) => gone.listen(0, "127.0.0.1", resolve)))
      const address = gone.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      yield* Effect.promise(() => new Promise<void>((resolve) => gone.close(() => resolve())))
      const runDir = freshRunDir()
      const summary = yield* build(runDir, `http://127.0.0.1:${port}/v1`)
      assert.strictEqual(summary.status, "failed")
      const failures = lines<{ reason: string; detail: string }>(join(runDir, "corpus", "failures.jsonl"))
      assert.strictEqual(failures[0]?.reason, "unavailable")
      assert.match(failures[0]?.detail ?? "", /^transport error \(TransportError: ECONNREFUSED\) \(after 4 attempts\)$/)
    })
  )
})
