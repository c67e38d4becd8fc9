import { assert, describe, it } from "vitest"
import { ChatEndpoint } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import * as HttpTeacher from "../src/HttpTeacher.ts"
import * as Progress from "../src/Progress.ts"
import * as Prompts from "../src/Prompts.ts"

const problem: Problem.Problem = {
  id: "parcel/train/1",
  domain: "parcel",
  question: "Parcel: zone B, 7kg, fragile. Fee?",
  rulebook: "R1 Base fee by zone: ...",
  gold: "25",
  answerType: "number",
  difficulty: 1,
  split: "train",
  metadata: {}
}

describe("Prompts", () => {
  it("guides the teacher with the rulebook and hints, and keeps the student prompt rules-free", () => {
    const [system, user] = Prompts.guidedMessages(problem, { hints: "Surcharges before discounts." })
    assert.strictEqual(system?.role, "system")
    assert.include(system?.content, "Rulebook:\nR1 Base fee by zone")
    assert.include(system?.content, "Expert hints:\nSurcharges before discounts.")
    assert.deepStrictEqual(user, { role: "user", content: problem.question })
    assert.strictEqual(Prompts.studentPrompt(problem), problem.question)
    assert.strictEqual(
      Prompts.completion({ steps: ["base zone B = 12", "fragile +5 = 17"], answer: "17" }),
      "Step 1: base zone B = 12\nStep 2: fragile +5 = 17\nAnswer: 17"
    )
  })

  it("parses steps from the ways models write them", () => {
    assert.deepStrictEqual(Prompts.parseSteps("Step 1: a = 1\n**Step 2:** b = 2\nAnswer: 2"), ["a = 1", "b = 2"])
    assert.deepStrictEqual(Prompts.parseSteps("1. first = 3\n2) second = 4\nAnswer: 4"), ["first = 3", "second = 4"])
    assert.deepStrictEqual(Prompts.parseSteps("We add 3.\nThen 4.\n\nFinal answer: 7"), ["We add 3.", "Then 4."])
  })
})

describe("HttpTeacher response parsing", () => {
  it("reads contents and usage, and calls truncated JSON, empty choices and empty content malformed", () => {
    const read = (body: string) => ChatEndpoint.readReply(body, 1, HttpTeacher.replyRules)
    assert.deepStrictEqual(
      read(
        JSON.stringify({
          choices: [{ message: { content: "Answer: 1" } }],
          usage: { prompt_tokens: 7, completion_tokens: 3 }
        })
      ),
      { choices: [{ text: "Answer: 1", finishReason: null }], promptTokens: 7, completionTokens: 3 }
    )
    // Without reported usage the budget counts a completion at 4 characters a token.
    assert.deepStrictEqual(read(JSON.stringify({ choices: [{ message: { content: "Answer: 12" } }] })), {
      choices: [{ text: "Answer: 12", finishReason: null }],
      promptTokens: 0,
      completionTokens: 3
    })
    for (const body of [
      '{"choices": [{"mess',
      JSON.stringify({ choices: [] }),
      JSON.stringify({ choices: [{ message: { content: "" } }] }),
      "null"
    ]) {
      // A string is what is malformed about the body (retried with reason malformed).
      assert.strictEqual(typeof read(body), "string")
    }
  })

  it("quotes an OpenAI-style error message in a failure's detail, and nothing for other bodies", () => {
    assert.strictEqual(
      ChatEndpoint.errorOf(JSON.stringify({ error: { message: "context too long", type: "invalid_request_error" } }))
        .message,
      "context too long"
    )
    assert.isUndefined(ChatEndpoint.errorOf("bad request").message)
    assert.isUndefined(ChatEndpoint.errorOf(JSON.stringify({ error: "nope" })).message)
  })

  it("reads Retry-After in seconds (fractional) or as an HTTP date", () => {
    assert.strictEqual(ChatEndpoint.parseRetryAfter("2", 0), 2000)
    assert.strictEqual(ChatEndpoint.parseRetryAfter("0.05", 0), 50)
    assert.strictEqual(ChatEndpoint.parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4000), 6000)
    assert.isUndefined(ChatEndpoint.parseRetryAfter("soon", 0))
    assert.isUndefined(ChatEndpoint.parseRetryAfter(undefined, 0))
  })
})

describe("Progress", () => {
  it("renders a bar with done/total, rate, ETA, labels and retries", () => {
    const line = Progress.render(
      {
        done: 100,
        total: 240,
        resumed: 20,
        records: 118,
        failed: 2,
        dropped: 0,
        duplicates: 0,
        positives: 300,
        negatives: 172,
        retries: 3,
        malformed: 1,
        elapsedMs: 4000,
        rate: 25,
        etaMs: 4800
      },
      10
    )
    assert.strictEqual(
      line,
      "[#####-----] 120/240 (50%) 25.0/s ETA 5s | +300 -172 | failed 2 | retries 3 malformed 1 | resumed 20"
    )
  })
})
