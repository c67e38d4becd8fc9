import { assert, describe, it } from "vitest"
import { Schema } from "effect"
import { CorpusRecord } from "../src/CorpusRecord.ts"
import { Prompt, toPlainText } from "../src/Prompt.ts"
import { renderSteps } from "../src/Route.ts"

const problem = {
  id: "parcel/train/0",
  domain: "parcel",
  question: "Parcel: zone=B weight=7. Fee?",
  rulebook: "R1. Base fee by zone: A=8, B=12.",
  gold: "18",
  answerType: "number",
  difficulty: 1,
  split: "train",
  metadata: { rules: ["R1", "R3"] }
} as const

describe("records", () => {
  it("decode a valid corpus record and reject a negative decisive step, naming the path", () => {
    const decode = Schema.decodeUnknownSync(CorpusRecord)
    const good = {
      problem,
      teacher: "rule-teacher",
      routes: [
        {
          id: "r0",
          steps: ["base fee zone B = 12", "weight 7 > 5: +6 = 18"],
          answer: "18",
          source: "rule-teacher",
          label: "positive"
        },
        {
          id: "r1",
          steps: ["base fee zone B = 8"],
          answer: "14",
          source: "rule-teacher",
          label: "negative",
          decisiveStep: 0
        }
      ]
    }
    assert.strictEqual(decode(good).routes[1]?.decisiveStep, 0)
    const bad = { ...good, routes: [{ ...good.routes[1], decisiveStep: -1 }] }
    assert.throws(() => decode(bad), /decisiveStep/)
    assert.throws(() => decode({ ...good, problem: { ...problem, split: "dev" } }), /split/)
  })

  it("guidance strength must lie in [0, 1]", () => {
    const decode = Schema.decodeUnknownSync(Prompt)
    const prompt = {
      problemId: "p",
      messages: [{ role: "user", content: "Q" }],
      guidance: { mode: "autonomous", strength: 0, routeIds: [] }
    }
    assert.strictEqual(decode(prompt).guidance.mode, "autonomous")
    assert.throws(() => decode({ ...prompt, guidance: { ...prompt.guidance, strength: 1.5 } }), /strength/)
  })

  it("renders steps and plain-text prompts in the documented format", () => {
    assert.strictEqual(renderSteps(["a", "b"]), "Step 1: a\nStep 2: b")
    const text = toPlainText({
      problemId: "p",
      messages: [
        { role: "system", content: "S" },
        { role: "user", content: "Q" }
      ],
      guidance: { mode: "autonomous", strength: 0, routeIds: [] }
    })
    assert.strictEqual(text, "system: S\n\nuser: Q\n\nassistant:")
  })
})
