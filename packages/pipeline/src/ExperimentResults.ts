/**
 * The results of a multi-seed experiment from each seed's evaluation results: per split, mode and method the
 * accuracy over seeds (two-level bootstrap over seeds and problems), the paired difference to each baseline (on the
 * same problems, per seed), the same per difficulty level, and route-verdict accuracy. Pure: it reads nothing.
 */
import type { EvalResult } from "@realm-lm/core"
import { SeedPaired, Table } from "@realm-lm/evaluator"

/** One seed's evaluation results, with each method's name (results carry labels). */
export interface SeedResults {
  readonly seed: number
  readonly results: ReadonlyArray<EvalResult.EvalResult>
}

/** A method in the experiment: name (as in config) and label (as in results). */
export interface MethodRef {
  readonly name: string
  readonly label: string
}

/** An estimate over seeds, with the per-seed values. */
export interface OverSeeds extends EvalResult.Estimate {
  readonly perSeed: ReadonlyArray<number>
}

/** A paired difference (method − baseline) over seeds and problems. */
export interface Difference {
  readonly baseline: string
  /** Two-level paired bootstrap (seeds and problems): the interval the claims use. */
  readonly difference: EvalResult.Estimate
  readonly overProblems: EvalResult.Estimate
  readonly overSeedsT: EvalResult.Estimate
  readonly pValue: number
  readonly perSeed: ReadonlyArray<number>
  readonly problems: number
  /** Problems seen under some seed but not all (left out of the pairing), and seeds only one side has. */
  readonly dropped: number
  readonly droppedSeeds: number
}

/** One method in one split and mode. */
export interface Cell {
  readonly method: string
  readonly split: string
  readonly mode: EvalResult.EvalMode
  readonly accuracy: OverSeeds
  /** pass@k (any of the k samples right) over seeds, when k > 1. */
  readonly passAtK?: OverSeeds
  readonly routeVerdictAccuracy?: OverSeeds
  readonly differences: ReadonlyArray<Difference>
  /** Per difficulty level (`level=3`): accuracy and differences on that level's problems. */
  readonly levels: Record<string, { readonly accuracy: OverSeeds; readonly differences: ReadonlyArray<Difference> }>
}

/** The whole summary. */
export interface Summary {
  readonly seeds: ReadonlyArray<number>
  readonly methods: ReadonlyArray<MethodRef>
  readonly baselines: ReadonlyArray<string>
  readonly cells: ReadonlyArray<Cell>
}

const options = { seed: 0, resamples: 2000 }

type Scores = Map<number, Map<string, number>>

/** seed → problem → score of one (method, split, mode), from the first sample or any sample. */
const scoresOf = (
  seeds: ReadonlyArray<SeedResults>,
  label: string,
  split: string,
  mode: string,
  any = false
): Scores => {
  const out: Scores = new Map()
  for (const s of seeds) {
    const r = s.results.find((x) => x.method === label && x.split === split && x.mode === mode)
    if (r === undefined) continue
    out.set(
      s.seed,
      new Map(r.outcomes.map((o) => [o.problemId, (any ? o.correct.some(Boolean) : o.correct[0] === true) ? 1 : 0]))
    )
  }
  return out
}

const restrict = (scores: Scores, keep: (id: string) => boolean): Scores =>
  new Map([...scores].map(([seed, m]) => [seed, new Map([...m].filter(([id]) => keep(id)))]))

const overSeeds = (scores: Scores): OverSeeds => {
  const a = SeedPaired.accuracyOverSeeds(scores, options)
  return { value: a.value, low: a.low, high: a.high, perSeed: a.perSeed }
}

const difference = (baseline: string, a: Scores, b: Scores): Difference => {
  const p = SeedPaired.pairedOverSeeds(a, b, options)
  return {
    baseline,
    difference: p.difference,
    overProblems: p.overProblems,
    overSeedsT: p.overSeedsT,
    pValue: p.pValue,
    perSeed: p.perSeed,
    problems: p.problems,
    dropped: p.dropped,
    droppedSeeds: p.droppedSeeds
  }
}

/**
 * A metric of the results (route-verdict accuracy, a fraction) over seeds: mean of per-seed values, t-interval over
 * seeds clipped to [0, 1] (with three seeds that disagree the t-interval runs far past both ends).
 */
