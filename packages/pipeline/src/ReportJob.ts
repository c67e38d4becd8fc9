/**
 * `realm report <run>`: gather a finished (or partial) run into the report page: the results table, reward and
 * accuracy curves of every RL method, ReaLM's guidance strength s(t), and example MRPV completions with the
 * model's verdict on each route beside the route's true label. Writes `<run>/report.html`.
 */
import { join } from "node:path"
import type { EvalResult, Route } from "@realm-lm/core"
import { Report } from "@realm-lm/evaluator"
import type { ReportData } from "@realm-lm/evaluator"
import { CompletionParser } from "@realm-lm/mrpv"
import { Metrics } from "@realm-lm/trainer"
import { Effect, FileSystem } from "effect"
import { kinds as methods } from "./Methods.ts"
import { readResults, routesFile } from "./Pipeline.ts"
import * as Routes from "./Routes.ts"

/** The model's verdicts on the routes its prompt showed, next to their labels. */
const verdictsOf = (completion: string, shown: ReadonlyArray<Route.Route>): Array<ReportData.ReportData["examples"][number]["verdicts"][number]> => {
  const parsed = CompletionParser.parseCompletion(completion)
  return shown.map((route, index) => {
    const v = parsed.verdicts.find((p) => p.index === index)
    const predicted = v === undefined ? "missing" as const : v.verdict === "correct" ? "correct" as const : "wrong" as const
    return {
      route: String.fromCharCode(65 + index),
      label: route.label,
      predicted,
      ...(v?.step === undefined ? {} : { namedStep: v.step }),
      ...(route.decisiveStep === undefined ? {} : { decisiveStep: route.decisiveStep + 1 })
    }
  })
}

/** Up to two examples (a correct and a wrong answer) from a method's assisted results. */
const examplesOf = (result: EvalResult.EvalResult, routes: ReadonlyMap<string, ReadonlyArray<Route.Route>>) => {
  const pick = [result.outcomes.find((o) => o.correct[0] === true), result.outcomes.find((o) => o.correct[0] === false)]
  return pick.flatMap((o) => {
    if (o?.prompt === undefined || o.texts === undefined) return []
    const byId = new Map((routes.get(o.problemId) ?? []).map((r) => [r.id, r] as const))
    const shown = o.prompt.guidance.routeIds.flatMap((id) => (byId.has(id) ? [byId.get(id) as Route.Route] : []))
    const completion = o.texts[0] ?? ""
    return [{
      title: `${result.method}, ${result.split} ${o.problemId}`,
      prompt: o.prompt.messages.map((m) => `${m.role}: ${m.content}`).join("\n\n"),
      completion,
      verdicts: verdictsOf(completion, shown),
      correct: o.correct[0] === true
    }]
  })
}

/** Build the report data of a run directory. */
export const collect = (runDir: string, provenance: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const resultsFile = join(runDir, "eval", "results.json")
    const results = (yield* fs.exists(resultsFile)) ? yield* readResults(resultsFile) : []
    const curves: Array<ReportData.Curve> = []
    let guidance: Array<{ step: number; value: number }> = []
    for (const method of methods.filter((m) => m.phase === "rl")) {
      const file = join(runDir, method.name, "metrics.jsonl")
      if (!(yield* fs.exists(file))) continue
      const lines = Metrics.parse(yield* fs.readFileString(file))
      curves.push({ name: `${method.label}: reward`, points: Metrics.points(lines, "reward_mean") })
      curves.push({ name: `${method.label}: truth accuracy`, points: Metrics.points(lines, "truth_accuracy") })
      if (method.name === "realm") guidance = Metrics.points(lines, "strength")
    }
    const realm = results.find((r) => r.method === methods.find((m) => m.name === "realm")?.label && r.mode === "assisted")
    const examples: Array<ReportData.Example> = []
    if (realm !== undefined) {
      const routes = routesFile(runDir, realm.split)
      examples.push(...examplesOf(realm, (yield* fs.exists(routes)) ? yield* Routes.read(routes) : new Map()))
    }
    const slim = results.map((r) => ({ ...r, outcomes: r.outcomes.map(({ prompt: _p, texts: _t, ...rest }) => rest) }))
    return {
      title: `ReaLM run ${runDir}`,
      generatedAt: new Date().toISOString(),
      provenance,
      results: slim,
      curves,
      guidance,
      examples
    } satisfies ReportData.ReportData
  })

/** Write `<runDir>/report.html`; returns its path. */
export const write = (runDir: string, provenance: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const data = yield* collect(runDir, provenance)
    const file = join(runDir, "report.html")
    yield* fs.writeFileString(file, Report.renderHtml(data))
    return file
  })
