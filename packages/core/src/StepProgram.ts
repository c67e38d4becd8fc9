/**
 * Worked solutions as data: a step program is the ordered list of rule applications (each one integer
 * arithmetic operation on a running value) that a domain's solver found. Task sources put it in
 * `problem.metadata.program`; rule teachers read it to write correct and deliberately wrong routes. Versioned.
 */
import { Schema } from "effect"

/** One arithmetic operation on the running value. Percentages are integer percents, rounded down. */
export const Op = Schema.Literals(["set", "add", "sub", "mul", "div", "pctOff", "pctUp", "cap", "atLeast", "keep"])
export type Op = typeof Op.Type

/** The fields of a rule applied as one operation, shared by steps, their wrong versions and spurious steps. */
const applicationFields = {
  /** Rule identifier from the rulebook, e.g. `"R5"`. */
  rule: Schema.String,
  /** Short text before the operation, e.g. `"weight 7kg"`. */
  label: Schema.String,
  op: Op,
  arg: Schema.Int
}

/** A plausible wrong version of a step: a misread rule, or an exception ignored so the overridden rule applies. */
export const Alternative = Schema.Struct({
  kind: Schema.Literals(["misapply", "skip-exception"]),
  ...applicationFields,
  /** What the mistake is, for decisive-step notes ("used zone C fee"). */
  note: Schema.String
})
export type Alternative = typeof Alternative.Type

/** One rule application. Steps sharing a `block` commute (additive surcharges) and may be written in any order. */
export const ProgramStep = Schema.Struct({
  ...applicationFields,
  /** True when the step is an exception overriding another rule. */
  exception: Schema.optionalKey(Schema.Boolean),
  block: Schema.optionalKey(Schema.Int),
  alternatives: Schema.optionalKey(Schema.Array(Alternative))
})
export type ProgramStep = typeof ProgramStep.Type

/** A rule whose condition does not hold but that a careless solver might apply right after step `after` (0-based). */
export const Spurious = Schema.Struct({
  after: Schema.Int,
  ...applicationFields,
  note: Schema.String
})
export type Spurious = typeof Spurious.Type

/** A complete worked solution. */
export const StepProgram = Schema.Struct({
  version: Schema.Literal(1),
  steps: Schema.Array(ProgramStep),
  spurious: Schema.optionalKey(Schema.Array(Spurious))
})
export type StepProgram = typeof StepProgram.Type

/** Apply one operation to the running value `v` (integers in, integer out). */
export const apply = (op: Op, v: number, arg: number): number => {
  switch (op) {
    case "set":
      return arg
    case "add":
      return v + arg
    case "sub":
      return v - arg
    case "mul":
      return v * arg
    case "div":
      return Math.floor(v / arg)
    case "pctOff":
      return v - Math.floor((v * arg) / 100)
    case "pctUp":
      return v + Math.floor((v * arg) / 100)
    case "cap":
      return Math.min(v, arg)
    case "atLeast":
      return Math.max(v, arg)
    case "keep":
      return v
  }
}

/** Render one step as its `Step i:` body, given the value before and the value written after it. */
export const renderStep = (
  step: { readonly label: string; readonly op: Op; readonly arg: number },
  before: number,
  after: number
): string => {
  const { label, op, arg } = step
  switch (op) {
    case "set":
    case "keep":
      return `${label} = ${after}`
    case "add":
      return `${label} +${arg} = ${after}`
    case "sub":
      return `${label} -${arg} = ${after}`
    case "mul":
      return `${label} x${arg} = ${after}`
    case "div":
      return `${label} /${arg} = ${after}`
    case "pctOff":
      return `${label} -${arg}% -${before - after} = ${after}`
    case "pctUp":
      return `${label} +${arg}% +${after - before} = ${after}`
    case "cap":
    case "atLeast":
      return `${label} ${arg} = ${after}`
  }
}

/** Running values after each step: `values[i]` is the value after step i. */
export const evaluate = (steps: ReadonlyArray<Pick<ProgramStep, "op" | "arg">>): Array<number> => {
  const values: Array<number> = []
  let v = 0
  for (const step of steps) {
    v = apply(step.op, v, step.arg)
    values.push(v)
  }
  return values
}
