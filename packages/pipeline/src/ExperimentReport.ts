/**
 * The page of a multi-seed experiment: one self-contained HTML file (inline SVG, no script, no network) with accuracy
 * per method and its 95% interval, paired differences to each baseline, accuracy per difficulty level, training
 * curves (mean over seeds with a min–max band) and the markdown tables. Written to `<runDir>/experiment.html`.
 */
import { basename, join } from "node:path"
import type { EvalResult } from "@realm-lm/core"
import { Table } from "@realm-lm/evaluator"
import { Metrics } from "@realm-lm/trainer"
import { Clock, Effect, FileSystem } from "effect"
import * as Experiment from "./Experiment.ts"
import * as ExperimentResults from "./ExperimentResults.ts"
import * as Svg from "./internal/svg.ts"

/** The training metrics drawn, as named in metrics.jsonl, with their chart titles. */
export const metrics: Record<string, string> = {
  reward_mean: "Reward (mean over rollouts)",
  truth_accuracy: "Truth accuracy of training rollouts",
  strength: "Guidance strength s(t)",
  "verifier/verdictAccuracy": "Verifier verdict accuracy"
}

/** One step of a curve: mean over seeds (`value`), minimum (`low`) and maximum (`high`) over seeds. */
export interface CurvePoint {
  readonly step: number
  readonly value: number
  readonly low: number
  readonly high: number
}

/** One method's curve of one metric (`method` as named in the summary). */
export interface Curve {
  readonly method: string
  readonly metric: string
  readonly points: ReadonlyArray<CurvePoint>
}

/** Everything the page shows. */
export interface Input {
  readonly title: string
  readonly provenance: string
  readonly generatedAt: string
  readonly summary: ExperimentResults.Summary
  readonly markdown: string
  readonly curves: ReadonlyArray<Curve>
}

const { left, right, row, width } = Svg.layout

/** Split × mode pairs in the order of the summary's cells. */
const columnsOf = (summary: ExperimentResults.Summary): Array<{ split: string; mode: EvalResult.EvalMode }> => [
  ...new Map(summary.cells.map((c) => [`${c.split}\u0000${c.mode}`, { split: c.split, mode: c.mode }])).values()
]

const percent = (v: number): string => `${Math.round(100 * v)}%`
const signedPoints = (v: number): string => `${v > 0 ? "+" : ""}${Number((100 * v).toPrecision(6))}`
const clamp01 = (v: number): number => Math.min(1, Math.max(0, v))

/** Methods (with their palette index) that have a cell in this split and mode. */
const rowsOf = (summary: ExperimentResults.Summary, split: string, mode: string) =>
  summary.methods.flatMap((m, i) => {
    const cell = summary.cells.find((c) => c.method === m.name && c.split === split && c.mode === mode)
    return cell === undefined ? [] : [{ method: m, index: i, cell }]
  })

const whiskerLegend: Svg.LegendItem = { label: "95% interval (seeds × problems)", colour: "#222", shape: "whisker" }

/** (a) Horizontal bars of accuracy per method, whiskers at the 95% interval, axis 0–100%. */
const accuracyChart = (summary: ExperimentResults.Summary, split: string, mode: string): string => {
  const x = Svg.scale([0, 1], [left, width - right])
  return Svg.rowChart({
    title: `Accuracy per method, ${split} ${mode} (mean over seeds, 95% interval)`,
    data: { "data-chart": "accuracy", "data-split": split, "data-mode": mode },
    key: [{ label: "accuracy, mean over seeds", colour: "#999", shape: "box" }, whiskerLegend],
    axis: { at: x, values: Svg.nice(0, 1).values, format: percent, label: "accuracy" },
    rows: rowsOf(summary, split, mode).map(({ cell, index, method }) => ({
      name: method.name,
      label: method.label,
      mark: (cy) => {
        const e = cell.accuracy
        const data = Svg.attrs({
          "data-method": method.name,
          "data-split": split,
          "data-mode": mode,
          "data-value": e.value,
          "data-low": e.low,
          "data-high": e.high
        })
        return (
          `<rect class="bar" x="${left}" y="${cy - row / 2 + 4}" width="${Svg.n(x(clamp01(e.value)) - left)}" height="${row - 8}" fill="${Svg.colour(index)}"${data}>` +
          `<title>${Svg.esc(`${method.label}: ${Table.formatEstimate(e)}`)}</title></rect>` +
          `<path class="whisker" d="${Svg.hWhisker(x(clamp01(e.low)), x(clamp01(e.high)), cy, 5)}" stroke="#222" fill="none"${data}/>`
        )
      }
    }))
  })
}