const metricOverSeeds = (
  seeds: ReadonlyArray<SeedResults>,
  label: string,
  split: string,
  mode: string,
  metric: string
): OverSeeds | undefined => {
  const values = seeds.flatMap((s) => {
    const v = s.results.find((x) => x.method === label && x.split === split && x.mode === mode)?.metrics[metric]?.value
    return v === undefined ? [] : [v]
  })
  if (values.length === 0) return undefined
  const mean = values.reduce((x, y) => x + y, 0) / values.length
  const sd = values.length < 2 ? 0 : Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / (values.length - 1))
  const half = values.length < 2 ? 0 : (SeedPaired.t975Quantile(values.length - 1) * sd) / Math.sqrt(values.length)
  return { value: mean, low: Math.max(0, mean - half), high: Math.min(1, mean + half), perSeed: values }
}

/** A verdict-accuracy cell: the estimate, then the per-seed values (`62.7 [12.2, 100.0] (50.0 / 52.0 / 86.2)`). */
const verdictCell = (o: OverSeeds | undefined): string =>
  o === undefined
    ? "–"
    : o.perSeed.length < 2
      ? `${(100 * o.value).toFixed(1)} (one seed)`
      : `${Table.formatEstimate({ value: o.value, low: Math.max(0, o.low), high: Math.min(1, o.high) })} (${o.perSeed.map((v) => (100 * v).toFixed(1)).join(" / ")})`

/** Summarise the seeds' results for `methods` against `baselines` (method names). */
export const summarise = (
  seeds: ReadonlyArray<SeedResults>,
  methods: ReadonlyArray<MethodRef>,
  baselines: ReadonlyArray<string>
): Summary => {
  const labelOf = new Map(methods.map((m) => [m.name, m.label]))
  const all = seeds.flatMap((s) => s.results)
  const splits = [...new Set(all.map((r) => r.split))]
  const level = new Map(all.flatMap((r) => r.outcomes.map((o) => [o.problemId, `level=${o.difficulty}`] as const)))
  const levels = [...new Set(level.values())].toSorted()
  const cells: Array<Cell> = []
  for (const split of splits) {
    for (const mode of ["assisted", "autonomous"] as const) {
      for (const method of methods) {
        const scores = scoresOf(seeds, method.label, split, mode)
        if (scores.size === 0) continue
        const samples = Math.max(
          ...all.filter((r) => r.method === method.label && r.split === split).map((r) => r.samples)
        )
        const diffsOn = (keep: (id: string) => boolean) =>
          baselines
            .filter((b) => b !== method.name)
            .flatMap((b) => {
              const base = scoresOf(seeds, labelOf.get(b) ?? b, split, mode)
              return base.size === 0 ? [] : [difference(b, restrict(base, keep), restrict(scores, keep))]
            })
        const byLevel: Record<string, { accuracy: OverSeeds; differences: ReadonlyArray<Difference> }> = {}
        for (const l of levels) {
          const keep = (id: string) => level.get(id) === l
          const restricted = restrict(scores, keep)
          if ([...restricted.values()].every((m) => m.size === 0)) continue
          byLevel[l] = { accuracy: overSeeds(restricted), differences: diffsOn(keep) }
        }
        const verdicts = metricOverSeeds(seeds, method.label, split, mode, "route-verdict accuracy")
        cells.push({
          method: method.name,
          split,
          mode,
          accuracy: overSeeds(scores),
          ...(samples > 1 ? { passAtK: overSeeds(scoresOf(seeds, method.label, split, mode, true)) } : {}),
          ...(verdicts === undefined ? {} : { routeVerdictAccuracy: verdicts }),
          differences: diffsOn(() => true),
          levels: byLevel
        })
      }
    }
  }
  return { seeds: seeds.map((s) => s.seed), methods, baselines, cells }
}

