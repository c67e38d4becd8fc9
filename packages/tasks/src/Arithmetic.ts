/**
 * Synthetic multi-step arithmetic word problems, the general-reasoning analogue of the parcel domain: short
 * stories over a closed vocabulary (`Ann has 12 pens. She buys 3 packs of 4. She gives away 5. How many pens
 * now?`), one sentence per operation, integer answers, a held-out split of operation combinations.
 */
import type { Rng } from "@realm-lm/core"
import { Schema } from "effect"
import * as Generated from "./internal/generated.ts"
import { StepProgram as Program } from "@realm-lm/core"
const { apply } = Program
type ProgramStep = Program.ProgramStep
type StepProgram = Program.StepProgram

/** The counting rules, written as guidance for teachers (students never see them). */
export const rulebook = [
  "Counting rules. Apply the sentences in order, one step each, on a running count.",
  "A1 'X has N' starts the count at N.",
  "A2 'gets N more' adds N.",
  "A3 'gives away N' subtracts N.",
  "A4 'buys K packs of M' adds K times M.",
  "A5 'loses half' divides the count by 2.",
  "A6 'doubles them' multiplies the count by 2.",
  "A7 'sells P% of them' subtracts P% of the count, rounded down.",
  "A2 and A4 only add, so neighbouring ones may be applied in any order."
].join("\n")

const people = [
  ["Ann", "She"],
  ["Ben", "He"],
  ["Cal", "He"],
  ["Dee", "She"],
  ["Eva", "She"],
  ["Gus", "He"],
  ["Ivy", "She"],
  ["Max", "He"]
] as const
const items = ["pens", "cards", "eggs", "books", "coins", "shells", "stamps", "beads"] as const

/** Operation kinds by rule id. */
export type Kind = "A2" | "A3" | "A4" | "A5" | "A6" | "A7"

/** What a difficulty level allows. */
export interface LevelSpec {
  /** Number of operations after the start, inclusive range. */
  readonly ops: readonly [number, number]
  readonly kinds: ReadonlyArray<Kind>
  readonly startMax: number
  /** Largest operand of gets/gives. */
  readonly operandMax: number
  /** Largest value the count may reach at any step. */
  readonly valueMax: number
}

/** Levels 1-5: from one addition or subtraction under 30 to seven mixed operations in the thousands. */
export const levels: Readonly<Record<1 | 2 | 3 | 4 | 5, LevelSpec>> = {
  1: { ops: [1, 1], kinds: ["A2", "A3"], startMax: 20, operandMax: 9, valueMax: 30 },
  2: { ops: [2, 2], kinds: ["A2", "A3", "A4"], startMax: 30, operandMax: 15, valueMax: 80 },
  3: { ops: [3, 3], kinds: ["A2", "A3", "A4", "A5", "A6"], startMax: 50, operandMax: 30, valueMax: 200 },
  4: { ops: [4, 5], kinds: ["A2", "A3", "A4", "A5", "A6", "A7"], startMax: 100, operandMax: 60, valueMax: 1000 },
  5: { ops: [6, 7], kinds: ["A2", "A3", "A4", "A5", "A6", "A7"], startMax: 500, operandMax: 200, valueMax: 5000 }
}

/** Configuration of the arithmetic suite (config path `tasks.arithmetic`). */
export const ArithmeticConfig = Schema.Struct({
  ...Generated.seedFields,
  /** Problems per split, with their defaults. There is no transfer split. */
  counts: Generated.countsField({ train: 2000, validation: 200, test: 200, heldout: 200 }),
  ...Generated.splitFields
}).check(Generated.splitChecks)
export type ArithmeticConfig = typeof ArithmeticConfig.Type

/** Decode a config object (missing keys take their defaults). */
export const decodeConfig = Schema.decodeUnknownSync(ArithmeticConfig)

interface Drawn {
  readonly sentence: string
  readonly step: ProgramStep
}

/** A step of `rule` doing `op arg`, whose one wrong route misapplies it as `wrongOp wrongArg` (`note` says how). */
const misapplicable = (
  rule: Kind,
  label: string,
  [op, arg]: readonly [Program.Op, number],
  [wrongOp, wrongArg]: readonly [Program.Op, number],
  note: string
): ProgramStep => ({
  rule,
  label,
  op,
  arg,
  alternatives: [{ kind: "misapply", rule, label, op: wrongOp, arg: wrongArg, note }]
})