/** Where an interval lies relative to zero: the colour says whether it excludes 0. */
const side = (e: EvalResult.Estimate) =>
  e.low > 0
    ? { name: "above", colour: "#1a7f37" }
    : e.high < 0
      ? { name: "below", colour: "#b42318" }
      : { name: "includes-zero", colour: "#8a8a8a" }

/** (b) Dot-and-whisker chart of each method's paired difference to `baseline`, with a zero line. */
const differenceChart = (summary: ExperimentResults.Summary, split: string, mode: string, baseline: string): string => {
  const rows = rowsOf(summary, split, mode).flatMap((r) => {
    const d = r.cell.differences.find((x) => x.baseline === baseline)
    return d === undefined ? [] : [{ ...r, d: d.difference }]
  })
  if (rows.length === 0) return ""
  const baseLabel = summary.methods.find((m) => m.name === baseline)?.label ?? baseline
  const { domain, values } = Svg.nice(
    Math.min(0, ...rows.map((r) => r.d.low)),
    Math.max(0, ...rows.map((r) => r.d.high))
  )
  const x = Svg.scale(domain, [left, width - right])
  return Svg.rowChart({
    title: `Paired difference to ${baseLabel}, ${split} ${mode} (method − baseline, 95% interval)`,
    data: { "data-chart": "difference", "data-baseline": baseline, "data-split": split, "data-mode": mode },
    key: [
      { label: "interval excludes 0, above", colour: side({ value: 1, low: 1, high: 1 }).colour, shape: "dot" },
      { label: "excludes 0, below", colour: side({ value: -1, low: -1, high: -1 }).colour, shape: "dot" },
      { label: "includes 0", colour: side({ value: 0, low: 0, high: 0 }).colour, shape: "dot" }
    ],
    axis: { at: x, values, format: signedPoints, label: `difference to ${baseLabel}, percentage points` },
    under: (top, bottom) =>
      `<line class="zero" x1="${Svg.n(x(0))}" x2="${Svg.n(x(0))}" y1="${top - 4}" y2="${bottom}" stroke="#222" stroke-dasharray="4 3" data-value="0"/>`,
    rows: rows.map(({ d, method }) => ({
      name: method.name,
      label: method.label,
      mark: (cy) => {
        const s = side(d)
        const data = Svg.attrs({
          "data-method": method.name,
          "data-baseline": baseline,
          "data-split": split,
          "data-mode": mode,
          "data-value": d.value,
          "data-low": d.low,
          "data-high": d.high,
          "data-excludes-zero": s.name !== "includes-zero",
          "data-side": s.name
        })
        return (
          `<path class="whisker" d="${Svg.hWhisker(x(d.low), x(d.high), cy, 5)}" stroke="${s.colour}" stroke-width="2" fill="none"${data}/>` +
          `<circle class="dot" cx="${Svg.n(x(d.value))}" cy="${Svg.n(cy)}" r="5" fill="${s.colour}"${data}>` +
          `<title>${Svg.esc(`${method.label} − ${baseLabel}: ${ExperimentResults.formatDifference(d)} points`)}</title></circle>`
        )
      }
    }))
  })
}

