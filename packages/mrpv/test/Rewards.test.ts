import fc from "fast-check"
import { assert, describe, it } from "vitest"
import { defaults } from "../src/MrpvConfig.ts"
import { parseCompletion } from "../src/CompletionParser.ts"
import { lengthPenalty, rewardBounds, scoreCompletion } from "../src/Rewards.ts"
import { renderTarget } from "../src/Target.ts"
import { adversarialArb, params, routesArb } from "./fixtures/arbitraries.ts"
import { testJudge } from "./fixtures/judge.ts"
import { claim, claimRoutes, idealClaimReward } from "./fixtures/problems.ts"

const shown = [claimRoutes[1]!, claimRoutes[2]!, claimRoutes[3]!] // positive, value error at step 2, rule error at step 1
const score = (completion: string, routes = shown, config = defaults) =>
  scoreCompletion({ config, problem: claim, shown: routes, completion, judge: testJudge })

describe("scoreCompletion", () => {
  it("gives the ideal target the maximum reward, with every component at its weight", () => {
    const s = score(renderTarget(claim, shown))
    assert.deepStrictEqual(s.reward, idealClaimReward)
    assert.strictEqual(s.reward.total, rewardBounds(defaults).max)
    assert.deepStrictEqual(
      s.routes.map((r) => [r.verdict, r.expectedStep, r.statedStep, r.stepRight]),
      [
        ["correct", undefined, undefined, undefined],
        ["wrong", 1, 1, true],
        ["wrong", 0, 0, true]
      ]
    )
  })

  it("scores verdicts, decisive steps and the answer separately", () => {
    const s = score(
      "Route A: correct\nRoute B: correct\nRoute C: wrong at step 2\nReflection: r\nStep 1: x\nAnswer: 900"
    )
    assert.isFalse(s.reward.correct)
    assert.strictEqual(s.reward.components.answer, 0)
    assert.isBelow(Math.abs((s.reward.components.verdict ?? NaN) - (0.5 * 2) / 3), 5e-13)
    assert.strictEqual(s.reward.components.decisive, 0) // B not called wrong, C's step off by one
    assert.strictEqual(
      score(
        "Route A: correct\nRoute B: wrong at step 2\nRoute C: wrong at step 2\nReflection: r\nStep 1: x\nAnswer: 800",
        shown,
        { ...defaults, decisiveTolerance: 1 }
      ).reward.components.decisive,
      0.5
    )
  })

  it("keeps the truth check apart: perfect verification with a wrong answer is visible as correct=false", () => {
    const hacked = renderTarget(claim, shown).replace("Answer: 800", "Answer: 801")
    const s = score(hacked)
    assert.isFalse(s.reward.correct)
    assert.isBelow(Math.abs(s.reward.total - 1.2), 5e-13)
  })

  it("scores prompts without routes on answer and format only (autonomous mode)", () => {
    const s = score("Step 1: 1200 - 200 = 1000\nStep 2: 1000 * 80% = 800\nAnswer: 800", [])
    assert.deepStrictEqual(s.reward, {
      total: 1.2,
      components: { answer: 1, format: 0.2 },
      correct: true,
      answer: "800",
      metrics: { format: 1 }
    })
    assert.isBelow(
      Math.abs((score("Route A: correct\nAnswer: 1,200", []).reward.components.format ?? NaN) - (0.2 * 3) / 5),
      5e-13
    )
  })

  it("uses the judge on the policy's own reasoning, not on verdict lines", () => {
    assert.isFalse(
      score("Route A: correct\nRoute B: wrong at step 800\nRoute C: wrong\nReflection: Answer: 800").reward.correct
    )
  })

  it("applies the length penalty linearly between targetChars and targetChars + spanChars", () => {
    const length = { weight: 0.5, targetChars: 10, spanChars: 20 }
    assert.deepStrictEqual(
      [lengthPenalty(length, 5), lengthPenalty(length, 20), lengthPenalty(length, 30), lengthPenalty(length, 999)],
      [0, -0.25, -0.5, -0.5]
    )
    assert.strictEqual(lengthPenalty({ ...length, weight: 0 }, 999), 0)
    const s = score("Step 1: x\nAnswer: 800", [], { ...defaults, length })
    assert.isBelow(Math.abs((s.reward.components.length ?? NaN) - (-0.5 * (21 - 10)) / 20), 5e-13)
  })

  it("keeps the total within bounds and equal to the sum of its components (property)", () => {
    const weight = fc.double({ min: 0, max: 5, noNaN: true })
    fc.assert(
      fc.property(
        routesArb(),
        fc.oneof(adversarialArb, fc.string({ maxLength: 200 })),
        fc.record({ answer: weight, verdict: weight, decisive: weight, format: weight }),
        weight,
        fc.boolean(),
        (routes, completion, weights, lengthWeight, withRoutes) => {
          const config = { ...defaults, weights, length: { weight: lengthWeight, targetChars: 20, spanChars: 50 } }
          const s = score(completion, withRoutes ? routes : [], config)
          const { min, max } = rewardBounds(config)
          assert.isAtLeast(s.reward.total, min - 1e-12)
          assert.isAtMost(s.reward.total, max + 1e-12)
          let sum = 0
          for (const [name, value] of Object.entries(s.reward.components)) {
            assert.isTrue(Number.isFinite(value))
            if (name === "length") assert.isTrue(value >= -lengthWeight && value <= 0)
            else assert.isTrue(value >= 0 && value <= weights[name as keyof typeof weights] + 1e-12)
            sum += value
          }
          assert.strictEqual(s.reward.total, sum)
          if (!withRoutes) assert.notInclude(Object.keys(s.reward.components), "verdict")
          assert.strictEqual(
            s.reward.correct,
            s.reward.components.answer !== 0 || (weights.answer === 0 && s.judgement.correct)
          )
        }
      ),
      params(500)
    )
  })
})

