/**
 * The server end to end on loopback with a tiny taught model: OpenAI-shaped responses, streaming that adds up to
 * the non-streamed text, seeded results independent of batching, concurrent requests sharing one generation
 * batch, OpenAI-style errors that never take the server down, and the corpus builder's HTTP teacher writing a
 * labelled corpus from it.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { CorpusRecord } from "@realm-lm/core"
import { HttpTeacher, Corpus } from "@realm-lm/corpus"
import { Answer } from "@realm-lm/tasks"
import { ConfigProvider, Effect, Exit, Layer, Scope, Stream } from "effect"
import { readFileSync, rmSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { Prompts } from "@realm-lm/corpus"
import * as Serve from "../src/Serve.ts"
import { taughtModel, tempDir, toyProblems } from "./support.ts"

let modelDir = ""
let served: Serve.Served
let scope: Scope.Closeable
const roots: Array<string> = []

beforeAll(async () => {
  modelDir = await Effect.runPromise(taughtModel().pipe(Effect.provide(NodeServices.layer)))
  roots.push(modelDir)
  scope = Effect.runSync(Scope.make())
  served = await Effect.runPromise(
    Serve.serve(modelDir, { port: 0, modelName: "toy", batchWindowMs: 150, maxBodyBytes: 20_000, maxN: 4 }).pipe(
      Scope.provide(scope),
      Effect.provide(NodeServices.layer)
    )
  )
}, 180_000)
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  for (const d of roots) rmSync(d, { recursive: true, force: true })
})

const post = (body: unknown, path = "/chat/completions", init: RequestInit = {}) =>
  fetch(`${served.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init
  })

const question = (i: number) => Prompts.guidedMessages(toyProblems[i] as (typeof toyProblems)[number])

interface CompletionBody {
  readonly id: string
  readonly object: string
  readonly model: string
  readonly choices: Array<{ index: number; message: { role: string; content: string }; finish_reason: string }>
  readonly usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}
interface ErrorBody {
  readonly error: { message: string; type: string; param: string | null; code: string | null }
}

/** The `data:` payloads of a server-sent-events body. */
const events = (text: string): Array<string> =>
  text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice(6))

