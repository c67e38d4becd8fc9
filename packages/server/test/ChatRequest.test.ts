import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as ChatRequest from "../src/ChatRequest.ts"

const limits = { maxN: 4 }
const ok = (body: unknown) => {
  const r = ChatRequest.parse(body, limits)
  if (Result.isFailure(r)) throw new Error(`expected success, got ${r.failure.message}`)
  return r.success
}
const bad = (body: unknown) => {
  const r = ChatRequest.parse(body, limits)
  if (Result.isSuccess(r)) throw new Error("expected a 400")
  return r.failure
}
const base = { model: "m", messages: [{ role: "user", content: "hi" }] }

describe("ChatRequest.parse", () => {
  it("fills OpenAI's defaults and reads every supported field", () => {
    assert.deepStrictEqual(ok(base), {
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      temperature: 1,
      topP: 1,
      topK: 0,
      n: 1,
      maxTokens: undefined,
      stop: [],
      seed: undefined,
      stream: false,
      includeUsage: false
    })
    const full = ok({
      ...base,
      messages: [
        { role: "developer", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" }
          ]
        }
      ],
      temperature: 0,
      top_p: 0.5,
      top_k: 40,
      n: 4,
      max_completion_tokens: 9,
      stop: "\n",
      seed: -3,
      stream: true,
      stream_options: { include_usage: true },
      user: "u1",
      frequency_penalty: 0,
      logprobs: false,
      response_format: { type: "text" }
    })
    assert.deepStrictEqual(full.messages, [
      { role: "system", content: "be brief" },
      { role: "user", content: "ab" }
    ])
    assert.deepStrictEqual(
      [full.temperature, full.topP, full.topK, full.n, full.maxTokens, full.seed],
      [0, 0.5, 40, 4, 9, -3]
    )
    assert.deepStrictEqual(full.stop, ["\n"])
    assert.isTrue(full.stream && full.includeUsage)
    assert.strictEqual(ok({ ...base, max_tokens: 5, max_completion_tokens: 9 }).maxTokens, 5)
  })

  it("names the field at fault with status 400", () => {
    const cases: Array<[unknown, string]> = [
      [null, ""],
      [{ messages: base.messages }, "model"],
      [{ model: "m" }, "messages"],
      [{ ...base, messages: ["hi"] }, "messages[0]"],
      [{ ...base, messages: [{ role: "tool", content: "x" }] }, "messages[0].role"],
      [{ ...base, messages: [{ role: "user", content: 3 }] }, "messages[0].content"],
      [{ ...base, top_p: 0 }, "top_p"],
      [{ ...base, temperature: "hot" }, "temperature"],
      [{ ...base, n: 1.5 }, "n"],
      [{ ...base, top_k: -1 }, "top_k"],
      [{ ...base, seed: "x" }, "seed"],
      [{ ...base, stream: "yes" }, "stream"],
      [{ ...base, stream_options: { include_usage: true } }, "stream_options"],
      [{ ...base, stop: [""] }, "stop"],
      [{ ...base, logprobs: true }, "logprobs"],
      [{ ...base, logit_bias: { 5: 1 } }, "logit_bias"],
      [{ ...base, response_format: { type: "json_object" } }, "response_format"],
      [{ ...base, presence_penalty: 1 }, "presence_penalty"]
    ]
    for (const [body, param] of cases) {
      const e = bad(body)
      assert.strictEqual(e.status, 400, JSON.stringify(body))
      assert.strictEqual(e.param, param, JSON.stringify(body))
      assert.strictEqual(e.type, "invalid_request_error")
    }
  })

  it("refuses JSON nested deeper than maxJsonDepth with a 400, at any depth, without overflowing the stack", () => {
    const nest = (depth: number): unknown => {
      let v: unknown = 1
      for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v }
      return v
    }
    for (const depth of [ChatRequest.maxJsonDepth, 1_000, 200_000]) {
      const e = bad({ ...base, temperature: nest(depth) })
      assert.strictEqual(e.status, 400, String(depth))
      assert.strictEqual(e.code, "json_too_deep", String(depth))
    }
    // At the limit (the body itself is one level) it is read as usual: the bad field gets its own 400, its value cut
    // short in the message.
    const shallow = bad({ ...base, temperature: nest(ChatRequest.maxJsonDepth - 1) })
    assert.strictEqual(shallow.param, "temperature")
    assert.isBelow(shallow.message.length, 200)
    assert.isBelow(bad({ ...base, messages: [{ role: "x".repeat(10_000), content: "hi" }] }).message.length, 300)
  })
})
