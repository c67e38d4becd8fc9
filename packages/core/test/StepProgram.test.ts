import { assert, describe, it } from "vitest"
import * as StepProgram from "../src/StepProgram.ts"

describe("StepProgram", () => {
  it("applies each operation with integer rounding rules (percentages rounded down)", () => {
    assert.strictEqual(StepProgram.apply("set", 99, 12), 12)
    assert.strictEqual(StepProgram.apply("add", 12, 8), 20)
    assert.strictEqual(StepProgram.apply("sub", 20, 5), 15)
    assert.strictEqual(StepProgram.apply("mul", 15, 3), 45)
    assert.strictEqual(StepProgram.apply("div", 15, 2), 7)
    assert.strictEqual(StepProgram.apply("pctOff", 54, 10), 49) // 5.4 rounded down to 5
    assert.strictEqual(StepProgram.apply("pctUp", 53, 50), 79) // 26.5 rounded down to 26
    assert.strictEqual(StepProgram.apply("cap", 102, 80), 80)
    assert.strictEqual(StepProgram.apply("cap", 60, 80), 60)
    assert.strictEqual(StepProgram.apply("atLeast", 8, 10), 10)
    assert.strictEqual(StepProgram.apply("keep", 36, 0), 36)
  })

  it("evaluates running values and renders compact step lines, showing percentage amounts", () => {
    const steps: ReadonlyArray<StepProgram.ProgramStep> = [
      { rule: "R1", label: "base zone B", op: "set", arg: 12 },
      { rule: "R2", label: "weight 7kg", op: "add", arg: 8 },
      { rule: "R12", label: "member", op: "pctOff", arg: 10 }
    ]
    assert.deepStrictEqual(StepProgram.evaluate(steps), [12, 20, 18])
    assert.strictEqual(StepProgram.renderStep(steps[2]!, 20, 18), "member -10% -2 = 18")
  })
})
