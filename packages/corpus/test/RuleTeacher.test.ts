import { assert, describe, it } from "@effect/vitest"
import { Problem } from "@realm-lm/core"
import type { Teacher } from "@realm-lm/core"
import { Effect, Result, Schema } from "effect"
import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import { join } from "node:path"

import { StepProgram as Program } from "@realm-lm/core"
const { apply, renderStep } = Program
type ProgramStep = Program.ProgramStep
type StepProgram = Program.StepProgram
import * as RuleTeacher from "../src/RuleTeacher.ts"

const fixture: Array<Problem.Problem> = readFileSync(
  join(import.meta.dirname, "fixtures", "builtin-problems.jsonl"),
  "utf8"
)
  .trim()
  .split("\n")
  .map((line) => Schema.decodeUnknownSync(Problem.Problem)(JSON.parse(line)))

/**
 * Independent reference: exhaustive backtracking over every correct route (any order inside each block),
 * returning the longest prefix of `texts` that some correct route shares.
 */
const longestCorrectPrefix = (program: StepProgram, texts: ReadonlyArray<string>): number => {
  const groups: Array<Array<number>> = []
  program.steps.forEach((s, i) => {
    const prev = program.steps[i - 1]
    if (i > 0 && s.block !== undefined && prev?.block === s.block) groups.at(-1)!.push(i)
    else groups.push([i])
  })
  let best = 0
  const search = (g: number, left: ReadonlyArray<number>, v: number, depth: number) => {
    best = Math.max(best, depth)
    if (depth === texts.length) return
    const pool = left.length > 0 ? left : groups[g + 1]
    const nextG = left.length > 0 ? g : g + 1
    if (pool === undefined) return
    for (const s of pool) {
      const step = program.steps[s]!
      const after = apply(step.op, v, step.arg)
      if (renderStep(step, v, after) === texts[depth])
        search(
          nextG,
          pool.filter((x) => x !== s),
          after,
          depth + 1
        )
    }
  }
  search(0, groups[0] ?? [], 0, 0)
  return best
}

const programOf = (p: Problem.Problem) => Result.getOrThrow(RuleTeacher.programOf(p))

const checkRoutes = (program: StepProgram, gold: number, routes: ReadonlyArray<Teacher.TeacherRoute>) => {
  for (const route of routes) {
    const prefix = longestCorrectPrefix(program, route.steps)
    if (route.intendedLabel === "positive") {
      assert.strictEqual(route.answer, String(gold))
      assert.strictEqual(prefix, route.steps.length)
      assert.strictEqual(route.steps.length, program.steps.length)
    } else {
      assert.notStrictEqual(Number(route.answer), gold)
      assert.strictEqual(route.decisiveStep, prefix)
      assert.isBelow(route.decisiveStep ?? NaN, route.steps.length)
      assert.isAbove(route.decisiveNote?.length ?? NaN, 0)
    }
  }
}

