import { Result } from "effect"
import fc from "fast-check"
import { assert, describe, it } from "vitest"
import { formatScore, parseCompletion } from "../src/CompletionParser.ts"
import { defaults } from "../src/MrpvConfig.ts"
import { renderTarget, renderTargetWithVerdicts, sftPair } from "../src/Target.ts"
import { params, routesArb } from "./fixtures/arbitraries.ts"
import { claim, claimRoutes, triage, triageRoutes } from "./fixtures/problems.ts"

describe("renderTarget", () => {
  it("writes verdicts, the decisive pattern, gold steps and gold answer (README example)", () => {
    assert.strictEqual(
      renderTarget(claim, [claimRoutes[1]!, claimRoutes[2]!, claimRoutes[3]!]),
      [
        "Route A: correct",
        "Route B: wrong at step 2",
        "Route C: wrong at step 1",
        "Reflection: Route B step 2: 900 instead of 800",
        "Step 1: claim after deductible = 1200 - 200 = 1000",
        "Step 2: payout = 1000 * 80% = 800",
        "Answer: 800"
      ].join("\n")
    )
  })

  it("prefers the corpus note, handles all-positive sets and prompts without routes", () => {
    assert.include(
      renderTarget(claim, [claimRoutes[3]!]),
      "Reflection: Route A step 1: applies a copay instead of the deductible"
    )
    assert.include(renderTarget(claim, [claimRoutes[0]!, claimRoutes[1]!]), "Reflection: every route checks out.")
    assert.strictEqual(
      renderTarget(claim, []),
      "Step 1: claim after deductible = 1200 - 200 = 1000\nStep 2: payout = 1000 * 80% = 800\nAnswer: 800"
    )
    // No gold steps: the first positive route shown supplies the solution.
    assert.strictEqual(
      renderTarget(triage, triageRoutes),
      [
        "Route A: correct",
        "Route B: wrong at step 1",
        'Reflection: Route B step 1: "covers water damage" instead of "excludes floods"',
        "Step 1: the policy excludes floods",
        "Step 2: an excluded peril is denied",
        "Answer: deny"
      ].join("\n")
    )
  })

  it("always parses back with a perfect format score and the right verdicts", () => {
    fc.assert(
      fc.property(routesArb(), (routes) => {
        const target = renderTarget(claim, routes)
        const parsed = parseCompletion(target)
        assert.strictEqual(formatScore(parsed, routes.length), 1)
        assert.deepStrictEqual(
          parsed.verdicts.map((v) => v.verdict),
          routes.map((r) => (r.label === "positive" ? "correct" : "wrong"))
        )
        assert.strictEqual(parsed.answer, claim.gold)
      }),
      params(300)
    )
  })

  it("solve-first writes the steps and answer, then the verdicts and reflection", () => {
    assert.strictEqual(
      renderTarget(claim, [claimRoutes[1]!, claimRoutes[2]!], { order: "solve-first" }),
      [
        "Step 1: claim after deductible = 1200 - 200 = 1000",
        "Step 2: payout = 1000 * 80% = 800",
        "Answer: 800",
        "Route A: correct",
        "Route B: wrong at step 2",
        "Reflection: Route B step 2: 900 instead of 800"
      ].join("\n")
    )
    // Without routes both orders are the same completion.
    assert.strictEqual(renderTarget(claim, [], { order: "solve-first" }), renderTarget(claim, []))
  })

  it("solve-first targets parse back, in their own order, with a perfect format score and the right verdicts", () => {
    fc.assert(
      fc.property(routesArb(), (routes) => {
        const parsed = parseCompletion(renderTarget(claim, routes, { order: "solve-first" }), "solve-first")
        assert.strictEqual(formatScore(parsed, routes.length), 1)
        assert.deepStrictEqual(
          parsed.verdicts.map((v) => v.verdict),
          routes.map((r) => (r.label === "positive" ? "correct" : "wrong"))
        )
        assert.strictEqual(parsed.answer, claim.gold)
        assert.deepStrictEqual(parsed.trailing, [])
      }),
      params(300)
    )
  })

  /** A solve-first target over `claimRoutes[1..2]` parses to A correct, B wrong at step 2, with a full format score. */
  const assertSecondAndThirdVerdicts = (target: string) => {
    const parsed = parseCompletion(target, "solve-first")
    assert.deepStrictEqual(
      parsed.verdicts.map((v) => [v.index, v.verdict, v.step]),
      [
        [0, "correct", undefined],
        [1, "wrong", 2]
      ]
    )
    assert.strictEqual(formatScore(parsed, 2), 1)
  }

  it("echoed answers: verdict lines repeat each route's answer and still parse to the right verdicts and steps", () => {
    const routes = [claimRoutes[1]!, claimRoutes[2]!]
    const target = renderTarget(claim, routes, { order: "solve-first", echoAnswers: true })
    assert.deepStrictEqual(target.split("\n").slice(3, 5), [
      `Route A: answer ${claimRoutes[1]!.answer}, correct`,
      `Route B: answer ${claimRoutes[2]!.answer}, wrong at step 2`
    ])
    assertSecondAndThirdVerdicts(target)
  })

  it("compared answers: verdict lines put each route's answer next to the gold one and parse to the right verdicts", () => {
    const routes = [claimRoutes[1]!, claimRoutes[2]!]
    const target = renderTarget(claim, routes, { order: "solve-first", echoAnswers: true, compareAnswers: true })
    assert.deepStrictEqual(target.split("\n").slice(3, 5), [
      `Route A: answer ${claimRoutes[1]!.answer} vs ${claim.gold}, correct`,
      `Route B: answer ${claimRoutes[2]!.answer} vs ${claim.gold}, wrong at step 2`
    ])
    assertSecondAndThirdVerdicts(target)
    // Without echoAnswers there is nothing to compare: the plain verdict line.
    assert.strictEqual(
      renderTarget(claim, routes, { order: "solve-first", compareAnswers: true }),
      renderTarget(claim, routes, { order: "solve-first" })
    )
  })

  it("a compared answer that reads like a verdict is data, not the verdict", () => {
    const parsed = parseCompletion(
      "Step 1: x\nAnswer: true\nRoute A: answer false vs true, wrong\nRoute B: answer true vs true, correct",
      "solve-first"
    )
    assert.deepStrictEqual(
      parsed.verdicts.map((v) => v.verdict),
      ["wrong", "correct"]
    )
  })

  it("each order's target is out of order for the other parser", () => {
    const routes = [claimRoutes[1]!, claimRoutes[2]!]
    assert.isFalse(parseCompletion(renderTarget(claim, routes), "solve-first").ordered)
    // Read by the verify-first parser, a solve-first target's verdicts come after the answer: trailing, not verdicts.
    const crossed = parseCompletion(renderTarget(claim, routes, { order: "solve-first" }))
    assert.deepStrictEqual(crossed.verdicts, [])
    assert.lengthOf(crossed.trailing, 3)
  })
})

