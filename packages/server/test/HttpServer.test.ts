/**
 * The HTTP layer over a fake engine: failures in generation and bugs become 500s in OpenAI's shape (as JSON, or as
 * an error event once a stream has started), malformed URLs and too-deep JSON get 400, and the server answers the
 * next request. Its limits on connections and on slow clients, and the API key check, on raw sockets where needed.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { connect } from "node:net"
import type { Socket } from "node:net"
import * as ApiError from "../src/ApiError.ts"
import type { ChatEngine } from "../src/ChatEngine.ts"
import * as HttpServer from "../src/HttpServer.ts"
import * as ServerConfig from "../src/ServerConfig.ts"

const fake: ChatEngine = {
  model: "fake",
  maxContext: 64,
  complete: (request, hooks = {}) => {
    const content = request.messages[0]?.content
    if (content === "fail") return Effect.fail(ApiError.internal("the engine broke"))
    if (content === "bug") return Effect.die(new TypeError("undefined is not a function"))
    if (content === "fail mid-stream") {
      return Effect.andThen(
        Effect.sync(() => hooks.onDelta?.(0, "partial", undefined)),
        Effect.fail(ApiError.internal("lost the device"))
      )
    }
    return Effect.sync(() => {
      hooks.onDelta?.(0, "hello", "stop")
      return {
        choices: [{ text: "hello", finishReason: "stop" as const }],
        usage: { promptTokens: 3, completionTokens: 1 }
      }
    })
  },
  stats: () => ({ batches: 0, requests: 0, largestBatch: 0, completionTokens: 0, abandoned: 0 }),
  pending: () => 0
}

const withServer = <A>(
  f: (baseUrl: string, port: number) => Promise<A>,
  settings: ServerConfig.ServerConfigInput = {},
  apiKey?: string
) =>
  Effect.gen(function* () {
    const config = yield* ServerConfig.decode({ port: 0, ...settings })
    const server = yield* HttpServer.make(fake, config, apiKey === undefined ? undefined : Redacted.make(apiKey))
    return yield* Effect.promise(() => f(server.baseUrl, server.port))
  }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))

/** What a raw connection received, and after how many ms the server closed it (`undefined`: still open at `waitMs`). */
interface Exchange {
  readonly received: string
  readonly closedAfterMs: number | undefined
}

/** Connect, send `text`, and collect what comes back for up to `waitMs`. */
const exchange = (port: number, text: string, waitMs: number): Promise<Exchange> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    const start = performance.now()
    let received = ""
    const done = (closedAfterMs: number | undefined) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ received, closedAfterMs })
    }
    const timer = setTimeout(() => done(undefined), waitMs)
    socket.on("data", (d) => (received += d.toString("utf8")))
    socket.on("close", () => done(performance.now() - start))
    socket.on("error", () => undefined)
    socket.write(text)
  })

/** An open, idle connection. */
const idle = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket))
    socket.on("error", reject)
  })

const chat = (baseUrl: string, content: string, stream = false) =>
  fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "fake", messages: [{ role: "user", content }], stream })
  })

