import fc from "fast-check"
import { assert, describe, it } from "vitest"
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
    assert.deepStrictEqual(p.verdicts, [
      { index: 0, name: "A", verdict: "correct", step: undefined },
      { index: 1, name: "B", verdict: "wrong", step: 1 }
    ])
    assert.deepStrictEqual(p.reflections, ["Route B step 1: applies a copay instead of the deductible"])
    assert.deepStrictEqual(
      p.steps.map((s) => s.number),
      [1, 2]
    )
    assert.strictEqual(p.answer, "800")
    assert.strictEqual(
      p.judgeText,
      "Step 1: claim after deductible = 1200 - 200 = 1000\nStep 2: payout = 1000 * 80% = 800\nAnswer: 800"
    )
    assert.deepStrictEqual(formatChecks(p, 2), {
      verdicts: true,
      reflection: true,
      steps: true,
      answer: true,
      order: true,
      clean: true
    })
    assert.strictEqual(formatScore(p, 2), 1)
  })

  it("tolerates markdown, case, CRLF and verdict phrasings", () => {
    const p = parseCompletion(
      "**Route A**: Not correct, see step 3\r\n- route b - INCORRECT (step #2)\r\nRoute C is correct\r\n## Final answer: 12"
    )
    assert.deepStrictEqual(
      p.verdicts.map((v) => [v.index, v.verdict, v.step]),
      [
        [0, "wrong", 3],
        [1, "wrong", 2],
        [2, "correct", undefined]
      ]
    )
    assert.strictEqual(p.answer, "12")
  })

  it("keeps verdict and reflection lines out of the judge's text, and stops at the first answer", () => {
    const p = parseCompletion(
      "Route A: wrong at step 2\nReflection: 900 vs 800\nStep 1: x = 5\nAnswer: 5\nAnswer: 7\nmore"
    )
    assert.strictEqual(p.judgeText, "Step 1: x = 5\nAnswer: 5")
    assert.strictEqual(p.answer, "5")
    assert.deepStrictEqual(p.trailing, ["Answer: 7", "more"])
    assert.isFalse(formatChecks(p, 1).clean)
  })

  it("flags missing sections, unknown or duplicate routes, bad numbering and disorder", () => {
    const partial = parseCompletion("Route A: correct\nStep 1: x")
    assert.deepInclude(formatChecks(partial, 2), { verdicts: false, reflection: false, steps: true, answer: false })
    const wrongNames = parseCompletion("Route A: correct\nRoute E: correct\nReflection: r\nStep 1: x\nAnswer: 1")
    assert.strictEqual(wrongNames.verdicts[1]?.index, 4)
    assert.isFalse(formatChecks(wrongNames, 2).verdicts)
    const dup = parseCompletion("Route A: correct\nRoute A: wrong\nReflection: r\nStep 1: x\nAnswer: 1")
    assert.strictEqual(verdictFor(dup, 0)?.verdict, "correct")
    assert.isFalse(formatChecks(dup, 2).verdicts)
    assert.isFalse(formatChecks(parseCompletion("Step 1: a\nStep 3: b\nAnswer: 1"), 0).steps)
    const disordered = parseCompletion("Step 1: a\nRoute A: correct\nReflection: r\nAnswer: 1")
    assert.isFalse(disordered.ordered)
    assert.isFalse(formatChecks(parseCompletion("Route A: ???\nReflection: r\nStep 1: a\nAnswer: 1"), 1).verdicts)
  })

  it("expects no route sections when no routes were shown", () => {
    assert.deepStrictEqual(formatChecks(parseCompletion("Step 1: a\nAnswer: 1"), 0), {
      noRouteSections: true,
      steps: true,
      answer: true,
      order: true,
      clean: true
    })
    assert.isFalse(formatChecks(parseCompletion("Route A: correct\nStep 1: a\nAnswer: 1"), 0).noRouteSections)
    // Absence checks do not reward a completion with no content of its own.
    assert.strictEqual(formatScore(parseCompletion(""), 0), 0)
    assert.strictEqual(formatScore(parseCompletion("just chatting"), 3), 0)
  })

  it("never throws and stays well-typed on arbitrary and adversarial strings", () => {
    const check = (s: string) => {
      const p = parseCompletion(s)
      for (const n of [0, 1, 3, 26]) {
        const score = formatScore(p, n)
        assert.isTrue(score >= 0 && score <= 1)
      }
      for (const v of p.verdicts)
        assert.isTrue(v.index === undefined || (Number.isInteger(v.index) && v.index >= 0 && v.index < 26))
      for (const st of p.steps) assert.isTrue(Number.isFinite(st.number))
      assert.strictEqual(typeof p.judgeText, "string")
    }
    fc.assert(fc.property(adversarialArb, check), params(1500))
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 400 }), check), params(500))
    check("Step 1: ".repeat(50_000))
    check("\n".repeat(100_000) + "Answer: 1")
  })
})
