/**
 * `realm report <run>`: gather a finished (or partial) run into the report page: the results table, reward and
 * accuracy curves of every RL method, ReaLM's guidance strength s(t), and example MRPV completions with the
 * model's verdict on each route beside the route's true label. Writes `<run>/report.html`. The verdicts are read by
 * the `Verifier` in context (its optional `verdicts`), so a user's verifier's output format is read its own way; a
 * verifier without `verdicts` shows none.
 */
import { join } from "node:path"
import { Verifier } from "@realm-lm/core"
import type { EvalResult, Route } from "@realm-lm/core"
import { RunDir } from "@realm-lm/core/node"
import { Report } from "@realm-lm/evaluator"
import type { ReportData } from "@realm-lm/evaluator"
import { Metrics } from "@realm-lm/trainer"
import { Effect, FileSystem, Predicate } from "effect"
import { isModulePath } from "./CustomModule.ts"
import { kinds as methods } from "./Methods.ts"
import { readResults, routesFile } from "./Pipeline.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import * as Routes from "./Routes.ts"
import * as Wiring from "./Wiring.ts"

/** How the report reads a completion's verdicts: the verifier's own reader. */
type VerdictReader = NonNullable<Verifier.Verifier["Service"]["verdicts"]>

/** The model's verdicts on the routes its prompt showed (read by `read`), next to their labels; none without a reader. */
const verdictsOf = (
  read: VerdictReader | undefined,
  completion: string,
  shown: ReadonlyArray<Route.Route>
): Array<ReportData.ReportData["examples"][number]["verdicts"][number]> => {
  if (read === undefined) return []
  const verdicts = read(
    completion,
    shown.map((route) => route.id)
  )
  return shown.map((route, index) => {
    const v = verdicts[index]
    // A verdict that is neither `correct` nor `missing` (wrong, unclear) shows as wrong: not a correct call.
    const predicted =
      v === undefined || v.verdict === "missing"
        ? ("missing" as const)
        : v.verdict === "correct"
          ? ("correct" as const)
          : ("wrong" as const)
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
const examplesOf = (
  result: EvalResult.EvalResult,
  routes: ReadonlyMap<string, ReadonlyArray<Route.Route>>,
  read: VerdictReader | undefined
) => {
  const pick = [result.outcomes.find((o) => o.correct[0] === true), result.outcomes.find((o) => o.correct[0] === false)]
  return pick.flatMap((o) => {
    if (o?.prompt === undefined || o.texts === undefined) return []
    const byId = new Map((routes.get(o.problemId) ?? []).map((r) => [r.id, r] as const))
    const shown = o.prompt.guidance.routeIds.flatMap((id) => (byId.has(id) ? [byId.get(id) as Route.Route] : []))
    const completion = o.texts[0] ?? ""
    return [
      {
        title: `${result.method}, ${result.split} ${o.problemId}`,
        prompt: o.prompt.messages.map((m) => `${m.role}: ${m.content}`).join("\n\n"),
        completion,
        verdicts: verdictsOf(read, completion, shown),
        correct: o.correct[0] === true
      }
    ]
  })
}

/** Build the report data of a run directory; the example completions' verdicts are read by the `Verifier` in context. */
export const collect = (runDir: string, provenance: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const verifier = yield* Verifier.Verifier
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
    const realm = results.find(
      (r) => r.method === methods.find((m) => m.name === "realm")?.label && r.mode === "assisted"
    )
    const examples: Array<ReportData.Example> = []
    if (realm !== undefined) {
      const routes = routesFile(runDir, realm.split)
      examples.push(
        ...examplesOf(realm, (yield* fs.exists(routes)) ? yield* Routes.read(routes) : new Map(), verifier.verdicts)
      )
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

/** The verifier (and judge) a pipeline config wires, resolved against `baseDir`: the one a run of it evaluated with. */
export const configVerifier = (config: PipelineConfig, baseDir: string) =>
  Effect.map(Wiring.make(config, baseDir), (wiring) => wiring.verifier)

/**
 * The verifier a run's evaluation recorded (`eval/manifest.json`: its `verifier` and `judge` choices), for `realm report
 * <run>` without the config. A recorded module path cannot be resolved from the run directory alone (it is relative to
 * the config's directory), so a run without an eval manifest or with a user's module there reads verdicts with the
 * default verifier, as every report did before verifiers read their own.
 */
export const recordedVerifier = (runDir: string) =>
  Effect.gen(function* () {
    const manifest = yield* RunDir.readManifest(runDir, "eval")
    const recorded = manifest?.config
    const choice = (slot: "verifier" | "judge") => {
      const c =
        Predicate.isObject(recorded) && slot in recorded ? (recorded as Record<string, unknown>)[slot] : undefined
      return Predicate.isObject(c) && "use" in c && typeof c.use === "string" && !isModulePath(c.use)
        ? { use: c.use, ...("with" in c ? { with: c.with } : {}) }
        : undefined
    }
    const verifier = choice("verifier")
    const judge = choice("judge")
    return yield* configVerifier(
      { ...(verifier === undefined ? {} : { verifier }), ...(judge === undefined ? {} : { judge }) },
      runDir
    )
  })

/** Write `<runDir>/report.html` (verdicts read by the `Verifier` in context); returns its path. */
export const write = Effect.fn("pipeline.ReportJob.write")(function* (runDir: string, provenance: string) {
  const fs = yield* FileSystem.FileSystem
  const data = yield* collect(runDir, provenance)
  const file = join(runDir, "report.html")
  yield* fs.writeFileString(file, Report.renderHtml(data))
  return file
})
