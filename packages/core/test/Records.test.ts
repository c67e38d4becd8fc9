import { describe, expect, it } from "vitest"
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
    expect(decode(good).routes[1]?.decisiveStep).toBe(0)
    const bad = { ...good, routes: [{ ...good.routes[1], decisiveStep: -1 }] }
    expect(() => decode(bad)).toThrow(/decisiveStep/)
    expect(() => decode({ ...good, problem: { ...problem, split: "dev" } })).toThrow(/split/)
  })

  it("guidance strength must lie in [0, 1]", () => {
    const decode = Schema.decodeUnknownSync(Prompt)
    const prompt = {
      problemId: "p",
      messages: [{ role: "user", content: "Q" }],
      guidance: { mode: "autonomous", strength: 0, routeIds: [] }
    }
    expect(decode(prompt).guidance.mode).toBe("autonomous")
    expect(() => decode({ ...prompt, guidance: { ...prompt.guidance, strength: 1.5 } })).toThrow(/strength/)
  })

  it("renders steps and plain-text prompts in the documented format", () => {
    expect(renderSteps(["a", "b"])).toBe("Step 1: a\nStep 2: b")
    const text = toPlainText({
      problemId: "p",
      messages: [
        { role: "system", content: "S" },
        { role: "user", content: "Q" }
      ],
      guidance: { mode: "autonomous", strength: 0, routeIds: [] }
    })
    expect(text).toBe("system: S\n\nuser: Q\n\nassistant:")
  })
})
