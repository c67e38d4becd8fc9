import { Prompt, Rng } from "@realm-lm/core"
import type { Curriculum, Route } from "@realm-lm/core"
import { Result } from "effect"
import fc from "fast-check"
import { assert, describe, it } from "vitest"
import { defaults } from "../src/MrpvConfig.ts"
import type { MrpvConfig } from "../src/MrpvConfig.ts"
import { buildPrompt, hintStepCount, renderMessages, selectRoutes } from "../src/PromptBuilder.ts"
import { params, routesArb } from "./fixtures/arbitraries.ts"
import { claim, claimRoutes, triage } from "./fixtures/problems.ts"

const decision = (seed: number, routeCount: number, hintFraction = 0, strength = 0.7): Curriculum.GuidanceDecision => ({
  problemId: claim.id,
  strength,
  routeCount,
  hintFraction,
  rescue: false,
  seed
})
const build = (config: MrpvConfig, routes: ReadonlyArray<Route.Route>, d: Curriculum.GuidanceDecision) =>
  Result.getOrThrow(buildPrompt(config, claim, routes, d))
const text = (p: Prompt.Prompt) => Prompt.toPlainText(p)

describe("buildPrompt", () => {
  it("renders the compact assisted prompt exactly (README example)", () => {
    const shown = [claimRoutes[1]!, claimRoutes[3]!]
    const [message] = renderMessages("compact", claim, shown)
    assert.strictEqual(
      message?.content,
      [
        "Q: A claim of 1,200 has a deductible of 200 and 80% coverage. What is paid?",
        "Route A:",
        "Step 1: covered share = 80% of 1200 = 960",
        "Step 2: payout = 960 - 80% * 200 = 800",
        "Answer: 800",
        "Route B:",
        "Step 1: claim after copay = 1200 - 300 = 900",
        "Step 2: payout = 900 * 80% = 720",
        "Answer: 720",
        "Verify each route, then solve."
      ].join("\n")
    )
  })

  it("is deterministic in the decision seed and varies across seeds", () => {
    assert.deepStrictEqual(build(defaults, claimRoutes, decision(7, 3)), build(defaults, claimRoutes, decision(7, 3)))
    const orders = new Set(
      Array.from({ length: 40 }, (_, s) =>
        build(defaults, claimRoutes, decision(s, 3)).prompt.guidance.routeIds.join(",")
      )
    )
    assert.isAbove(orders.size, 10)
  })

  it("records exactly the routes shown, in display order, and caps the count at maxRoutes and availability", () => {
    const b = build({ ...defaults, maxRoutes: 2 }, claimRoutes, decision(3, 5))
    assert.deepInclude(b.prompt.guidance, { mode: "assisted", strength: 0.7 })
    assert.deepStrictEqual(
      b.prompt.guidance.routeIds,
      b.shown.map((r) => r.id)
    )
    assert.lengthOf(b.shown, 2)
    assert.lengthOf(build(defaults, claimRoutes.slice(0, 2), decision(3, 4)).shown, 2)
  })

  it("places positives uniformly over positions across seeds (chi-square, 4000 seeds)", () => {
    const routes = [claimRoutes[0]!, claimRoutes[2]!, claimRoutes[3]!, claimRoutes[4]!] // 1 positive, 3 negatives
    const counts = [0, 0, 0, 0]
    const n = 4000
    for (let s = 0; s < n; s++) {
      const b = build(defaults, routes, decision(s, 4))
      counts[b.shown.findIndex((r) => r.label === "positive")]! += 1
    }
    const chi2 = counts.reduce((acc, c) => acc + (c - n / 4) ** 2 / (n / 4), 0)
    assert.isBelow(chi2, 16.27) // p = 0.001 at 3 degrees of freedom
  })

  it("draws all-negative, all-positive and mixed prompts at the configured rates", () => {
    const many: Array<Route.Route> = [
      ...Array.from({ length: 4 }, (_, i) => ({ ...claimRoutes[0]!, id: `p${i}` })),
      ...Array.from({ length: 4 }, (_, i) => ({ ...claimRoutes[2]!, id: `n${i}` }))
    ]
    const config = { ...defaults, mix: { positiveRatio: 0.5, allPositive: 0.3, allNegative: 0.2 } }
    const n = 4000
    let allPos = 0,
      allNeg = 0
    for (let s = 0; s < n; s++) {
      const pos = build(config, many, decision(s, 3)).shown.filter((r) => r.label === "positive").length
      if (pos === 3) allPos++
      if (pos === 0) allNeg++
    }
    // Mixed prompts also land on 0 or 3 positives with probability 1/8 each.
    const expPos = 0.3 + 0.5 / 8,
      expNeg = 0.2 + 0.5 / 8
    assert.isBelow(Math.abs(allPos / n - expPos), 4 * Math.sqrt((expPos * (1 - expPos)) / n))
    assert.isBelow(Math.abs(allNeg / n - expNeg), 4 * Math.sqrt((expNeg * (1 - expNeg)) / n))
  })

  it("never leaks labels, ids, sources or notes into the text; the text depends only on steps and answers", () => {
    fc.assert(
      fc.property(
        routesArb(),
        fc.integer(),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom("compact" as const, "verbose" as const),
        (routes, seed, k, style) => {
          const config = { ...defaults, style, maxRoutes: 6 }
          const b = build(config, routes, decision(seed, k))
          const t = text(b.prompt)
          assert.notMatch(t, /positive|negative|RID\d|SRCZZ|NOTEKK/i)
          // Flipping every label cannot change how the same routes render.
          const flipped = b.shown.map((r) => ({
            ...r,
            label: r.label === "positive" ? ("negative" as const) : ("positive" as const)
          }))
          assert.deepStrictEqual(renderMessages(style, claim, flipped), b.prompt.messages)
          // The instructions are the same whatever the composition: only the route blocks differ.
          const skeleton = t.replace(/Route [A-Z]:\n(?:Step \d+: .*\n)*Answer: .*\n/g, "")
          const other = text(
            Result.getOrThrow(
              buildPrompt(
                config,
                claim,
                routes.map((r) => ({ ...r, label: "negative" as const })),
                decision(seed, k)
              )
            ).prompt
          )
          assert.strictEqual(
            other.replace(/Route [A-Z]:\n(?:Step \d+: .*\n)*Answer: .*\n/g, "").replace(/\d+ candidate solutions/, ""),
            skeleton.replace(/\d+ candidate solutions/, "")
          )
        }
      ),
      params(300)
    )
  })

  it("gives a hint prefix of a positive route when no routes are requested", () => {
    const b = build(defaults, claimRoutes, decision(5, 0, 0.5))
    assert.strictEqual(b.prompt.guidance.mode, "hint")
    assert.match(b.prompt.guidance.hint!, /^Step 1: [^\n]+$/)
    assert.include(b.prompt.messages[0]?.content, `Hint:\n${b.prompt.guidance.hint}\nSolve.`)
    assert.deepStrictEqual(build(defaults, claimRoutes, decision(5, 0, 0.2)).prompt.guidance, {
      mode: "autonomous",
      strength: 0.7,
      routeIds: []
    })
    assert.strictEqual(hintStepCount(1, 4), 4)
    assert.strictEqual(hintStepCount(0.75, 4), 3)
    assert.strictEqual(hintStepCount(0.7, 3), 2)
  })

  it("puts the hint at the start of the reply with hintPlacement prefill, leaving the autonomous messages", () => {
    const prefilled = { ...defaults, hintPlacement: "prefill" as const }
    const b = build(prefilled, claimRoutes, decision(5, 0, 0.5))
    const autonomous = build(prefilled, claimRoutes, decision(5, 0, 0))
    assert.deepStrictEqual(b.prompt.messages, autonomous.prompt.messages)
    assert.match(b.prompt.prefill!, /^Step 1: [^\n]+\n$/)
    assert.deepStrictEqual<unknown>(b.prompt.guidance, {
      mode: "hint",
      strength: 0.7,
      routeIds: [],
      hint: b.prompt.prefill?.trimEnd()
    })
    assert.strictEqual(b.solution?.length, 2)
    assert.strictEqual(b.prompt.prefill, `Step 1: ${b.solution?.[0]}\n`)
    assert.isTrue(text(b.prompt).endsWith(`assistant:${b.prompt.prefill}`))
    // The same decision with the hint in the prompt: same hint text, no prefill.
    const inPrompt = build(defaults, claimRoutes, decision(5, 0, 0.5))
    assert.isUndefined(inPrompt.prompt.prefill)
    assert.strictEqual(inPrompt.prompt.guidance.hint, b.prompt.guidance.hint)
  })

  it("falls back to gold steps for hints and to the bare question when nothing is available", () => {
    const negatives = claimRoutes.filter((r) => r.label === "negative")
    assert.strictEqual(
      build(defaults, negatives, decision(1, 0, 1)).prompt.guidance.hint,
      "Step 1: claim after deductible = 1200 - 200 = 1000\nStep 2: payout = 1000 * 80% = 800"
    )
    const bare = Result.getOrThrow(buildPrompt(defaults, triage, [], { ...decision(1, 3, 0.5), problemId: triage.id }))
    assert.strictEqual(bare.prompt.guidance.mode, "autonomous")
    assert.deepStrictEqual(bare.prompt.messages, [{ role: "user", content: `Q: ${triage.question}\nSolve.` }])
  })

  it("fails with VerifierError on missing guidance under missingRoutes=fail, and on duplicate ids", () => {
    const strict = { ...defaults, missingRoutes: "fail" as const }
    const noRoutes = buildPrompt(strict, claim, [], decision(1, 2))
    assert.match(
      Result.isFailure(noRoutes) && noRoutes.failure._tag === "VerifierError" ? noRoutes.failure.detail : "",
      /none/
    )
    const noHint = buildPrompt(strict, triage, [], { ...decision(1, 0, 0.5), problemId: triage.id })
    assert.isTrue(Result.isFailure(noHint))
    const dup = buildPrompt(defaults, claim, [claimRoutes[0]!, claimRoutes[0]!], decision(1, 2))
    assert.match(Result.isFailure(dup) ? dup.failure.detail : "", /duplicate route id "pos-1"/)
  })

  it("renders the verbose style as system + user messages with format instructions and label options", () => {
    const b = Result.getOrThrow(
      buildPrompt({ ...defaults, style: "verbose" }, triage, [], { ...decision(1, 0), problemId: triage.id })
    )
    assert.deepStrictEqual(
      b.prompt.messages.map((m) => m.role),
      ["system", "user"]
    )
    assert.include(b.prompt.messages[1]?.content, "The answer is one of: approve, deny, review.")
    assert.notInclude(b.prompt.messages[1]?.content, "Route A")
  })
})

