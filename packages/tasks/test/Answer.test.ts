import { describe, expect, it } from "vitest"
import type { Problem } from "@realm-lm/core"
import * as fc from "fast-check"
import * as Answer from "../src/Answer.ts"

const problem = (answerType: Problem.AnswerType, gold: string, labels?: Array<string>): Problem.Problem => ({
  id: "t/1", domain: "t", question: "q", gold, answerType, difficulty: 0, split: "test", metadata: {}, ...(labels === undefined ? {} : { labels })
})

describe("Answer: numbers", () => {
  it.each([
    ["Janet makes 9 * 2 = $18 every day.\n#### 18", "18"],
    ["so the total is 1,200 dollars.\n#### 1,200", "1200"],
    ["**Answer:** $12.50.", "12.5"],
    ["The answer is \\boxed{\\frac{3}{4}}", "0.75"],
    ["Final answer: −7 degrees", "-7"],
    ["Answer: 16 - 3 = 13", "13"],
    ["Step 1: base zone B = 12\nStep 2: weight 7kg +8 = 20\nAnswer: 20", "20"],
    ["Step 1: base zone B = 12\nStep 2: member -10% -1 = 11", "11"],
    ["She needs 2 1/2 cups in total. Answer: 2 1/2", "2.5"],
    ["the answer is twelve", "12"],
    ["Answer: 45%", "45"],
    ["We get 100.0 as the result", "100"],
    ["I am not sure.", undefined]
  ])("extracts %j as %s", (text, expected) => {
    expect(Answer.extract(problem("number", "0"), text)).toBe(expected)
  })

  it("compares numbers across formats, with rounding tolerance only for written decimals", () => {
    const p = problem("number", "1200")
    expect(Answer.equivalent(p, "1,200", "1200.0")).toBe(true)
    expect(Answer.equivalent(p, "$1,200", "1200")).toBe(true)
    expect(Answer.equivalent(p, "0.33", "1/3")).toBe(true)
    expect(Answer.equivalent(p, "12.5", "12.54")).toBe(false)
    expect(Answer.equivalent(p, "1201", "1200")).toBe(false)
    expect(Answer.judge(p, "#### 1,200")).toEqual({ extracted: "1200", correct: true })
    expect(Answer.judge(p, "no idea")).toEqual({ extracted: undefined, correct: false })
  })

  it("round-trips every formatted integer and decimal (property)", () => {
    fc.assert(fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 999 }), (n, frac) => {
      const value = n + frac / 1000
      const text = Answer.formatNumber(value)
      expect(Answer.equivalent(problem("number", text), `The answer is ${text}.`.replace(/^.*is /, ""), text)).toBe(true)
      expect(Answer.parseNumber(text)?.value).toBeCloseTo(value, 6)
      const grouped = n.toLocaleString("en-US")
      expect(Answer.extract(problem("number", "0"), `#### ${grouped}`)).toBe(String(n))
    }), { numRuns: 300 })
  })
})

describe("Answer: labels and text", () => {
  const letters = problem("label", "B", ["A", "B", "C", "D", "E"])
  it.each([
    ["Answer: (B) library", "B"],
    ["So the answer is b.", "B"],
    ["A revolving door ... I pick option C because", "C"],
    ["A) is wrong, B) is wrong.\nD) fits best.", "D"],
    ["A thing that is here", undefined]
  ])("extracts letter labels from %j as %s", (text, expected) => {
    expect(Answer.extract(letters, text)).toBe(expected)
  })

  it("extracts word labels and returns them as written in the label set", () => {
    const folio = problem("label", "Uncertain", ["True", "False", "Uncertain"])
    expect(Answer.extract(folio, "Answer: uncertain, since nothing says so")).toBe("Uncertain")
    expect(Answer.extract(folio, "It could be true, but in the end it is false")).toBe("False")
    expect(Answer.judge(problem("label", "No", ["Yes", "No"]), "**Answer:** No. Frost is rare.")).toEqual({ extracted: "No", correct: true })
  })

  it("normalises free text (case, punctuation, articles)", () => {
    const p = problem("text", "the purple one")
    expect(Answer.judge(p, "Reasoning...\nAnswer: Purple one!").correct).toBe(true)
    expect(Answer.equivalent(p, "Mrs. Hilt", "mrs hilt")).toBe(true)
    expect(Answer.equivalent(p, "", "")).toBe(false)
  })
})
