/**
 * The comparison-drills stage of the experiments (`examples/experiments/stages/comparison-drills.ts`): every drill
 * line's verdict is exactly whether its two numbers are equal, about half the pairs are equal, numbers stay in range,
 * and the drills are the same for the same seed.
 */
import { assert, describe, it } from "@effect/vitest"
import { drills } from "../../../examples/experiments/stages/comparison-drills.ts"

describe("comparison drills", () => {
  it("writes verdict lines whose verdict is the equality of their two numbers", () => {
    const lines = drills({ count: 400, lines: 3, seed: 1 }).flatMap((l) => {
      const e = JSON.parse(l) as { problemId: string; prompt: string; completion: string }
      assert.match(e.problemId, /^drill\/\d+$/)
      return e.completion.split("\n")
    })
    assert.lengthOf(lines, 1200)
    let equal = 0
    for (const line of lines) {
      const m = /^Route [ABC]: answer (-?\d+) vs (\d+), (correct|wrong)$/.exec(line)
      assert.isNotNull(m, line)
      const [route, own, verdict] = [Number(m![1]), Number(m![2]), m![3]]
      assert.strictEqual(verdict, route === own ? "correct" : "wrong", line)
      assert.isTrue(own >= 10 && own <= 300, line)
      if (route === own) equal++
    }
    assert.isTrue(equal > 540 && equal < 660, `${equal} of 1200 equal`)
    assert.deepStrictEqual(drills({ count: 5, seed: 3 }), drills({ count: 5, seed: 3 }))
    assert.notDeepEqual(drills({ count: 5, seed: 3 }), drills({ count: 5, seed: 4 }))
  })
})
