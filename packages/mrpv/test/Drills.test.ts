/**
 * Comparison drills: each line's verdict is exactly the equality of its two numbers, in the compared-answers
 * format the completion parser reads; verdict words are marked; about half the pairs are equal; the same seed gives
 * the same drills; the Verifier offers drills only when its verdict lines compare answers.
 */
import { AnswerJudge } from "@realm-lm/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { parseCompletion } from "../src/CompletionParser.ts"
import * as Drills from "../src/Drills.ts"
import * as MrpvConfig from "../src/MrpvConfig.ts"
import * as Verifier from "../src/Verifier.ts"

const config = Schema.decodeUnknownSync(MrpvConfig.MrpvConfig)({
  order: "solve-first",
  echoAnswers: true,
  compareAnswers: true,
  drills: { lines: 4, min: 20, max: 120 }
})

describe("Drills.comparisonDrills", () => {
  const drills = Drills.comparisonDrills({ count: 300, seed: 5 }, config.drills)

  it("writes verdict lines whose verdict is the equality of their two numbers, verdict words marked", () => {
    let equal = 0
    for (const d of drills) {
      assert.strictEqual(d.prompt.messages[0]?.content, Drills.drillPrompt)
      assert.strictEqual(d.prompt.guidance.mode, "autonomous")
      const lines = d.completion.split("\n")
      assert.lengthOf(lines, 4)
      assert.deepStrictEqual(
        d.emphasis?.map((s) => d.completion.slice(s.start, s.end)),
        lines.map((l) => (l.endsWith("correct") ? "correct" : "wrong"))
      )
      lines.forEach((line, k) => {
        const m = /^Route ([A-Z]): answer (-?\d+) vs (\d+), (correct|wrong)$/.exec(line)
        assert.isNotNull(m, line)
        assert.strictEqual(m![1], "ABCD"[k])
        const [route, own] = [Number(m![2]), Number(m![3])]
        assert.isTrue(own >= 20 && own <= 120, line)
        assert.strictEqual(m![4], route === own ? "correct" : "wrong", line)
        if (route === own) equal++
      })
      // The parser reads them as the verdicts they state (the answer before them is the drill's own, absent here).
      const parsed = parseCompletion(`Answer: 1\n${d.completion}`, "solve-first")
      assert.deepStrictEqual(
        parsed.verdicts.map((v) => v.verdict),
        lines.map((l) => (l.endsWith("correct") ? "correct" : "wrong"))
      )
    }
    assert.isTrue(equal > 0.42 * 1200 && equal < 0.58 * 1200, `${equal} of 1200 pairs equal`)
  })

  it("is the same for the same seed and differs for another", () => {
    assert.deepStrictEqual(Drills.comparisonDrills({ count: 4, seed: 5 }, config.drills), drills.slice(0, 4))
    assert.notDeepEqual(Drills.comparisonDrills({ count: 4, seed: 6 }, config.drills), drills.slice(0, 4))
  })
})

describe("Verifier.drills", () => {
  const judge = Layer.succeed(AnswerJudge.AnswerJudge, {
    extract: () => undefined,
    equivalent: () => false,
    judge: () => ({ correct: false })
  } as unknown as AnswerJudge.AnswerJudge["Service"])

  it.effect("exists with compared answers only", () =>
    Effect.gen(function* () {
      const comparing = yield* Verifier.make(config)
      assert.lengthOf(comparing.drills?.({ count: 2, seed: 0 }) ?? [], 2)
      const plain = yield* Verifier.make(MrpvConfig.defaults)
      assert.isUndefined(plain.drills)
    }).pipe(Effect.provide(judge))
  )
})
