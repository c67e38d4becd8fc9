import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { formatChecks, formatScore, parseCompletion, verdictFor } from "../src/CompletionParser.ts"
import { adversarialArb, params } from "./fixtures/arbitraries.ts"

const WELL_FORMED = [
  "Route A: correct",
  "Route B: wrong at step 1",
  "Reflection: Route B step 1: applies a copay instead of the deductible",
  "Step 1: claim after deductible = 1200 - 200 = 1000",
  "Step 2: payout = 1000 * 80% = 800",
  "Answer: 800"
].join("\n")

describe("parseCompletion", () => {
  it("reads every section of a well-formed completion and passes every format check", () => {
    const p = parseCompletion(WELL_FORMED)
    expect(p.verdicts).toEqual([
      { index: 0, name: "A", verdict: "correct", step: undefined },
      { index: 1, name: "B", verdict: "wrong", step: 1 }
    ])
    expect(p.reflections).toEqual(["Route B step 1: applies a copay instead of the deductible"])
    expect(p.steps.map((s) => s.number)).toEqual([1, 2])
    expect(p.answer).toBe("800")
    expect(p.judgeText).toBe(
      "Step 1: claim after deductible = 1200 - 200 = 1000\nStep 2: payout = 1000 * 80% = 800\nAnswer: 800"
    )
    expect(formatChecks(p, 2)).toEqual({
      verdicts: true,
      reflection: true,
      steps: true,
      answer: true,
      order: true,
      clean: true
    })
    expect(formatScore(p, 2)).toBe(1)
  })

  it("tolerates markdown, case, CRLF and verdict phrasings", () => {
    const p = parseCompletion(
      "**Route A**: Not correct, see step 3\r\n- route b - INCORRECT (step #2)\r\nRoute C is correct\r\n## Final answer: 12"
    )
    expect(p.verdicts.map((v) => [v.index, v.verdict, v.step])).toEqual([
      [0, "wrong", 3],
      [1, "wrong", 2],
      [2, "correct", undefined]
    ])
    expect(p.answer).toBe("12")
  })

  it("keeps verdict and reflection lines out of the judge's text, and stops at the first answer", () => {
    const p = parseCompletion(
      "Route A: wrong at step 2\nReflection: 900 vs 800\nStep 1: x = 5\nAnswer: 5\nAnswer: 7\nmore"
    )
    expect(p.judgeText).toBe("Step 1: x = 5\nAnswer: 5")
    expect(p.answer).toBe("5")
    expect(p.trailing).toEqual(["Answer: 7", "more"])
    expect(formatChecks(p, 1).clean).toBe(false)
  })

  it("flags missing sections, unknown or duplicate routes, bad numbering and disorder", () => {
    const partial = parseCompletion("Route A: correct\nStep 1: x")
    expect(formatChecks(partial, 2)).toMatchObject({ verdicts: false, reflection: false, steps: true, answer: false })
    const wrongNames = parseCompletion("Route A: correct\nRoute E: correct\nReflection: r\nStep 1: x\nAnswer: 1")
    expect(wrongNames.verdicts[1]?.index).toBe(4)
    expect(formatChecks(wrongNames, 2).verdicts).toBe(false)
    const dup = parseCompletion("Route A: correct\nRoute A: wrong\nReflection: r\nStep 1: x\nAnswer: 1")
    expect(verdictFor(dup, 0)?.verdict).toBe("correct")
    expect(formatChecks(dup, 2).verdicts).toBe(false)
    expect(formatChecks(parseCompletion("Step 1: a\nStep 3: b\nAnswer: 1"), 0).steps).toBe(false)
    const disordered = parseCompletion("Step 1: a\nRoute A: correct\nReflection: r\nAnswer: 1")
    expect(disordered.ordered).toBe(false)
    expect(formatChecks(parseCompletion("Route A: ???\nReflection: r\nStep 1: a\nAnswer: 1"), 1).verdicts).toBe(false)
  })

  it("expects no route sections when no routes were shown", () => {
    expect(formatChecks(parseCompletion("Step 1: a\nAnswer: 1"), 0)).toEqual({
      noRouteSections: true,
      steps: true,
      answer: true,
      order: true,
      clean: true
    })
    expect(formatChecks(parseCompletion("Route A: correct\nStep 1: a\nAnswer: 1"), 0).noRouteSections).toBe(false)
    // Absence checks do not reward a completion with no content of its own.
    expect(formatScore(parseCompletion(""), 0)).toBe(0)
    expect(formatScore(parseCompletion("just chatting"), 3)).toBe(0)
  })

  it("never throws and stays well-typed on arbitrary and adversarial strings", () => {
    const check = (s: string) => {
      const p = parseCompletion(s)
      for (const n of [0, 1, 3, 26]) {
        const score = formatScore(p, n)
        expect(score >= 0 && score <= 1).toBe(true)
      }
      for (const v of p.verdicts)
        expect(v.index === undefined || (Number.isInteger(v.index) && v.index >= 0 && v.index < 26)).toBe(true)
      for (const st of p.steps) expect(Number.isFinite(st.number)).toBe(true)
      expect(typeof p.judgeText).toBe("string")
    }
    fc.assert(fc.property(adversarialArb, check), params(1500))
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 400 }), check), params(500))
    check("Step 1: ".repeat(50_000))
    check("\n".repeat(100_000) + "Answer: 1")
  })
})