describe("HttpServer over a fake engine", () => {
  it.live("generation failures and bugs are 500s with OpenAI error bodies; the server keeps answering", () =>
    withServer(async (baseUrl) => {
      const failed = await chat(baseUrl, "fail")
      assert.strictEqual(failed.status, 500)
      const body = (await failed.json()) as { error: { message: string; type: string } }
      assert.strictEqual(body.error.type, "server_error")
      assert.match(body.error.message, /generation failed: the engine broke/)
      const bug = await chat(baseUrl, "bug")
      assert.strictEqual(bug.status, 500)
      assert.match(
        ((await bug.json()) as { error: { message: string } }).error.message,
        /internal server error: .*undefined is not a function/
      )
      const ok = (await (await chat(baseUrl, "hi")).json()) as { choices: Array<{ message: { content: string } }> }
      assert.strictEqual(ok.choices[0]?.message.content, "hello")
    })
  )

  it.live("a failure after the stream started ends it with an error event instead of [DONE]", () =>
    withServer(async (baseUrl) => {
      const res = await chat(baseUrl, "fail mid-stream", true)
      assert.strictEqual(res.status, 200)
      const events = (await res.text())
        .split("\n\n")
        .filter((e) => e.startsWith("data: "))
        .map((e) => e.slice(6))
      assert.include(events[1] ?? "", "partial")
      assert.deepStrictEqual(JSON.parse(events.at(-1) ?? "{}"), {
        error: { message: "generation failed: lost the device", type: "server_error", param: null, code: null }
      })
      assert.notInclude(events, "[DONE]")
    })
  )

  it.live("malformed URLs get 400 and unknown model ids 404, not 500", () =>
    withServer(async (baseUrl) => {
      const root = baseUrl.replace(/\/v1$/, "")
      const malformed = await fetch(`${root}/v1/models/%E0%A4%A`)
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(((await malformed.json()) as { error: { code: string } }).error.code, "invalid_url")
      assert.strictEqual((await fetch(`${baseUrl}/models/other`)).status, 404)
      assert.strictEqual((await fetch(`${baseUrl}/models/fake`)).status, 200)
    })
  )

  it.live("deeply nested JSON gets 400 json_too_deep, not a 500 from a stack overflow", () =>
    withServer(async (baseUrl) => {
      const deep = `{"model": "fake", "messages": [{"role": "user", "content": "hi"}], "temperature": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`
      const res = await fetch(`${baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: deep
      })
      assert.strictEqual(res.status, 400)
      const error = ((await res.json()) as { error: { code: string; message: string } }).error
      assert.strictEqual(error.code, "json_too_deep")
      assert.match(error.message, /64 levels/)
      assert.strictEqual((await chat(baseUrl, "hi")).status, 200)
    })
  )
})

describe("HttpServer limits", () => {
  it.live("connections beyond maxConnections are closed at once; a freed slot serves again", () =>
    withServer(
      async (baseUrl, port) => {
        const held = [await idle(port), await idle(port)]
        const refused = await exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 5_000)
        assert.strictEqual(refused.received, "", "nothing is answered on a connection over the cap")
        assert.isDefined(refused.closedAfterMs, "the connection over the cap is closed")
        for (const socket of held) socket.destroy()
        let status = 0
        for (let i = 0; i < 100 && status !== 200; i++) {
          status = await fetch(`${baseUrl.replace(/\/v1$/, "")}/health`).then(
            (r) => r.status,
            () => 0
          )
          if (status !== 200) await new Promise((r) => setTimeout(r, 20))
        }
        assert.strictEqual(status, 200)
      },
      { maxConnections: 2 }
    )
  )

  it.live(
    "a client that does not finish its headers in headersTimeoutMs, or its body in requestTimeoutMs, gets 408 and is disconnected",
    () =>
      withServer(
        async (_, port) => {
          const headers = await exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n", 5_000)
          assert.isDefined(headers.closedAfterMs, "closed well before node's default of 60 s")
          assert.match(headers.received, /^HTTP\/1\.1 408/)
          const body = await exchange(
            port,
            'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model"',
            5_000
          )
          assert.isDefined(body.closedAfterMs, "closed well before node's default of 300 s")
          assert.isAtLeast(
            body.closedAfterMs ?? 0,
            350,
            "the headers came in time; the body had until requestTimeoutMs"
          )
          assert.match(body.received, /^HTTP\/1\.1 408/)
        },
        { headersTimeoutMs: 200, requestTimeoutMs: 400 }
      )
  )

  it.live("an idle keep-alive connection is closed after keepAliveTimeoutMs", () =>
    withServer(
      async (_, port) => {
        const kept = await exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", 4_000)
        assert.match(kept.received, /^HTTP\/1\.1 200/)
        assert.isDefined(kept.closedAfterMs, "closed well before node's default of 5 s")
        assert.isAtLeast(kept.closedAfterMs ?? 0, 250)
      },
      { keepAliveTimeoutMs: 300 }
    )
  )
})

describe("HttpServer with an API key", () => {
  it.live("accepts the Bearer scheme in any case, refuses wrong keys of any length, and leaves /health open", () =>
    withServer(
      async (baseUrl) => {
        const models = (authorization?: string) =>
          fetch(`${baseUrl}/models`, { headers: authorization === undefined ? {} : { authorization } }).then(
            (r) => r.status
          )
        assert.strictEqual(await models("Bearer sk-test"), 200)
        assert.strictEqual(await models("bearer sk-test"), 200)
        assert.strictEqual(await models("BEARER  sk-test"), 200)
        for (const wrong of [
          undefined,
          "Bearer sk-tes",
          "Bearer sk-test-and-more",
          "Bearer ",
          "Basic sk-test",
          "sk-test",
          "Bearersk-test"
        ]) {
          assert.strictEqual(await models(wrong), 401, String(wrong))
        }
        const refused = await fetch(`${baseUrl}/chat/completions`, {
          method: "POST",
          headers: { authorization: "Bearer nope" },
          body: "{}"
        })
        assert.strictEqual(((await refused.json()) as { error: { code: string } }).error.code, "invalid_api_key")
        assert.strictEqual((await fetch(`${baseUrl.replace(/\/v1$/, "")}/health`)).status, 200)
      },
      {},
      "sk-test"
    )
  )
})
