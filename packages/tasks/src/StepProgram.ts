/**
 * Solving with step programs (the format lives in `@realm-lm/core` StepProgram): the gold steps and answer of a
 * program, and the rule combination it exercises (what the held-out split is defined over).
 */
import { StepProgram as Format } from "@realm-lm/core"

type StepProgram = Format.StepProgram
const { evaluate, renderStep } = Format

/** The gold step texts and final answer of a program. */
export const solve = (program: StepProgram): { readonly steps: Array<string>; readonly answer: number } => {
  const values = evaluate(program.steps)
  const steps = program.steps.map((step, i) => renderStep(step, i === 0 ? 0 : values[i - 1]!, values[i]!))
  return { steps, answer: values.length === 0 ? 0 : values[values.length - 1]! }
}

/** Sorted distinct rule ids that fire in a program, minus `exclude` (the always-firing base rule). */
export const combination = (program: StepProgram, exclude: ReadonlyArray<string> = []): Array<string> =>
  [...new Set(program.steps.map((s) => s.rule))].filter((r) => !exclude.includes(r)).toSorted(compareRuleIds)

/** Order rule ids like `R2 < R10` (numeric suffix), then lexicographically. */
export const compareRuleIds = (a: string, b: string): number => {
  const na = /(\d+)$/.exec(a)
  const nb = /(\d+)$/.exec(b)
  const pa = na === null ? a : a.slice(0, na.index)
  const pb = nb === null ? b : b.slice(0, nb.index)
  if (pa !== pb) return pa < pb ? -1 : 1
  return (na === null ? 0 : Number(na[1])) - (nb === null ? 0 : Number(nb[1]))
}
