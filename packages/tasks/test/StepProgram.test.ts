import { assert, describe, it } from "vitest"
import { StepProgram as Format } from "@realm-lm/core"
import * as StepProgram from "../src/StepProgram.ts"

describe("StepProgram", () => {
  it("renders compact step lines, showing percentage amounts", () => {
    const program: Format.StepProgram = {
      version: 1,
      steps: [
        { rule: "R1", label: "base zone B", op: "set", arg: 12 },
        { rule: "R2", label: "weight 7kg", op: "add", arg: 8 },
        { rule: "R6", label: "fragile waived", op: "keep", arg: 0, exception: true },
        { rule: "R10", label: "express", op: "mul", arg: 2 },
        { rule: "R12", label: "member", op: "pctOff", arg: 10 },
        { rule: "R15", label: "cap", op: "cap", arg: 30 }
      ]
    }
    assert.deepStrictEqual(StepProgram.solve(program), {
      steps: [
        "base zone B = 12",
        "weight 7kg +8 = 20",
        "fragile waived = 20",
        "express x2 = 40",
        "member -10% -4 = 36",
        "cap 30 = 30"
      ],
      answer: 30
    })
    assert.deepStrictEqual(Format.evaluate(program.steps), [12, 20, 20, 40, 36, 30])
  })

  it("lists a program's rule combination without the base rule, in numeric rule order", () => {
    const program: Format.StepProgram = {
      version: 1,
      steps: ["R1", "R12", "R2", "R10", "R2"].map((rule) => ({ rule, label: rule, op: "keep" as const, arg: 0 }))
    }
    assert.deepStrictEqual(StepProgram.combination(program, ["R1"]), ["R2", "R10", "R12"])
  })
})