describe("sftPair", () => {
  it("marks each verdict word, in route order, for both orders and every echo", () => {
    const routes = [claimRoutes[1]!, claimRoutes[2]!, claimRoutes[3]!]
    const settings = [
      {},
      { order: "solve-first" as const },
      { order: "solve-first" as const, echoAnswers: true },
      { order: "solve-first" as const, echoAnswers: true, compareAnswers: true }
    ]
    for (const options of settings) {
      const rendered = renderTargetWithVerdicts(claim, routes, options)
      assert.strictEqual(rendered.text, renderTarget(claim, routes, options))
      assert.deepStrictEqual(
        rendered.verdicts.map((v) => rendered.text.slice(v.start, v.end)),
        routes.map((r) => (r.label === "positive" ? "correct" : "wrong")),
        JSON.stringify(options)
      )
      // Each span is the verdict of its own route's line.
      rendered.verdicts.forEach((v, i) => {
        const lineStart = rendered.text.lastIndexOf("\n", v.start) + 1
        assert.isTrue(rendered.text.startsWith(`Route ${"ABC"[i]}: `, lineStart))
      })
    }
    assert.deepStrictEqual(renderTargetWithVerdicts(claim, []).verdicts, [])
  })

  it("pairs the built prompt with the target for exactly the routes it shows", () => {
    const decision = { problemId: claim.id, strength: 1, routeCount: 3, hintFraction: 0, rescue: false, seed: 4 }
    const pair = Result.getOrThrow(sftPair(defaults, claim, claimRoutes, decision))
    const shown = pair.prompt.guidance.routeIds.map((id) => claimRoutes.find((r) => r.id === id)!)
    assert.lengthOf(shown, 3)
    assert.strictEqual(pair.completion, renderTarget(claim, shown))
    assert.deepStrictEqual(pair.emphasis, renderTargetWithVerdicts(claim, shown).verdicts)
    const bare = Result.getOrThrow(sftPair(defaults, claim, claimRoutes, { ...decision, routeCount: 0 }))
    assert.strictEqual(bare.prompt.guidance.mode, "autonomous")
    assert.strictEqual(bare.completion, renderTarget(claim, []))
    assert.isUndefined(bare.emphasis, "nothing to verify, nothing marked")
  })

  it("continues a prefill hint's route: prefill + completion is that route's whole target", () => {
    const config = { ...defaults, hintPlacement: "prefill" as const }
    for (let seed = 0; seed < 12; seed++) {
      const pair = Result.getOrThrow(
        sftPair(config, claim, claimRoutes, {
          problemId: claim.id,
          strength: 1,
          routeCount: 0,
          hintFraction: 0.5,
          rescue: false,
          seed
        })
      )
      const route = claimRoutes.find((r) => r.label === "positive" && pair.prompt.prefill === `Step 1: ${r.steps[0]}\n`)
      assert.isDefined(route, `seed ${seed}: the prefill starts a positive route`)
      assert.strictEqual(pair.completion, `Step 2: ${route!.steps[1]}\nAnswer: ${claim.gold}`)
      assert.strictEqual(pair.prompt.prefill + pair.completion, renderTarget(claim, [], { solution: route!.steps }))
    }
  })
})
