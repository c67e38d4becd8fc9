/**
 * The rule teacher for the built-in domains: it reads the solver's step program from a problem
 * (`metadata.program`), writes correct routes (the rulebook order first, then commuting surcharges in other
 * orders) and, on request, realistic
 * wrong routes (misapplied rule, skipped exception, arithmetic slip, wrong order) whose answer differs from gold
 * and whose decisive step is the true first step that no correct route shares.
 */
import { Rng, Teacher } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Effect, Layer, Result, Schema } from "effect"
import { StepProgram as Program } from "@realm-lm/core"
const { apply, renderStep, StepProgram } = Program
type ProgramStep = Program.ProgramStep
type StepProgram = Program.StepProgram

/** The kinds of deliberate mistake, tried in turn so a problem's negatives vary. */
export const mistakeKinds = ["misapplied-rule", "skipped-exception", "arithmetic-slip", "wrong-order"] as const
export type MistakeKind = (typeof mistakeKinds)[number]

/** One written step: an operation, optionally with a wrong value written after it (arithmetic slip). */
interface Move {
  readonly rule: string
  readonly label: string
  readonly op: ProgramStep["op"]
  readonly arg: number
  readonly slip?: number
}

/** A rendered route: step texts and the value after each. */
export interface Rendered {
  readonly steps: Array<string>
  readonly values: Array<number>
}

/** Render moves from value 0, honouring slips. */
export const render = (moves: ReadonlyArray<Move>): Rendered => {
  const steps: Array<string> = []
  const values: Array<number> = []
  let v = 0
  for (const m of moves) {
    const after = m.slip ?? apply(m.op, v, m.arg)
    steps.push(renderStep(m, v, after))
    values.push(after)
    v = after
  }
  return { steps, values }
}

/** Canonical step indices grouped: a run of steps sharing a block id is one group whose order is free. */
export const groupsOf = (program: StepProgram): Array<Array<number>> => {
  const groups: Array<Array<number>> = []
  program.steps.forEach((step, i) => {
    const last = groups.at(-1)
    const prev = i > 0 ? program.steps[i - 1] : undefined
    if (last !== undefined && step.block !== undefined && prev?.block === step.block) last.push(i)
    else groups.push([i])
  })
  return groups
}

/**
 * Length of the longest prefix of `texts` that some correct route starts with: the index of the first wrong
 * step, or `texts.length` when every step is one a correct route could write there. Simulates the program,
 * letting each block's remaining steps come in any order.
 */
export const validPrefixLength = (program: StepProgram, texts: ReadonlyArray<string>): number => {
  const groups = groupsOf(program)
  let g = 0
  let remaining: Array<number> = groups[0]?.slice() ?? []
  let v = 0
  for (let i = 0; i < texts.length; i++) {
    if (remaining.length === 0) {
      g++
      remaining = groups[g]?.slice() ?? []
      if (remaining.length === 0) return i
    }
    const match = remaining.find((s) => {
      const step = program.steps[s]!
      return renderStep(step, v, apply(step.op, v, step.arg)) === texts[i]
    })
    if (match === undefined) return i
    const step = program.steps[match]!
    v = apply(step.op, v, step.arg)
    remaining.splice(remaining.indexOf(match), 1)
  }
  return texts.length
}

