import { describe, expect, it } from "vitest"
import * as StepProgram from "../src/StepProgram.ts"

describe("StepProgram", () => {
  it("applies each operation with integer rounding rules (percentages rounded down)", () => {
    expect(StepProgram.apply("set", 99, 12)).toBe(12)
    expect(StepProgram.apply("add", 12, 8)).toBe(20)
    expect(StepProgram.apply("sub", 20, 5)).toBe(15)
    expect(StepProgram.apply("mul", 15, 3)).toBe(45)
    expect(StepProgram.apply("div", 15, 2)).toBe(7)
    expect(StepProgram.apply("pctOff", 54, 10)).toBe(49) // 5.4 rounded down to 5
    expect(StepProgram.apply("pctUp", 53, 50)).toBe(79) // 26.5 rounded down to 26
    expect(StepProgram.apply("cap", 102, 80)).toBe(80)
    expect(StepProgram.apply("cap", 60, 80)).toBe(60)
    expect(StepProgram.apply("atLeast", 8, 10)).toBe(10)
    expect(StepProgram.apply("keep", 36, 0)).toBe(36)
  })

  it("evaluates running values and renders compact step lines, showing percentage amounts", () => {
    const steps: ReadonlyArray<StepProgram.ProgramStep> = [
      { rule: "R1", label: "base zone B", op: "set", arg: 12 },
      { rule: "R2", label: "weight 7kg", op: "add", arg: 8 },
      { rule: "R12", label: "member", op: "pctOff", arg: 10 }
    ]
    expect(StepProgram.evaluate(steps)).toEqual([12, 20, 18])
    expect(StepProgram.renderStep(steps[2]!, 20, 18)).toBe("member -10% -2 = 18")
  })
})