describe("realm serve: OpenAI-compatible chat completions", () => {
  it("answers a non-streaming request in OpenAI's shape, with the answer the model was taught", async () => {
    const res = await post({ model: "toy", messages: question(3), temperature: 0, max_tokens: 40 })
    assert.strictEqual(res.status, 200)
    assert.match(res.headers.get("content-type") ?? "", /application\/json/)
    const body = (await res.json()) as CompletionBody
    assert.strictEqual(body.object, "chat.completion")
    assert.match(body.id, /^chatcmpl-[0-9a-f]{32}$/)
    assert.strictEqual(body.model, "toy")
    assert.strictEqual(body.choices.length, 1)
    assert.strictEqual(body.choices[0]?.message.role, "assistant")
    assert.strictEqual(body.choices[0]?.message.content, "Step 1: 6 = 6\nAnswer: 6")
    assert.strictEqual(body.choices[0]?.finish_reason, "stop")
    assert.isAbove(body.usage.prompt_tokens, 20)
    assert.strictEqual(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens)
  })

  it("streams deltas that add up to the non-streamed text for the same seed, then the usage and [DONE]", async () => {
    // An unseen question, where the taught model is unsure and samples spread.
    const request = {
      model: "toy",
      messages: [{ role: "user", content: "Q9: what is 9 times 9?" }],
      temperature: 1.5,
      top_p: 0.95,
      n: 3,
      seed: 42,
      max_tokens: 30
    }
    const whole = (await (await post(request)).json()) as CompletionBody
    const res = await post({ ...request, stream: true, stream_options: { include_usage: true } })
    assert.strictEqual(res.status, 200)
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/)
    const data = events(await res.text())
    assert.strictEqual(data.at(-1), "[DONE]")
    const chunks = data.slice(0, -1).map(
      (d) =>
        JSON.parse(d) as {
          object: string
          choices: Array<{ index: number; delta: { role?: string; content?: string }; finish_reason: string | null }>
          usage?: CompletionBody["usage"]
        }
    )
    assert.isTrue(chunks.every((c) => c.object === "chat.completion.chunk"))
    for (let j = 0; j < 3; j++) {
      const mine = chunks.flatMap((c) => c.choices.filter((x) => x.index === j))
      assert.strictEqual(mine[0]?.delta.role, "assistant")
      assert.strictEqual(
        mine.map((x) => x.delta.content ?? "").join(""),
        whole.choices[j]?.message.content,
        `choice ${j}`
      )
      assert.strictEqual(mine.filter((x) => x.finish_reason !== null).length, 1)
      assert.strictEqual(mine.at(-1)?.finish_reason, whole.choices[j]?.finish_reason)
    }
    assert.isAbove(chunks.filter((c) => c.choices.length > 0).length, 3 * 3, "text arrives in several pieces")
    assert.deepStrictEqual(chunks.at(-1)?.usage, whole.usage)
    const texts = new Set(whole.choices.map((c) => c.message.content))
    assert.isAbove(texts.size, 1, "samples of one request differ")
  })

  it("batches concurrent requests of different shapes into shared generations, with the same results as one at a time", async () => {
    // Prompts of different lengths and different max_tokens exercise left padding, batch buckets and row compaction.
    const requests = Array.from({ length: 6 }, (_, i) => ({
      model: "toy",
      messages: i % 2 === 0 ? question(i) : [{ role: "user", content: `Q${i}: ${"what is it? ".repeat(i)}` }],
      temperature: 0.9,
      seed: 100 + i,
      max_tokens: 8 + 5 * i
    }))
    const alone: Array<CompletionBody> = []
    for (const r of requests) alone.push((await (await post(r)).json()) as CompletionBody)
    const before = served.engine.stats()
    const together = (await Promise.all(requests.map(async (r) => (await post(r)).json()))) as Array<CompletionBody>
    const after = served.engine.stats()
    assert.deepStrictEqual(
      together.map((b) => b.choices[0]?.message.content),
      alone.map((b) => b.choices[0]?.message.content)
    )
    assert.strictEqual(after.requests - before.requests, 6)
    // Arrival within the 150 ms window is the usual case, not a guarantee on a loaded machine: at least one shared batch.
    assert.isBelow(after.batches - before.batches, 6, "concurrent requests shared batches")
    assert.isAtLeast(after.largestBatch, 2)
  })

  it("stop sequences end the text before them (OpenAI semantics), streamed or not", async () => {
    const base = { model: "toy", messages: question(4), temperature: 0, max_tokens: 40, stop: ["Answer"] }
    const body = (await (await post(base)).json()) as CompletionBody
    assert.strictEqual(body.choices[0]?.message.content, "Step 1: 8 = 8\n")
    assert.strictEqual(body.choices[0]?.finish_reason, "stop")
    const streamed = events(await (await post({ ...base, stream: true })).text())
      .slice(0, -1)
      .flatMap((d) =>
        (JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> }).choices.map((c) => c.delta.content ?? "")
      )
    assert.strictEqual(streamed.join(""), "Step 1: 8 = 8\n")
    const short = (await (await post({ ...base, stop: undefined, max_tokens: 3 })).json()) as CompletionBody
    assert.strictEqual(short.choices[0]?.finish_reason, "length")
    assert.strictEqual(short.usage.completion_tokens, 3)
  })

  it("answers bad requests with OpenAI-style errors and keeps serving", async () => {
    const expectError = async (res: Response, status: number, param: string | null, code?: string) => {
      assert.strictEqual(res.status, status)
      const body = (await res.json()) as ErrorBody
      assert.isString(body.error.message)
      assert.isAbove(body.error.message.length, 10)
      assert.strictEqual(body.error.param, param)
      if (code !== undefined) assert.strictEqual(body.error.code, code)
      return body.error
    }
    const ok = { model: "toy", messages: question(1), max_tokens: 4 }
    await expectError(await post("{not json"), 400, null, "invalid_json")
    await expectError(await post([1, 2]), 400, "")
    await expectError(await post({ ...ok, messages: [] }), 400, "messages")
    await expectError(await post({ ...ok, messages: [{ role: "wizard", content: "hi" }] }), 400, "messages[0].role")
    await expectError(
      await post({ ...ok, messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] }),
      400,
      "messages[0].content[0]"
    )
    await expectError(await post({ ...ok, temperature: 3 }), 400, "temperature")
    await expectError(await post({ ...ok, n: 5 }), 400, "n")
    await expectError(await post({ ...ok, max_tokens: 0 }), 400, "max_tokens")
    await expectError(await post({ ...ok, stop: ["a", "b", "c", "d", "e"] }), 400, "stop")
    await expectError(await post({ ...ok, tools: [{ type: "function" }] }), 400, "tools", "unsupported_parameter")
    await expectError(await post({ ...ok, frequency_penalty: 0.5 }), 400, "frequency_penalty", "unsupported_parameter")
    await expectError(await post({ ...ok, bogus: 1 }), 400, "bogus", "unknown_parameter")
    await expectError(await post({ ...ok, model: "gpt-4o" }), 404, "model", "model_not_found")
    const long = "many words ".repeat(400)
    await expectError(
      await post({ ...ok, messages: [{ role: "user", content: long }] }),
      400,
      "messages",
      "context_length_exceeded"
    )
    await expectError(await post({ ...ok, max_tokens: 5000 }), 400, "max_tokens", "context_length_exceeded")
    await expectError(
      await post({ ...ok, messages: [{ role: "user", content: "x".repeat(30_000) }] }),
      413,
      null,
      "request_too_large"
    )
    await expectError(await fetch(`${served.baseUrl}/chat/completions`), 405, null, "method_not_allowed")
    await expectError(await fetch(`${served.baseUrl}/embeddings`, { method: "POST" }), 404, null, "unknown_url")
    const health = (await (await fetch(`${served.baseUrl.replace(/\/v1$/, "")}/health`)).json()) as { status: string }
    assert.strictEqual(health.status, "ok")
    const models = (await (await fetch(`${served.baseUrl}/models`)).json()) as { data: Array<{ id: string }> }
    assert.deepStrictEqual(
      models.data.map((m) => m.id),
      ["toy"]
    )
    assert.strictEqual((await post(ok)).status, 200)
  })

  it("a client that drops a stream mid-way stops its generation early and does not disturb the server", async () => {
    const before = served.engine.stats()
    await new Promise<void>((resolve, reject) => {
      const url = new URL(`${served.baseUrl}/chat/completions`)
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: { "content-type": "application/json" }
        },
        (res) => {
          res.once("data", () => {
            req.destroy()
            resolve()
          })
        }
      )
      req.on("error", (e) =>
        e.message.includes("socket hang up") || e.message.includes("aborted") ? resolve() : reject(e)
      )
      req.end(
        JSON.stringify({
          model: "toy",
          messages: [{ role: "user", content: "Q9: what is 9 times 9?" }],
          temperature: 1.5,
          seed: 1,
          max_tokens: 400,
          stop: [],
          stream: true
        })
      )
    })
    for (let i = 0; i < 200 && served.engine.stats().abandoned === before.abandoned; i++)
      await new Promise((r) => setTimeout(r, 25))
    const after = served.engine.stats()
    assert.strictEqual(after.abandoned - before.abandoned, 1, "the engine saw the client go")
    assert.isBelow(after.completionTokens - before.completionTokens, 400, "generation stopped before max_tokens")
    assert.strictEqual(served.engine.pending(), 0)
    const res = await post({ model: "toy", messages: question(2), temperature: 0, max_tokens: 40 })
    assert.strictEqual(((await res.json()) as CompletionBody).choices[0]?.message.content, "Step 1: 4 = 4\nAnswer: 4")
  })
})