/** (c) Grouped bars: accuracy per difficulty level (groups) per method (bars), whiskers at the interval. */
const levelChart = (summary: ExperimentResults.Summary, split: string, mode: string): string => {
  const rows = rowsOf(summary, split, mode)
  const levels = [...new Set(rows.flatMap((r) => Object.keys(r.cell.levels)))].toSorted((a, b) =>
    a.localeCompare(b, "en", { numeric: true })
  )
  if (levels.length === 0) return ""
  const plotLeft = 70
  const key = Svg.legend(
    [
      ...rows.map((r) => ({ label: r.method.label, colour: Svg.colour(r.index), shape: "box" as const })),
      whiskerLegend
    ],
    plotLeft,
    4,
    width - plotLeft - right
  )
  const top = key.height + 12
  const bottom = top + 200
  const y = Svg.scale([0, 1], [bottom, top])
  const group = (width - plotLeft - right) / levels.length
  const bar = (group * 0.8) / rows.length
  const bars = levels
    .flatMap((level, g) =>
      rows.flatMap(({ cell, index, method }, k) => {
        const e = cell.levels[level]?.accuracy
        if (e === undefined) return []
        const x = plotLeft + g * group + group * 0.1 + k * bar
        const cx = Svg.n(x + bar / 2)
        const data = {
          "data-method": method.name,
          "data-level": level,
          "data-split": split,
          "data-mode": mode,
          "data-value": e.value,
          "data-low": e.low,
          "data-high": e.high
        }
        return [
          `<rect class="level-bar" x="${Svg.n(x)}" y="${Svg.n(y(clamp01(e.value)))}" width="${Svg.n(bar * 0.9)}" height="${Svg.n(bottom - y(clamp01(e.value)))}" fill="${Svg.colour(index)}"${Svg.attrs(data)}>` +
            `<title>${Svg.esc(`${method.label}, ${level}: ${Table.formatEstimate(e)}`)}</title></rect>` +
            `<path class="whisker" d="M${cx} ${Svg.n(y(clamp01(e.low)))}V${Svg.n(y(clamp01(e.high)))}" stroke="#222" fill="none"${Svg.attrs(data)}/>`
        ]
      })
    )
    .join("")
  const labels = levels
    .map(
      (level, g) =>
        `<text class="group-label" x="${Svg.n(plotLeft + (g + 0.5) * group)}" y="${bottom + 16}" text-anchor="middle"${Svg.attrs({ "data-level": level })}>${Svg.esc(level)}</text>`
    )
    .join("")
  const axis = Svg.yAxis({
    at: y,
    values: Svg.nice(0, 1).values,
    format: percent,
    label: "accuracy",
    across: [plotLeft, width - right]
  })
  return Svg.frame({
    title: `Accuracy per difficulty level, ${split} ${mode} (mean over seeds, 95% interval)`,
    width,
    height: bottom + 30,
    data: { "data-chart": "levels", "data-split": split, "data-mode": mode },
    body: `${key.svg}${axis}<line x1="${plotLeft}" x2="${width - right}" y1="${bottom}" y2="${bottom}" stroke="#444"/>${labels}${bars}`
  })
}