describe("RuleTeacher", () => {
  it("writes correct routes that are valid orders of the solution and wrong routes whose decisive step is the true first wrong step (fixture × 30 seeds)", () => {
    const kinds = new Map<string, number>()
    for (const problem of fixture) {
      const program = programOf(problem)
      for (let seed = 0; seed < 30; seed++) {
        const routes = RuleTeacher.write(problem, program, { count: 5, negatives: 3, seed })
        assert.strictEqual(routes.filter((r) => r.intendedLabel === "negative").length, 3)
        assert.strictEqual(routes.filter((r) => r.intendedLabel === "positive").length, 2)
        checkRoutes(program, Number(problem.gold), routes)
        for (const r of routes) {
          const kind = r.decisiveNote?.match(
            /^(arithmetic slip|wrong order|R\d+ skipped|A?R?\d* ?misapplied|[AR]\d+ misapplied)/
          )?.[0]
          if (kind !== undefined)
            kinds.set(kind.replace(/^[AR]\d+ /, ""), (kinds.get(kind.replace(/^[AR]\d+ /, "")) ?? 0) + 1)
        }
      }
    }
    // All four kinds of mistake occur, none rare.
    for (const kind of ["misapplied", "skipped", "arithmetic slip", "wrong order"])
      assert.isAbove(kinds.get(kind) ?? 0, 300)
  })

  it("keeps its properties on arbitrary step programs (property test)", () => {
    const op = fc.constantFrom("add", "sub", "mul", "pctOff", "pctUp", "cap", "atLeast", "keep", "div") as fc.Arbitrary<
      ProgramStep["op"]
    >
    const step = fc.record({
      op,
      arg: fc.integer({ min: 1, max: 30 }),
      blocky: fc.boolean(),
      alt: fc.option(fc.integer({ min: 1, max: 30 }))
    })
    const arb = fc.record({
      start: fc.integer({ min: 1, max: 60 }),
      rest: fc.array(step, { minLength: 1, maxLength: 8 }),
      seed: fc.integer({ min: 0, max: 1e6 })
    })
    fc.assert(
      fc.property(arb, ({ start, rest, seed }) => {
        let block = 0
        const steps: Array<ProgramStep> = [{ rule: "R1", label: "base", op: "set", arg: start }]
        rest.forEach((s, i) => {
          const commuting = s.op === "add" || s.op === "keep"
          const prev = steps.at(-1)!
          if (
            commuting &&
            s.blocky &&
            prev.block === undefined &&
            prev.op !== "set" &&
            (prev.op === "add" || prev.op === "keep")
          ) {
            block++
            steps[steps.length - 1] = { ...prev, block }
          }
          const inBlock = commuting && s.blocky && prev.block !== undefined
          steps.push({
            rule: `R${i + 2}`,
            label: `rule${i + 2}`,
            op: s.op,
            arg: s.op === "div" ? 2 : s.arg,
            ...(inBlock ? { block: steps.at(-1)!.block as number } : {}),
            ...(s.alt === null
              ? {}
              : {
                  alternatives: [
                    {
                      kind: s.op === "keep" ? ("skip-exception" as const) : ("misapply" as const),
                      rule: `R${i + 2}`,
                      label: `rule${i + 2}`,
                      op: "add" as const,
                      arg: s.alt,
                      note: "alt"
                    }
                  ]
                })
          })
        })
        const program: StepProgram = {
          version: 1,
          steps,
          spurious: [{ after: 0, rule: "R99", label: "extra", op: "add", arg: 3, note: "spurious" }]
        }
        let v = 0
        for (const s of steps) v = apply(s.op, v, s.arg)
        const routes = RuleTeacher.write(
          {
            id: "p",
            domain: "d",
            question: "q",
            gold: String(v),
            answerType: "number",
            difficulty: 1,
            split: "train",
            metadata: {}
          },
          program,
          { count: 4, negatives: 3, seed }
        )
        checkRoutes(program, v, routes)
      }),
      { numRuns: 400 }
    )
  })

  it("writes the first correct route in rulebook order (the gold steps)", () => {
    for (const problem of fixture) {
      const [first] = RuleTeacher.write(problem, programOf(problem), { count: 3, negatives: 1, seed: 3 })
      assert.deepStrictEqual(first?.steps, problem.goldSteps)
    }
  })

  it("is deterministic in the seed", () => {
    const problem = fixture[45]!
    const a = RuleTeacher.write(problem, programOf(problem), { count: 4, negatives: 2, seed: 7 })
    assert.deepStrictEqual(RuleTeacher.write(problem, programOf(problem), { count: 4, negatives: 2, seed: 7 }), a)
    assert.notDeepEqual(RuleTeacher.write(problem, programOf(problem), { count: 4, negatives: 2, seed: 8 }), a)
  })

  it("finds the first wrong step by simulation, letting blocks come in any order", () => {
    const program: StepProgram = {
      version: 1,
      steps: [
        { rule: "R1", label: "base zone B", op: "set", arg: 12 },
        { rule: "R2", label: "weight 7kg", op: "add", arg: 8, block: 1 },
        { rule: "R5", label: "fragile", op: "add", arg: 5, block: 1 },
        { rule: "R10", label: "express", op: "mul", arg: 2 }
      ]
    }
    assert.strictEqual(
      RuleTeacher.validPrefixLength(program, [
        "base zone B = 12",
        "fragile +5 = 17",
        "weight 7kg +8 = 25",
        "express x2 = 50"
      ]),
      4
    )
    assert.strictEqual(
      RuleTeacher.validPrefixLength(program, [
        "base zone B = 12",
        "fragile +5 = 17",
        "express x2 = 34",
        "weight 7kg +8 = 42"
      ]),
      2
    )
    assert.strictEqual(RuleTeacher.validPrefixLength(program, ["base zone B = 12", "weight 7kg +8 = 21"]), 1)
  })

  it.effect("fails with TeacherError(unavailable) on problems without a step program", () =>
    Effect.gen(function* () {
      const teacher = RuleTeacher.make()
      const problem = { ...fixture[0]!, metadata: {} }
      const error = yield* Effect.flip(teacher.routes({ problem, count: 2, negatives: 1, seed: 0 }))
      assert.strictEqual(error.reason, "unavailable")
      const wrongGold = { ...fixture[0]!, gold: "999" }
      const error2 = yield* Effect.flip(teacher.routes({ problem: wrongGold, count: 2, negatives: 1, seed: 0 }))
      assert.match(error2.detail, /gold answer is 999/)
    })
  )
})