describe("realm serve under load", () => {
  it.live("answers 429 with Retry-After once maxPending requests wait, and serves the ones it queued", () =>
    Effect.gen(function* () {
      const server = yield* Serve.serve(modelDir, { port: 0, modelName: "toy", maxPending: 1, batchWindowMs: 1500 })
      const body = JSON.stringify({ model: "toy", messages: question(1), temperature: 0, max_tokens: 30 })
      const responses = yield* Effect.promise(() =>
        Promise.all(
          Array.from({ length: 3 }, () =>
            fetch(`${server.baseUrl}/chat/completions`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body
            })
          )
        )
      )
      const statuses = responses.map((r) => r.status).toSorted()
      assert.deepStrictEqual(statuses, [200, 429, 429])
      const refused = responses.find((r) => r.status === 429) as Response
      assert.strictEqual(refused.headers.get("retry-after"), "1")
      const error = ((yield* Effect.promise(() => refused.json())) as ErrorBody).error
      assert.strictEqual(error.type, "rate_limit_error")
      assert.strictEqual(error.code, "server_overloaded")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})

describe("realm serve with an API key", () => {
  it.live("refuses requests without the key (401) and serves those with it; a missing variable stops start-up", () =>
    Effect.gen(function* () {
      const keyed = { port: 0, modelName: "toy", apiKeyEnv: "REALM_SERVE_TEST_KEY" }
      const withKey = ConfigProvider.layer(ConfigProvider.fromUnknown({ REALM_SERVE_TEST_KEY: "sk-local-1" }))
      const server = yield* Serve.serve(modelDir, keyed).pipe(Effect.provide(withKey))
      assert.isTrue(server.authenticated)
      const body = JSON.stringify({ model: "toy", messages: question(1), temperature: 0, max_tokens: 30 })
      const call = (headers: Record<string, string>) =>
        Effect.promise(() =>
          fetch(`${server.baseUrl}/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body
          })
        )
      const refused = yield* call({})
      assert.strictEqual(refused.status, 401)
      assert.strictEqual(((yield* Effect.promise(() => refused.json())) as ErrorBody).error.code, "invalid_api_key")
      assert.strictEqual((yield* call({ authorization: "Bearer wrong" })).status, 401)
      const allowed = yield* call({ authorization: "Bearer sk-local-1" })
      assert.strictEqual(
        ((yield* Effect.promise(() => allowed.json())) as CompletionBody).choices[0]?.message.content,
        "Step 1: 2 = 2\nAnswer: 2"
      )
      const missing = yield* Effect.flip(
        Serve.serve(modelDir, keyed).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({}))))
      )
      assert.match(missing.message, /REALM_SERVE_TEST_KEY/)
      const taken = yield* Effect.flip(Serve.serve(modelDir, { port: server.port, modelName: "toy" }))
      assert.match(taken.message, /port is taken/)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})

describe("the corpus builder's HTTP teacher against realm serve", () => {
  it.live("builds a labelled corpus from the served model's routes", () =>
    Effect.gen(function* () {
      const runDir = tempDir("realm-serve-corpus-")
      roots.push(runDir)
      const before = served.engine.stats()
      const teacher = yield* HttpTeacher.decodeConfig({
        baseUrl: served.baseUrl,
        model: "toy",
        temperature: 0,
        maxTokens: 40,
        concurrency: 4,
        maxRetries: 0,
        timeoutMs: 60_000
      })
      const config = yield* Corpus.decodeConfig({
        runDir,
        routesPerProblem: 1,
        negativesPerProblem: 0,
        minPositives: 0,
        minNegatives: 0,
        balanceAttempts: 0,
        concurrency: 8,
        dedupThreshold: 1
      })
      const summary = yield* Corpus.build(config, {
        problems: Stream.fromIterable(toyProblems),
        total: toyProblems.length,
        teacherConfig: HttpTeacher.describe(teacher),
        teacherSettings: HttpTeacher.settings(teacher)
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            HttpTeacher.layerFetch(teacher).pipe(Layer.provide(Answer.layer)),
            Answer.layer,
            NodeServices.layer
          )
        )
      )
      assert.strictEqual(summary.failed, 0)
      const records = readFileSync(join(runDir, "corpus", "corpus.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as CorpusRecord.CorpusRecord)
      assert.deepStrictEqual(records.map((r) => r.problem.id).toSorted(), toyProblems.map((p) => p.id).toSorted())
      for (const r of records) {
        assert.strictEqual(r.teacher, "openai:toy")
        assert.strictEqual(r.routes.length, 1)
        const route = r.routes[0] as CorpusRecord.CorpusRecord["routes"][number]
        assert.strictEqual(route.answer, r.problem.gold, r.problem.id)
        assert.strictEqual(route.label, "positive")
      }
      const after = served.engine.stats()
      assert.strictEqual(after.requests - before.requests, toyProblems.length)
      assert.isBelow(
        after.batches - before.batches,
        toyProblems.length,
        "the teacher's concurrent requests were batched"
      )
    })
  )
})