/** (d) One metric's training curves: a line per method (mean over seeds) over its min–max band across seeds. */
const curveChart = (summary: ExperimentResults.Summary, metric: string, curves: ReadonlyArray<Curve>): string => {
  const drawn = curves.filter((c) => c.metric === metric && c.points.length > 0)
  if (drawn.length === 0) return ""
  const indexOf = (name: string) =>
    Math.max(
      0,
      summary.methods.findIndex((m) => m.name === name)
    )
  const labelOf = (name: string) => summary.methods.find((m) => m.name === name)?.label ?? name
  const plotLeft = 70
  const key = Svg.legend(
    [
      ...drawn.map((c) => ({
        label: labelOf(c.method),
        colour: Svg.colour(indexOf(c.method)),
        shape: "line" as const
      })),
      { label: "min–max over seeds", colour: "#444", shape: "band" }
    ],
    plotLeft,
    4,
    width - plotLeft - right
  )
  const top = key.height + 12
  const bottom = top + 220
  const all = drawn.flatMap((c) => c.points)
  const steps = Svg.nice(Math.min(...all.map((p) => p.step)), Math.max(...all.map((p) => p.step)))
  const values = Svg.nice(Math.min(...all.map((p) => p.low)), Math.max(...all.map((p) => p.high)))
  const x = Svg.scale(steps.domain, [plotLeft, width - right])
  const y = Svg.scale(values.domain, [bottom, top])
  const at = (p: CurvePoint, v: number) => `${Svg.n(x(p.step))} ${Svg.n(y(v))}`
  const lines = drawn
    .map((c) => {
      const colour = Svg.colour(indexOf(c.method))
      const last = c.points[c.points.length - 1]!
      const data = {
        "data-method": c.method,
        "data-metric": metric,
        "data-points": c.points.length,
        "data-last-step": last.step,
        "data-last-value": last.value
      }
      const band = `M${c.points.map((p) => at(p, p.high)).join("L")}L${c.points
        .toReversed()
        .map((p) => at(p, p.low))
        .join("L")}Z`
      const marker =
        c.points.length === 1
          ? `<circle cx="${Svg.n(x(last.step))}" cy="${Svg.n(y(last.value))}" r="3" fill="${colour}"/>`
          : ""
      return (
        `<g class="curve"${Svg.attrs(data)}><path class="band" d="${band}" fill="${colour}" fill-opacity="0.18" stroke="none"/>` +
        `<polyline class="line" points="${c.points.map((p) => at(p, p.value).replace(" ", ",")).join(" ")}" fill="none" stroke="${colour}" stroke-width="2"/>${marker}` +
        `<title>${Svg.esc(`${labelOf(c.method)}: ${metric} ${last.value.toPrecision(4)} at step ${last.step}`)}</title></g>`
      )
    })
    .join("")
  const axes =
    Svg.xAxis({ at: x, values: steps.values, format: String, label: "step", across: [top, bottom] }) +
    Svg.yAxis({
      at: y,
      values: values.values,
      format: (v) => String(Number(v.toPrecision(6))),
      label: metric,
      across: [plotLeft, width - right]
    })
  return Svg.frame({
    title: `${metrics[metric] ?? metric} (${metric}) over training steps, mean over seeds with min–max band`,
    width,
    height: bottom + 44,
    data: { "data-chart": "curve", "data-metric": metric },
    body: `${key.svg}${axes}${lines}`
  })
}

const section = (title: string, charts: ReadonlyArray<string>, empty: string): string => {
  const drawn = charts.filter((c) => c !== "")
  return `<h2>${Svg.esc(title)}</h2>\n${drawn.length === 0 ? `<p class="meta">${Svg.esc(empty)}</p>` : drawn.map((c) => `<figure>${c}</figure>`).join("\n")}`
}

