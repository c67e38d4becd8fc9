/**
 * Pure assembly of one corpus record: label teacher routes against gold with the answer judge, drop
 * near-duplicates, pick at most K routes honouring the minimum positives/negatives, and give each negative its
 * decisive step (the teacher's when it wrote the mistake on purpose, else by step alignment).
 */
import type { AnswerJudge, Problem, Route, Teacher } from "@realm-lm/core"
import { decisiveStep } from "../Alignment.ts"
import { dedupe } from "../Dedup.ts"
import { completion } from "../Prompts.ts"

/** A teacher route with its verdict. */
export interface Labelled {
  readonly route: Teacher.TeacherRoute
  readonly answer: string
  readonly positive: boolean
}

/** Label routes: the route's answer (or, when empty, the answer extracted from its text) compared with gold. */
export const label = (
  judge: AnswerJudge.AnswerJudge["Service"],
  problem: Problem.Problem,
  routes: ReadonlyArray<Teacher.TeacherRoute>
): Array<Labelled> =>
  routes.map((route) => {
    const answer =
      route.answer.trim() !== "" ? route.answer.trim() : (judge.extract(problem, route.raw ?? completion(route)) ?? "")
    return { route, answer, positive: answer !== "" && judge.equivalent(problem, answer, problem.gold) }
  })

/** Counts of a labelled set. */
export const balance = (routes: ReadonlyArray<Labelled>) => {
  const positives = routes.filter((r) => r.positive).length
  return { positives, negatives: routes.length - positives }
}

/** Remove near-identical routes (same answer, similar text). */
export const dedupLabelled = (
  routes: ReadonlyArray<Labelled>,
  threshold: number
): { readonly kept: Array<Labelled>; readonly dropped: number } => {
  const { kept, dropped } = dedupe(
    routes.map((r) => ({ steps: r.route.steps, answer: r.answer, item: r })),
    threshold
  )
  return { kept: kept.map((k) => k.item), dropped }
}

/** At most `k` routes, first securing the minimum positives and negatives, in the order written. */
export const select = (
  routes: ReadonlyArray<Labelled>,
  k: number,
  minPositives: number,
  minNegatives: number
): Array<Labelled> => {
  const chosen = new Set<Labelled>([
    ...routes.filter((r) => r.positive).slice(0, minPositives),
    ...routes.filter((r) => !r.positive).slice(0, minNegatives)
  ])
  for (const r of routes) if (chosen.size < k) chosen.add(r)
  return routes.filter((r) => chosen.has(r))
}

/** How each negative's decisive step was found. */
export interface DecisiveCounts {
  teacher: number
  alignment: number
  unknown: number
}

/** Final `Route` records with ids `r0`, `r1`… and decisive steps for negatives. */
export const toRoutes = (
  problem: Problem.Problem,
  routes: ReadonlyArray<Labelled>,
  source: string,
  counts: DecisiveCounts
): Array<Route.Route> => {
  const references = [
    ...(problem.goldSteps === undefined ? [] : [problem.goldSteps]),
    ...routes.filter((r) => r.positive).map((r) => r.route.steps)
  ]
  return routes.map((r, i): Route.Route => {
    const base = { id: `r${i}`, steps: r.route.steps, answer: r.answer, source }
    if (r.positive) return { ...base, label: "positive" }
    const fromTeacher =
      r.route.intendedLabel === "negative" &&
      r.route.decisiveStep !== undefined &&
      r.route.decisiveStep >= 0 &&
      r.route.decisiveStep < r.route.steps.length
    if (fromTeacher) {
      counts.teacher++
      const note = r.route.decisiveNote === undefined ? {} : { decisiveNote: r.route.decisiveNote }
      return { ...base, label: "negative", decisiveStep: r.route.decisiveStep as number, ...note }
    }
    const aligned = decisiveStep(r.route.steps, references)
    if (aligned === undefined) {
      counts.unknown++
      return { ...base, label: "negative" }
    }
    counts.alignment++
    return {
      ...base,
      label: "negative",
      decisiveStep: aligned,
      decisiveNote: "first departure from a correct route (step alignment)"
    }
  })
}