describe("selectRoutes", () => {
  it("fills the requested count from the other label when one runs short", () => {
    const allNegative = { positiveRatio: 0, allPositive: 0, allNegative: 1 }
    const picked = selectRoutes([claimRoutes[0]!, claimRoutes[1]!, claimRoutes[2]!], 3, allNegative, Rng.Rng.make(1))
    assert.deepStrictEqual(picked.map((r) => r.id).toSorted(), ["neg-value", "pos-1", "pos-2"])
    assert.deepStrictEqual(selectRoutes(claimRoutes, 0, allNegative, Rng.Rng.make(1)), [])
  })
})

describe("renderMessages, echoed answers", () => {
  it("puts each route's answer in its header and no Answer line in the block", () => {
    const [message] = renderMessages("compact", claim, [{ steps: ["a = 1", "b = 2"], answer: "800" }], [], {
      order: "solve-first",
      echoAnswers: true
    })
    assert.strictEqual(
      message?.content,
      `Q: ${claim.question}\nRoute A: answer 800\nStep 1: a = 1\nStep 2: b = 2\nSolve, then verify each route.`
    )
  })

  it("verbose instructions spell out the compared verdict line", () => {
    const route = [{ steps: ["a = 1"], answer: "800" }]
    const text = (format: Parameters<typeof renderMessages>[4]) =>
      renderMessages("verbose", claim, route, [], format)[1]?.content ?? ""
    assert.include(
      text({ order: "solve-first", echoAnswers: true, compareAnswers: true }),
      "Route A: answer <its answer> vs <your answer>, correct"
    )
    assert.include(text({ order: "solve-first", echoAnswers: true }), "Route A: answer <its answer>, correct")
    assert.include(text({ order: "solve-first", echoAnswers: false }), "Route A: correct")
  })
})