/** The experiment page as one HTML string: every chart is inline SVG and every text is escaped. */
export const renderHtml = (input: Input): string => {
  const { summary } = input
  const columns = columnsOf(summary)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${Svg.esc(input.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
svg { font: 12px system-ui, sans-serif; max-width: 100%; height: auto; } figure { margin: 1rem 0; }
.axis-label { fill: #555; } pre { background: #f6f6f6; padding: .6rem; white-space: pre; overflow-x: auto; } .meta { color: #666; }
</style></head>
<body>
<h1>${Svg.esc(input.title)}</h1>
<p class="meta">${Svg.esc(input.provenance)} · seeds ${Svg.esc(summary.seeds.join(", "))} · generated ${Svg.esc(input.generatedAt)}</p>
${section(
  "Accuracy per method (greedy first sample, 95% two-level bootstrap interval)",
  columns.map((c) => accuracyChart(summary, c.split, c.mode)),
  "No evaluation results."
)}
${section(
  "Paired differences to the baselines",
  summary.baselines.flatMap((b) => columns.map((c) => differenceChart(summary, c.split, c.mode, b))),
  "No baseline comparisons."
)}
${section(
  "Accuracy per difficulty level",
  columns.map((c) => levelChart(summary, c.split, c.mode)),
  "No difficulty levels."
)}
${section(
  "Training curves",
  Object.keys(metrics).map((m) => curveChart(summary, m, input.curves)),
  "No training metrics found."
)}
<h2>Tables</h2>
<pre class="markdown">${Svg.esc(input.markdown)}</pre>
</body></html>
`
}

/** metric → step → value of one metrics.jsonl; a repeated step (a resumed run) keeps its last value. */
const readSeries = (text: string): Map<string, Map<number, number>> => {
  const lines = Metrics.parse(text)
  return new Map(
    Object.keys(metrics).map((metric) => [metric, new Map(Metrics.points(lines, metric).map((p) => [p.step, p.value]))])
  )
}

/** Mean, min and max over seeds at each step that every seed with this metric logged (partial seeds cut the curve short). */
export const aggregate = (perSeed: ReadonlyArray<ReadonlyMap<number, number>>): Array<CurvePoint> => {
  const present = perSeed.filter((s) => s.size > 0)
  const first = present[0]
  if (first === undefined) return []
  const steps = [...first.keys()].filter((step) => present.every((s) => s.has(step))).toSorted((a, b) => a - b)
  return steps.map((step) => {
    const vs = present.map((s) => s.get(step) as number)
    return { step, value: vs.reduce((a, b) => a + b, 0) / vs.length, low: Math.min(...vs), high: Math.max(...vs) }
  })
}

/** A method's directory among a seed directory's entries: `<name>` or `<name>@lr=<value>`; of several, the tuned one, else `<name>`. */
export const methodDir = (
  entries: ReadonlyArray<string>,
  name: string,
  tuning: Record<string, { lr: number }>
): string | undefined => {
  const matches = entries.filter((e) => e === name || e.startsWith(`${name}@lr=`)).toSorted()
  if (matches.length <= 1) return matches[0]
  const chosen = tuning[name]
  const tuned = chosen === undefined ? undefined : Experiment.gridName(name, chosen.lr)
  return tuned !== undefined && matches.includes(tuned) ? tuned : matches.includes(name) ? name : matches[0]
}

/** Training curves of every method of the summary from `<runDir>/seed-<s>/<method>/metrics.jsonl`; missing files are skipped. */
export const curvesOf = (runDir: string, summary: ExperimentResults.Summary) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const tuning = (yield* Experiment.readTuning(join(runDir, "tuning.json"))) ?? {}
    const series = new Map<string, Array<Map<string, Map<number, number>>>>()
    for (const seed of summary.seeds) {
      const seedDir = join(runDir, `seed-${seed}`)
      if (!(yield* fs.exists(seedDir))) continue
      const entries = yield* fs.readDirectory(seedDir)
      for (const method of summary.methods) {
        const dir = methodDir(entries, method.name, tuning)
        const file = dir === undefined ? undefined : join(seedDir, dir, "metrics.jsonl")
        if (file === undefined || !(yield* fs.exists(file))) continue
        series.set(method.name, [...(series.get(method.name) ?? []), readSeries(yield* fs.readFileString(file))])
      }
    }
    return summary.methods.flatMap((method) =>
      Object.keys(metrics).flatMap((metric): Array<Curve> => {
        const points = aggregate((series.get(method.name) ?? []).map((s) => s.get(metric) ?? new Map()))
        return points.length === 0 ? [] : [{ method: method.name, metric, points }]
      })
    )
  })

/** Write `<runDir>/experiment.html` (curves from the run directory, tables from the summary); returns its path. */
export const write = (runDir: string, summary: ExperimentResults.Summary, provenance: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const curves = yield* curvesOf(runDir, summary)
    const now = yield* Clock.currentTimeMillis
    const html = renderHtml({
      title: `ReaLM experiment ${basename(runDir)}`,
      provenance,
      generatedAt: new Date(now).toISOString(),
      summary,
      markdown: ExperimentResults.markdown(summary),
      curves
    })
    const file = join(runDir, "experiment.html")
    yield* fs.writeFileString(file, html)
    return file
  })
