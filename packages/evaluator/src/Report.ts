/**
 * Render a run report as one self-contained HTML file: no network, Chart.js (from npm) inlined, data embedded
 * as JSON. Tables are rendered on the server side so they read without JavaScript; charts are drawn in the page.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { EvalResult } from "@realm-lm/core"
import type { ReportData } from "./ReportData.ts"
import { formatEstimate } from "./Table.ts"

/** Chart.js' UMD build, next to the package's ESM entry (the subpath itself is not exported). */
const chartJsSource = (): string =>
  readFileSync(join(dirname(fileURLToPath(import.meta.resolve("chart.js"))), "chart.umd.min.js"), "utf8")

/** Escape text for HTML element content and attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c")

const resultsTable = (results: ReadonlyArray<EvalResult.EvalResult>): string => {
  const methods = [...new Set(results.map((r) => r.method))]
  const splits = [...new Set(results.map((r) => r.split))]
  const modes = ["assisted", "autonomous"] as const
  const head = splits.flatMap((s) => modes.map((m) => `<th>${escapeHtml(s)} ${m}</th>`)).join("")
  const rows = methods
    .map((method) => {
      const cells = splits
        .flatMap((split) =>
          modes.map((mode) => {
            const r = results.find((x) => x.method === method && x.split === split && x.mode === mode)
            const value = r === undefined ? "" : ` data-value="${r.accuracy.value}"`
            return `<td data-method="${escapeHtml(method)}" data-split="${escapeHtml(split)}" data-mode="${mode}"${value}>${escapeHtml(formatEstimate(r?.accuracy))}</td>`
          })
        )
        .join("")
      return `<tr><th scope="row">${escapeHtml(method)}</th>${cells}</tr>`
    })
    .join("\n")
  return `<table id="results"><thead><tr><th>method</th>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`
}

const exampleBlock = (e: ReportData["examples"][number], i: number): string => {
  const verdicts = e.verdicts
    .map((v) => {
      const right = v.predicted !== "missing" && (v.label === "positive") === (v.predicted === "correct")
      const step =
        v.namedStep === undefined
          ? ""
          : ` (named step ${v.namedStep}${v.decisiveStep === undefined ? "" : `, true ${v.decisiveStep}`})`
      return `<li class="${right ? "ok" : "bad"}">Route ${escapeHtml(v.route)}: truly ${v.label}, model says ${v.predicted}${step}</li>`
    })
    .join("")
  return `<section class="example" data-testid="example-${i}"><h3>${escapeHtml(e.title)} — ${e.correct ? "answer correct" : "answer wrong"}${e.reward === undefined ? "" : `, reward ${e.reward.toFixed(3)}`}</h3>
<details><summary>prompt</summary><pre>${escapeHtml(e.prompt)}</pre></details>
<pre class="completion">${escapeHtml(e.completion)}</pre><ul>${verdicts}</ul></section>`
}

const pageScript = `
const data = JSON.parse(document.getElementById("report-data").textContent);
const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"];
const lineChart = (id, series) => new Chart(document.getElementById(id), {
  type: "line",
  data: { datasets: series.map((s, i) => ({ label: s.name, data: s.points.map((p) => ({ x: p.step, y: p.value })),
    borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], pointRadius: 0, borderWidth: 2 })) },
  options: { animation: false, responsive: false, parsing: false, scales: { x: { type: "linear", title: { display: true, text: "step" } } } }
});
if (data.curves.length > 0) lineChart("curves", data.curves);
if (data.guidance.length > 0) lineChart("guidance", [{ name: "guidance strength s(t)", points: data.guidance }]);
document.body.dataset.rendered = "true";
`

/** The report page as a single HTML string. */
export const renderHtml = (data: ReportData): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: right; }
th[scope=row], thead th:first-child { text-align: left; } pre { background: #f6f6f6; padding: .6rem; white-space: pre-wrap; }
li.ok { color: #1a7f37; } li.bad { color: #b42318; } .meta { color: #666; }
canvas { border: 1px solid #eee; margin: .5rem 0; }
</style></head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<p class="meta">${escapeHtml(data.provenance)} · generated ${escapeHtml(data.generatedAt)}</p>
<h2>Results (accuracy %, 95% bootstrap CI)</h2>
${resultsTable(data.results)}
<h2>Training curves</h2>
<canvas id="curves" width="1000" height="320" data-series="${data.curves.length}"></canvas>
<h2>Guidance strength s(t)</h2>
<canvas id="guidance" width="1000" height="220" data-series="${data.guidance.length > 0 ? 1 : 0}"></canvas>
<h2>Example MRPV completions</h2>
${data.examples.map(exampleBlock).join("\n")}
<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script>${chartJsSource()}</script>
<script>${pageScript}</script>
</body></html>
`
