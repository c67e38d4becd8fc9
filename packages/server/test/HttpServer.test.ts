/**
 * The HTTP layer over a fake engine: failures in generation and bugs become 500s in OpenAI's shape (as JSON, or as
 * an error event once a stream has started), malformed URLs get 400, and the server answers the next request.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
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
      return Effect.andThen(Effect.sync(() => hooks.onDelta?.(0, "partial", undefined)), Effect.fail(ApiError.internal("lost the device")))
    }
    return Effect.sync(() => {
      hooks.onDelta?.(0, "hello", "stop")
      return { choices: [{ text: "hello", finishReason: "stop" as const }], usage: { promptTokens: 3, completionTokens: 1 } }
    })
  },
  stats: () => ({ batches: 0, requests: 0, largestBatch: 0, completionTokens: 0, abandoned: 0 }),
  pending: () => 0
}

const withServer = <A>(f: (baseUrl: string) => Promise<A>) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.decode({ port: 0 })
    const server = yield* HttpServer.make(fake, config, undefined)
    return yield* Effect.promise(() => f(server.baseUrl))
  }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))

const chat = (baseUrl: string, content: string, stream = false) =>
  fetch(`${baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "fake", messages: [{ role: "user", content }], stream }) })

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
      assert.match(((await bug.json()) as { error: { message: string } }).error.message, /internal server error: .*undefined is not a function/)
      const ok = (await (await chat(baseUrl, "hi")).json()) as { choices: Array<{ message: { content: string } }> }
      assert.strictEqual(ok.choices[0]?.message.content, "hello")
    }))

  it.live("a failure after the stream started ends it with an error event instead of [DONE]", () =>
    withServer(async (baseUrl) => {
      const res = await chat(baseUrl, "fail mid-stream", true)
      assert.strictEqual(res.status, 200)
      const events = (await res.text()).split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6))
      assert.include(events[1] ?? "", "partial")
      assert.deepStrictEqual(JSON.parse(events.at(-1) ?? "{}"), { error: { message: "generation failed: lost the device", type: "server_error", param: null, code: null } })
      assert.notInclude(events, "[DONE]")
    }))

  it.live("malformed URLs get 400 and unknown model ids 404, not 500", () =>
    withServer(async (baseUrl) => {
      const root = baseUrl.replace(/\/v1$/, "")
      const malformed = await fetch(`${root}/v1/models/%E0%A4%A`)
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(((await malformed.json()) as { error: { code: string } }).error.code, "invalid_url")
      assert.strictEqual((await fetch(`${baseUrl}/models/other`)).status, 404)
      assert.strictEqual((await fetch(`${baseUrl}/models/fake`)).status, 200)
    }))
})
