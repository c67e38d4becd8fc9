import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { Problems } from "@realm-lm/test-support"
import { Teacher } from "@realm-lm/core"
import type { CorpusRecord, Problem } from "@realm-lm/core"
import { Cause, ConfigProvider, Effect, Layer, Logger, Stream } from "effect"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import * as Corpus from "../src/Corpus.ts"
import * as HttpTeacher from "../src/HttpTeacher.ts"
import type * as TeacherMetrics from "../src/TeacherMetrics.ts"
import { judgeLayer } from "./support.ts"

const SECRET = "sk-test-5f3c9a1b7e2d4c6a8b0e1f2a3b4c5d6e"

/** Faults per problem index, served to its first requests in arrival order; then good answers. */
const faults: Record<number, ReadonlyArray<"429" | "500" | "slow" | "truncated" | "empty" | "400">> = {
  1: ["429"],
  2: ["500", "500"],
  3: ["slow"],
  4: ["truncated"],
  5: ["empty"],
  6: ["500", "500", "500", "500", "500", "500", "500", "500", "500", "500", "500", "500"],
  7: ["400", "400", "400"]
}

let server: Server
let baseUrl = ""
let healthy = false
const requests = new Map<number, number>()
const authHeaders = new Set<string>()

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ""
    req.on("data", (chunk) => (body += chunk))
    req.on("end", () => {
      authHeaders.add(req.headers.authorization ?? "")
      const parsed = JSON.parse(body) as {
        messages: Array<{ role: string; content: string }>
        seed: number
        n?: number
      }
      const question = parsed.messages.find((m) => m.role === "user")?.content ?? ""
      const i = Number(/Q(\d+):/.exec(question)?.[1])
      const count = requests.get(i) ?? 0
      requests.set(i, count + 1)
      const fault = healthy ? undefined : faults[i]?.[count]
      const answer = 2 * i + (parsed.seed % 3 === 0 ? 1 : 0)
      const good = JSON.stringify({
        choices: Array.from({ length: parsed.n ?? 1 }, () => ({
          message: {
            role: "assistant",
            content: `Step 1: draft ${parsed.seed}\nStep 2: ${i} + ${i} = ${answer}\nAnswer: ${answer}`
          }
        })),
        usage: { prompt_tokens: 10, completion_tokens: 5 }
      })
      res.on("error", () => undefined)
      switch (fault) {
        case "429":
          res.writeHead(429, { "retry-after": "0.03" }).end("slow down")
          return
        case "500":
          res.writeHead(500).end("boom")
          return
        case "400":
          res.writeHead(400).end("bad request")
          return
        case "slow":
          setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(good), 2000)
          return
        case "truncated":
          res.writeHead(200, { "content-type": "application/json" }).end(good.slice(0, 40))
          return
        case "empty":
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [] }))
          return
        default:
          res.writeHead(200, { "content-type": "application/json" }).end(good)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  baseUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/v1`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const roots: Array<string> = []
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })))

const problems: Array<Problem.Problem> = Problems.toyProblems(12)

const teacherConfig = (extra: Record<string, unknown> = {}) =>
  Effect.runSync(
    HttpTeacher.decodeConfig({
      baseUrl,
      model: "fake-model",
      apiKeyEnv: "REALM_TEST_API_KEY",
      maxRetries: 3,
      initialBackoffMs: 5,
      maxBackoffMs: 20,
      timeoutMs: 500,
      concurrency: 3,
      ...extra
    })
  )

const build = (runDir: string, config: HttpTeacher.HttpTeacherConfig, logs: Array<string>) =>
  Effect.gen(function* () {
    const corpusConfig = yield* Corpus.decodeConfig({
      runDir,
      routesPerProblem: 3,
      negativesPerProblem: 0,
      minPositives: 0,
      minNegatives: 0,
      balanceAttempts: 0,
      concurrency: 4,
      dedupThreshold: 1
    })
    return yield* Corpus.build(corpusConfig, {
      problems: Stream.fromIterable(problems),
      total: problems.length,
      teacherConfig: HttpTeacher.describe(config),
      teacherSettings: HttpTeacher.settings(config)
    })
  }).pipe(
    Effect.provide(
      Layer.mergeAll(HttpTeacher.layerFetch(config).pipe(Layer.provide(judgeLayer)), judgeLayer, NodeServices.layer)
    ),
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ REALM_TEST_API_KEY: SECRET }))),
    Effect.provide(
      Logger.layer([Logger.make((o) => void logs.push(`${JSON.stringify(o.message)} ${Cause.pretty(o.cause)}`))])
    )
  )

const readRecords = (runDir: string) =>
  readFileSync(join(runDir, "corpus", "corpus.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as CorpusRecord.CorpusRecord)

const everyFile = (dir: string): string =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), "utf8"))
    .join("\n")

describe("HttpTeacher against a faulty OpenAI-compatible server on loopback", () => {
  it.live(
    "loses and duplicates no problem, bounds retries, honours Retry-After, records malformed responses, never leaks the key",
    () =>
      Effect.gen(function* () {
        const runDir = mkdtempSync(join(tmpdir(), "realm-http-"))
        roots.push(runDir)
        const logs: Array<string> = []
        const summary = yield* build(runDir, teacherConfig(), logs)
        // Problems 6 (500 forever) and 7 (400, not retryable) fail; the rest are in the corpus exactly once.
        const records = readRecords(runDir)
        assert.deepStrictEqual(
          records.map((r) => r.problem.id).toSorted(),
          problems
            .filter((_, i) => i !== 6 && i !== 7)
            .map((p) => p.id)
            .toSorted()
        )
        assert.strictEqual(summary.failed, 2)
        assert.strictEqual(summary.status, "failed") // failed problems fail the build (maxFailedFraction 0)
        const failures = readFileSync(join(runDir, "corpus", "failures.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { problemId: string; reason: string })
        assert.deepStrictEqual(failures.map((f) => `${f.problemId}:${f.reason}`).toSorted(), [
          "toy/6:server",
          "toy/7:unavailable"
        ])
        // Retries are bounded: 3 requests per problem, each at most 1 + maxRetries attempts; 400 is not retried.
        assert.strictEqual(requests.get(6), 3 * 4)
        assert.strictEqual(requests.get(7), 3)
        for (const [i, n] of [
          [0, 3],
          [1, 4],
          [2, 5],
          [3, 4],
          [4, 4],
          [5, 4]
        ] as const)
          assert.strictEqual(requests.get(i), n, `problem ${i}`)
        // Labels follow the answers the server gave; every kept route came back whole.
        for (const r of records) {
          assert.strictEqual(r.routes.length, 3)
          for (const route of r.routes) assert.strictEqual(route.label === "positive", route.answer === r.problem.gold)
        }
        const events = readFileSync(join(runDir, "corpus", "events.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as TeacherMetrics.TeacherEvent)
        const retry429 = events.find((e) => e.type === "retry" && e.reason === "rate-limited")
        assert.strictEqual(retry429?.delayMs, 30)
        assert.strictEqual(events.filter((e) => e.type === "malformed").length, 2)
        assert.isTrue(events.some((e) => e.type === "retry" && e.reason === "timeout"))
        // The key was sent, and appears in no file, log line or error.
        assert.isTrue(authHeaders.has(`Bearer ${SECRET}`))
        assert.notInclude(everyFile(runDir), SECRET)
        assert.isTrue(logs.some((l) => l.includes("giving up")))
        assert.notInclude(logs.join("\n"), SECRET)
        // A second run against the healed server completes the two failed problems and nothing else.
        healthy = true
        const again = yield* build(runDir, teacherConfig(), logs)
        assert.strictEqual(again.built, 2)
        assert.strictEqual(again.resumed, 10)
        assert.strictEqual(again.status, "complete")
        const ids = readRecords(runDir).map((r) => r.problem.id)
        assert.strictEqual(new Set(ids).size, 12)
        assert.strictEqual(ids.length, 12)
      })
  )

  it.live("stops at the token budget with status interrupted, and a re-run with a larger budget continues", () =>
    Effect.gen(function* () {
      healthy = true
      const runDir = mkdtempSync(join(tmpdir(), "realm-http-"))
      roots.push(runDir)
      const logs: Array<string> = []
      const first = yield* build(runDir, teacherConfig({ maxTotalTokens: 60, concurrency: 1 }), logs)
      assert.strictEqual(first.status, "interrupted")
      assert.strictEqual(first.stoppedBy, "budget")
      assert.isTrue(first.records < 12)
      const second = yield* build(runDir, teacherConfig({ maxTotalTokens: 100_000, concurrency: 1 }), logs)
      assert.strictEqual(second.status, "complete")
      assert.strictEqual(second.records, 12)
    })
  )

  it.effect("a missing API key variable fails before any request, naming the variable only", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.gen(function* () {
          yield* Teacher.Teacher
        }).pipe(
          Effect.provide(
            HttpTeacher.layerFetch(teacherConfig({ apiKeyEnv: "REALM_NOT_SET_KEY" })).pipe(Layer.provide(judgeLayer))
          ),
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
        )
      )
      assert.strictEqual(error._tag, "MissingApiKey")
      assert.match(error.message, /REALM_NOT_SET_KEY is not set/)
    })
  )

  it("rejects bad teacher configs with the field path", () => {
    assert.throws(() => Effect.runSync(HttpTeacher.decodeConfig({ baseUrl: "ftp://x", model: "m" })), /baseUrl/)
    assert.throws(
      () => Effect.runSync(HttpTeacher.decodeConfig({ baseUrl: "http://x", model: "m", maxCostUsd: 1 })),
      /maxCostUsd/
    )
  })
})