describe("scoreCompletion, solve-first order", () => {
  const solveFirst = { ...defaults, order: "solve-first" as const }
  it("scores the ideal solve-first completion with the maximum reward, and its verdicts are read after the answer", () => {
    const routes = [claimRoutes[1]!, claimRoutes[2]!, claimRoutes[3]!]
    const scored = scoreCompletion({
      config: solveFirst,
      problem: claim,
      shown: routes,
      completion: renderTarget(claim, routes, { order: "solve-first" }),
      judge: testJudge
    })
    assert.isBelow(Math.abs(scored.reward.total - rewardBounds(solveFirst).max), 5e-13)
    assert.deepStrictEqual(
      scored.routes.map((r) => r.verdictRight),
      [true, true, true]
    )
  })

  it("judges the answer from the steps and answer only, not from the verdict lines after it", () => {
    const completion =
      "Step 1: claim after deductible = 1000\nStep 2: payout = 700\nAnswer: 700\nRoute A: correct\nReflection: Route A gives 800"
    const scored = scoreCompletion({
      config: solveFirst,
      problem: claim,
      shown: [claimRoutes[1]!],
      completion,
      judge: testJudge
    })
    assert.isFalse(scored.reward.correct)
    assert.strictEqual(scored.judgement.extracted, "700")
  })
})

describe("scoreCompletion, answer-only format", () => {
  it("without verdict format checks, an assisted completion with steps and an answer but no verdicts gets the full format score", () => {
    const routes = [claimRoutes[1]!, claimRoutes[2]!]
    const completion = renderTarget(claim, [])
    const withVerdicts = scoreCompletion({
      config: defaults,
      problem: claim,
      shown: routes,
      completion,
      judge: testJudge
    })
    const answerOnly = scoreCompletion({
      config: { ...defaults, weights: { ...defaults.weights, verdict: 0, decisive: 0 }, verdictFormat: false },
      problem: claim,
      shown: routes,
      completion,
      judge: testJudge
    })
    assert.isBelow(withVerdicts.reward.metrics?.["format"] ?? NaN, 1)
    assert.strictEqual(answerOnly.reward.metrics?.["format"], 1)
    assert.isBelow(Math.abs(answerOnly.reward.total - (defaults.weights.answer + defaults.weights.format)), 5e-13)
  })

  it("an echoed answer that reads like a verdict does not decide the verdict", () => {
    const parsed = parseCompletion(
      "Step 1: x\nAnswer: true\nRoute A: answer false, correct\nRoute B: answer true, wrong at step 1",
      "solve-first"
    )
    assert.deepStrictEqual(
      parsed.verdicts.map((v) => [v.verdict, v.step]),
      [
        ["correct", undefined],
        ["wrong", 1]
      ]
    )
  })
})