/** `+3.1 [0.4, 5.9]` in percentage points. */
export const formatDifference = (d: EvalResult.Estimate): string => {
  const f = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`
  return `${f(d.value)} [${f(d.low)}, ${f(d.high)}]`
}

/** Markdown tables: accuracy per method (columns split × mode), then each baseline's paired differences, then per level. */
export const markdown = (summary: Summary): string => {
  const columns = [...new Set(summary.cells.map((c) => `${c.split}|${c.mode}`))].map(
    (k) => k.split("|") as [string, EvalResult.EvalMode]
  )
  const cell = (method: string, split: string, mode: string) =>
    summary.cells.find((c) => c.method === method && c.split === split && c.mode === mode)
  const label = (name: string) => summary.methods.find((m) => m.name === name)?.label ?? name
  const header = `| method | ${columns.map(([s, m]) => `${s} ${m}`).join(" | ")} |`
  const rule = `| --- | ${columns.map(() => "---").join(" | ")} |`
  const out: Array<string> = [
    summary.seeds.length > 1
      ? `Accuracy % (greedy first sample), mean over seeds ${summary.seeds.join(", ")}, 95% two-level bootstrap CI (seeds × problems):`
      : `Accuracy % (greedy first sample), seed ${summary.seeds.join(", ")}, 95% bootstrap CI over problems:`,
    "",
    header,
    rule,
    ...summary.methods.map(
      (m) =>
        `| ${m.label} | ${columns.map(([s, mode]) => Table.formatEstimate(cell(m.name, s, mode)?.accuracy)).join(" | ")} |`
    )
  ]
  for (const baseline of summary.baselines) {
    // A run of the baseline alone (a diagnostic of one method) has no differences to print.
    if (!summary.methods.some((x) => x.name !== baseline)) continue
    out.push(
      "",
      `Paired difference to ${label(baseline)}, percentage points (method − baseline, same problems and seeds; 95% ${summary.seeds.length > 1 ? "two-level bootstrap CI" : "bootstrap CI over problems"}):`,
      "",
      header,
      rule
    )
    for (const m of summary.methods.filter((x) => x.name !== baseline)) {
      out.push(
        `| ${m.label} | ${columns
          .map(([s, mode]) => {
            const d = cell(m.name, s, mode)?.differences.find((x) => x.baseline === baseline)
            return d === undefined ? "–" : formatDifference(d.difference)
          })
          .join(" | ")} |`
      )
    }
  }
  const verdictRows = summary.methods.filter((m) =>
    summary.cells.some((c) => c.method === m.name && c.routeVerdictAccuracy !== undefined)
  )
  if (verdictRows.length > 0) {
    const assisted = columns.filter(([, mode]) => mode === "assisted")
    out.push(
      "",
      "Route-verdict accuracy % (assisted prompts), mean over seeds with a t-interval over seeds (clipped to [0, 100]), and each seed's value:",
      "",
      `| method | ${assisted.map(([s]) => s).join(" | ")} |`,
      `| --- | ${assisted.map(() => "---").join(" | ")} |`
    )
    for (const m of verdictRows)
      out.push(
        `| ${m.label} | ${assisted.map(([s]) => verdictCell(cell(m.name, s, "assisted")?.routeVerdictAccuracy)).join(" | ")} |`
      )
  }
  const levels = [...new Set(summary.cells.flatMap((c) => Object.keys(c.levels)))].toSorted()
  if (levels.length > 1) {
    for (const [split, mode] of columns.filter(([, mode]) => mode === "autonomous")) {
      out.push(
        "",
        `Per level, ${split} ${mode}: accuracy %${summary.baselines.length > 0 && summary.methods.some((m) => m.name !== summary.baselines[0]) ? ` and difference to ${label(summary.baselines[0]!)}` : ""}:`,
        "",
        `| method | ${levels.join(" | ")} |`,
        `| --- | ${levels.map(() => "---").join(" | ")} |`
      )
      for (const m of summary.methods) {
        const c = cell(m.name, split, mode)
        if (c === undefined) continue
        out.push(
          `| ${m.label} | ${levels
            .map((l) => {
              const v = c.levels[l]
              if (v === undefined) return "–"
              const d = v.differences.find((x) => x.baseline === summary.baselines[0])
              return `${Table.formatEstimate(v.accuracy)}${d === undefined ? "" : ` (${formatDifference(d.difference)})`}`
            })
            .join(" | ")} |`
        )
      }
    }
  }
  return out.join("\n")
}