/** One operation applicable to count `v`, or `undefined` when the kind does not fit (odd count to halve…). */
const drawOp = (rng: Rng.Rng, kind: Kind, v: number, spec: LevelSpec, pronoun: string): Drawn | undefined => {
  switch (kind) {
    case "A2": {
      const n = rng.intBetween(1, spec.operandMax)
      return {
        sentence: `${pronoun} gets ${n} more.`,
        step: misapplicable("A2", "gets", ["add", n], ["sub", n], "A2 misapplied: subtracted instead of adding")
      }
    }
    case "A3": {
      if (v < 1) return undefined
      const n = rng.intBetween(1, Math.min(v, spec.operandMax))
      return {
        sentence: `${pronoun} gives away ${n}.`,
        step: misapplicable("A3", "gives", ["sub", n], ["add", n], "A3 misapplied: added instead of subtracting")
      }
    }
    case "A4": {
      const k = rng.intBetween(2, Math.max(2, Math.min(9, Math.floor(spec.operandMax / 3))))
      const m = rng.intBetween(2, Math.max(2, Math.min(12, Math.floor(spec.operandMax / 2))))
      const label = `buys ${k}x${m}`
      return {
        sentence: `${pronoun} buys ${k} packs of ${m}.`,
        step: misapplicable(
          "A4",
          label,
          ["add", k * m],
          ["add", k + m],
          "A4 misapplied: added pack count and size instead of multiplying"
        )
      }
    }
    case "A5":
      if (v < 2 || v % 2 !== 0) return undefined
      return {
        sentence: `${pronoun} loses half.`,
        step: misapplicable("A5", "half", ["div", 2], ["sub", 2], "A5 misapplied: subtracted 2 instead of halving")
      }
    case "A6":
      return {
        sentence: `${pronoun} doubles them.`,
        step: misapplicable("A6", "double", ["mul", 2], ["add", 2], "A6 misapplied: added 2 instead of doubling")
      }
    case "A7": {
      const pct = rng.pick([10, 20, 25, 50])
      if (v < 4) return undefined
      const label = "sells"
      return {
        sentence: `${pronoun} sells ${pct}% of them.`,
        step: misapplicable(
          "A7",
          label,
          ["pctOff", pct],
          ["sub", pct],
          `A7 misapplied: subtracted ${pct} instead of ${pct}%`
        )
      }
    }
  }
}

/** Mark maximal runs (length >= 2) of additive steps as commuting blocks. */
const markBlocks = (steps: ReadonlyArray<ProgramStep>): Array<ProgramStep> => {
  const out = steps.map((s) => ({ ...s }))
  let block = 0
  for (let i = 0; i < out.length;) {
    let j = i
    while (j < out.length && out[j]!.op === "add" && out[j]!.rule !== "A1") j++
    if (j - i >= 2) {
      block++
      for (let k = i; k < j; k++) out[k] = { ...out[k]!, block }
    }
    i = j > i ? j : i + 1
  }
  return out
}

/** Draw one story at a level, or `undefined` when it leaves the level's value range. */
const sampleStory = (rng: Rng.Rng, spec: LevelSpec): { question: string; program: StepProgram } | undefined => {
  const [name, pronoun] = rng.pick(people)
  const item = rng.pick(items)
  const start = rng.intBetween(2, spec.startMax)
  const sentences = [`${name} has ${start} ${item}.`]
  const steps: Array<ProgramStep> = [{ rule: "A1", label: "start", op: "set", arg: start }]
  let v = start
  const n = rng.intBetween(spec.ops[0], spec.ops[1])
  for (let i = 0; i < n; i++) {
    const drawn = drawOp(rng, rng.pick(spec.kinds), v, spec, pronoun)
    if (drawn === undefined) return undefined
    v = apply(drawn.step.op, v, drawn.step.arg)
    if (v < 0 || v > spec.valueMax) return undefined
    sentences.push(drawn.sentence)
    steps.push(drawn.step)
  }
  sentences.push(`How many ${item} now?`)
  return { question: sentences.join(" "), program: { version: 1, steps: markBlocks(steps) } }
}

/** The generic-generator spec of a configured arithmetic suite. */
export const spec = (config: ArithmeticConfig): Generated.DomainSpec => ({
  ...Generated.configFields(config),
  domain: "arith",
  baseRules: ["A1"],
  minLevel: { heldout: 3 },
  sample: (rng, level) => {
    const story = sampleStory(rng, levels[level as 1 | 2 | 3 | 4 | 5])
    return story === undefined ? undefined : { ...story, rulebook, metadata: {} }
  }
})

/**
 * The task-source surface of the suite: `generate` draws `index` of a split synchronously (problem `index` for
 * train; distinct evaluation splits skip repeats, see `problems`), `problems` streams a split, `make` is a
 * `TaskSource` over a decoded config, `layerWith` one over an explicit config object (missing keys take defaults;
 * bad values fail with their path), and `layer` reads its config from the config path `tasks.arithmetic` (defaults
 * when absent).
 */
export const { generate, problems, make, layerWith, layer } = Generated.source({
  name: "arith",
  schema: ArithmeticConfig,
  spec,
  configPath: ["tasks", "arithmetic"]
})