/** A correct ordering of the groups: each block's steps shuffled, groups in rulebook order. */
const correctGroups = (rng: Rng.Rng, groups: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> =>
  groups.map((group) => (group.length > 1 ? rng.shuffle(group) : group.slice()))

const moveOf = (step: Pick<ProgramStep, "rule" | "label" | "op" | "arg">): Move => ({
  rule: step.rule,
  label: step.label,
  op: step.op,
  arg: step.arg
})

const ARITHMETIC = new Set(["add", "sub", "mul", "div", "pctOff", "pctUp"])

interface Mistake {
  readonly moves: Array<Move>
  readonly note: string
}

/** Every mistake of a kind that can be made on a correct order, as lazy candidates. */
const mistakes = (
  kind: MistakeKind,
  program: StepProgram,
  ordered: ReadonlyArray<ReadonlyArray<number>>
): Array<() => Mistake> => {
  const order = ordered.flat()
  const moves = order.map((i) => moveOf(program.steps[i]!))
  const options: Array<() => Mistake> = []
  switch (kind) {
    case "misapplied-rule":
    case "skipped-exception": {
      const wanted = kind === "misapplied-rule" ? "misapply" : "skip-exception"
      order.forEach((i, pos) => {
        for (const alt of program.steps[i]!.alternatives ?? []) {
          if (alt.kind === wanted)
            options.push(() => ({ moves: moves.map((m, p) => (p === pos ? moveOf(alt) : m)), note: alt.note }))
        }
      })
      if (kind === "misapplied-rule") {
        for (const extra of program.spurious ?? []) {
          options.push(() => {
            const pos = order.indexOf(extra.after) + 1
            return { moves: [...moves.slice(0, pos), moveOf(extra), ...moves.slice(pos)], note: extra.note }
          })
        }
      }
      return options
    }
    case "arithmetic-slip": {
      const values = render(moves).values
      moves.forEach((step, pos) => {
        if (!ARITHMETIC.has(step.op)) return
        const right = values[pos]!
        const digits = String(right)
        const swapped = right >= 10 ? Number(digits.slice(0, -2) + digits.slice(-1) + digits.slice(-2, -1)) : right
        const wrongs = new Set([right + 1, right - 1, right + 2, right - 2, right + 10, right - 10, swapped])
        for (const wrong of wrongs) {
          if (wrong === right || (right >= 0 && wrong < 0)) continue
          options.push(() => ({
            moves: moves.map((m, p) => (p === pos ? { ...m, slip: wrong } : m)),
            note: `arithmetic slip in ${step.rule} (${step.label}): wrote ${wrong} instead of ${right}`
          }))
        }
      })
      return options
    }
    case "wrong-order": {
      // Move one group (never the base group) to another place.
      for (let from = 1; from < ordered.length; from++) {
        for (let to = 1; to < ordered.length; to++) {
          if (to === from) continue
          options.push(() => {
            const grouped = ordered.map((g) => g.slice())
            const moved = grouped.splice(from, 1)[0]!
            grouped.splice(to, 0, moved)
            const first = program.steps[moved[0]!]!
            return {
              moves: grouped.flat().map((i) => moveOf(program.steps[i]!)),
              note: `wrong order: ${first.rule} (${first.label}) applied ${to < from ? "before" : "after"} rules it must ${to < from ? "follow" : "precede"}`
            }
          })
        }
      }
      return options
    }
  }
}

/** Decode a problem's step program, or say why the rule teacher cannot serve it. */
export const programOf = (problem: Problem.Problem): Result.Result<StepProgram, string> => {
  const raw = problem.metadata.program
  if (raw === undefined)
    return Result.fail(
      "the problem has no step program (metadata.program); the rule teacher only serves built-in domains, use the HTTP teacher for other data"
    )
  const decoded = Schema.decodeUnknownResult(StepProgram)(raw)
  if (Result.isFailure(decoded))
    return Result.fail(`metadata.program is not a valid step program: ${decoded.failure.message}`)
  const program = decoded.success
  const gold = render(program.steps.map(moveOf)).values.at(-1)
  if (String(gold) !== problem.gold.trim())
    return Result.fail(`the step program gives ${gold} but the gold answer is ${problem.gold}`)
  return Result.succeed(program)
}

/** Write the routes for one request: `count - negatives` correct routes, then up to `negatives` wrong ones. */
export const write = (
  problem: Problem.Problem,
  program: StepProgram,
  request: Pick<Teacher.RouteRequest, "count" | "negatives" | "seed">
): Array<Teacher.TeacherRoute> => {
  const rng = Rng.Rng.make(request.seed, "rule-teacher", problem.id)
  const groups = groupsOf(program)
  const gold = render(program.steps.map(moveOf)).values.at(-1) as number
  const negatives = Math.min(request.negatives, request.count)
  const routes: Array<Teacher.TeacherRoute> = []
  const written = new Set<string>()
  for (let r = 0; r < request.count - negatives; r++) {
    // The first correct route keeps the rulebook order (the SFT view's target); later ones prefer an order not
    // written yet, falling back to a repeat when the blocks allow no other.
    const order = r === 0 ? groups.flat() : correctGroups(rng, groups).flat()
    let rendered = render(order.map((i) => moveOf(program.steps[i]!)))
    for (let tries = 0; tries < 20 && written.has(rendered.steps.join("\n")); tries++) {
      rendered = render(
        correctGroups(rng, groups)
          .flat()
          .map((i) => moveOf(program.steps[i]!))
      )
    }
    written.add(rendered.steps.join("\n"))
    routes.push({ steps: rendered.steps, answer: String(rendered.values.at(-1)), intendedLabel: "positive" })
  }
  const start = rng.int(mistakeKinds.length)
  for (let r = 0; r < negatives; r++) {
    // Prefer the r-th kind in rotation, then any other: every candidate on a fresh correct order is tried.
    const preferred = mistakeKinds[(start + r) % mistakeKinds.length]!
    const ordered = correctGroups(rng, groups)
    const candidates = [
      ...rng.shuffle(mistakes(preferred, program, ordered)),
      ...rng.shuffle(mistakeKinds.filter((k) => k !== preferred).flatMap((k) => mistakes(k, program, ordered)))
    ]
    for (const candidate of candidates) {
      const drawn = candidate()
      const rendered = render(drawn.moves)
      const answer = rendered.values.at(-1) as number
      if (answer === gold) continue
      const decisive = validPrefixLength(program, rendered.steps)
      const text = rendered.steps.join("\n")
      if (decisive >= rendered.steps.length || written.has(text)) continue
      written.add(text)
      routes.push({
        steps: rendered.steps,
        answer: String(answer),
        intendedLabel: "negative",
        decisiveStep: decisive,
        decisiveNote: drawn.note
      })
      break
    }
  }
  return routes
}

/** Teacher name recorded in corpus records. */
export const name = "rule-teacher"

/** The rule teacher as a service value. */
export const make = (): Teacher.Teacher["Service"] =>
  Teacher.Teacher.of({
    name,
    routes: (request) =>
      Effect.suspend(() => {
        const program = programOf(request.problem)
        if (Result.isFailure(program)) {
          return Effect.fail(
            new Teacher.TeacherError({
              teacher: name,
              problemId: request.problem.id,
              reason: "unavailable",
              detail: program.failure
            })
          )
        }
        return Effect.succeed(write(request.problem, program.success, request))
      })
  })

/** `Teacher` layer for the built-in domains. */
export const layer = Layer.succeed(Teacher.Teacher, make())
