/**
 * `ExperimentReport`: the page of a hand-made two-seed summary (bars at each method's accuracy and interval, a
 * difference interval that excludes zero coloured apart from one that includes it, per-level bars, escaped labels),
 * and curves read from a temporary run directory (torn last line, a tuned `realm@lr=…` directory, missing files).
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ExperimentReport from "../src/ExperimentReport.ts"
import type * as ExperimentResults from "../src/ExperimentResults.ts"

const est = (value: number, low: number, high: number) => ({ value, low, high, perSeed: [value - 0.01, value + 0.01] })
const diff = (value: number, low: number, high: number): ExperimentResults.Difference => ({
  baseline: "sft",
  dropped: 0,
  droppedSeeds: 0,
  difference: { value, low, high },
  overProblems: { value, low, high },
  overSeedsT: { value, low, high },
  pValue: 0.04,
  perSeed: [value, value],
  problems: 40
})

/** Accuracy of each method in each column; realm beats sft clearly, grpo's difference includes zero. */
const accuracy: Record<string, Record<string, ReturnType<typeof est>>> = {
  sft: { "test|autonomous": est(0.4, 0.3, 0.5), "test|assisted": est(0.55, 0.45, 0.65) },
  grpo: { "test|autonomous": est(0.43, 0.33, 0.53), "test|assisted": est(0.6, 0.5, 0.7) },
  realm: { "test|autonomous": est(0.52, 0.42, 0.62), "test|assisted": est(0.71, 0.61, 0.81) }
}
const differences: Record<string, ReadonlyArray<ExperimentResults.Difference>> = {
  sft: [],
  grpo: [diff(0.03, -0.02, 0.08)],
  realm: [diff(0.12, 0.04, 0.2)]
}

const summary: ExperimentResults.Summary = {
  seeds: [0, 1],
  methods: [
    { name: "sft", label: "SFT" },
    { name: "grpo", label: "GRPO <b>&" },
    { name: "realm", label: "ReaLM" }
  ],
  baselines: ["sft"],
  cells: ["test|autonomous", "test|assisted"].flatMap((column) => {
    const [split, mode] = column.split("|") as [string, "assisted" | "autonomous"]
    return ["sft", "grpo", "realm"].map((method, i): ExperimentResults.Cell => ({
      method,
      split,
      mode,
      accuracy: accuracy[method]![column]!,
      differences: differences[method]!,
      levels: {
        "level=1": { accuracy: est(0.6 + 0.05 * i, 0.5, 0.8), differences: [] },
        "level=2": { accuracy: est(0.2 + 0.05 * i, 0.1, 0.3), differences: [] }
      }
    }))
  })
}

/** The opening tags `<tag …>` of an HTML string whose attributes include every one of `has`. */
const tags = (html: string, tag: string, has: Record<string, string>): Array<string> =>
  [...html.matchAll(new RegExp(`<${tag}\\b[^>]*>`, "g"))]
    .map((m) => m[0])
    .filter((t) => Object.entries(has).every(([k, v]) => t.includes(` ${k}="${v}"`)))

/** The <svg> element of one chart. */
const chart = (html: string, has: Record<string, string>): string => {
  const start = html.indexOf(tags(html, "svg", has)[0] ?? "\u0000")
  assert.isAtLeast(start, 0, `no chart ${JSON.stringify(has)}`)
  return html.slice(start, html.indexOf("</svg>", start))
}

const attr = (tag: string, name: string): string | undefined => tag.match(new RegExp(` ${name}="([^"]*)"`))?.[1]

const html = ExperimentReport.renderHtml({
  title: "Experiment <x>",
  provenance: "realm-lm test & co",
  generatedAt: "2025-01-01T00:00:00.000Z",
  summary,
  markdown: "| method | test |\n| GRPO <b>& | 1 |",
  curves: [
    {
      method: "realm",
      metric: "reward_mean",
      points: [
        { step: 1, value: 0.2, low: 0.1, high: 0.3 },
        { step: 2, value: 0.4, low: 0.3, high: 0.5 }
      ]
    }
  ]
})

describe("ExperimentReport.renderHtml", () => {
  it("draws one bar per method per split × mode at its accuracy, with whiskers at the interval", () => {
    for (const column of ["test|autonomous", "test|assisted"]) {
      const [split, mode] = column.split("|") as [string, string]
      const svg = chart(html, { "data-chart": "accuracy", "data-split": split, "data-mode": mode })
      assert.include(svg, "<title>Accuracy per method")
      assert.include(svg, `data-axis="x"`)
      assert.include(svg, `class="legend"`)
      for (const method of ["sft", "grpo", "realm"]) {
        const e = accuracy[method]![column]!
        const bars = tags(svg, "rect", { class: "bar", "data-method": method })
        assert.strictEqual(bars.length, 1, `${method} ${column}`)
        assert.strictEqual(attr(bars[0]!, "data-value"), String(e.value))
        const whiskers = tags(svg, "path", { class: "whisker", "data-method": method })
        assert.strictEqual(whiskers.length, 1)
        assert.strictEqual(attr(whiskers[0]!, "data-low"), String(e.low))
        assert.strictEqual(attr(whiskers[0]!, "data-high"), String(e.high))
      }
      assert.strictEqual(tags(svg, "rect", { class: "bar" }).length, 3)
    }
  })

  it("colours a difference interval that excludes zero apart from one that includes zero, beside a zero line", () => {
    const svg = chart(html, {
      "data-chart": "difference",
      "data-baseline": "sft",
      "data-split": "test",
      "data-mode": "autonomous"
    })
    assert.lengthOf(tags(svg, "line", { class: "zero", "data-value": "0" }), 1)
    assert.lengthOf(tags(svg, "circle", { class: "dot", "data-method": "sft" }), 0)
    const realm = tags(svg, "circle", { class: "dot", "data-method": "realm" })[0]!
    const grpo = tags(svg, "circle", { class: "dot", "data-method": "grpo" })[0]!
    assert.strictEqual(attr(realm, "data-excludes-zero"), "true")
    assert.strictEqual(attr(grpo, "data-excludes-zero"), "false")
    assert.strictEqual(attr(realm, "data-value"), "0.12")
    assert.strictEqual(attr(grpo, "data-low"), "-0.02")
    assert.notStrictEqual(attr(realm, "fill"), attr(grpo, "fill"))
    const whisker = tags(svg, "path", { class: "whisker", "data-method": "realm" })[0]!
    assert.strictEqual(attr(whisker, "stroke"), attr(realm, "fill"))
  })

  it("draws grouped bars per difficulty level and method", () => {
    const svg = chart(html, { "data-chart": "levels", "data-split": "test", "data-mode": "assisted" })
    assert.lengthOf(tags(svg, "rect", { class: "level-bar" }), 6)
    for (const [i, method] of ["sft", "grpo", "realm"].entries()) {
      const bars = tags(svg, "rect", { class: "level-bar", "data-method": method, "data-level": "level=2" })
      assert.lengthOf(bars, 1)
      assert.closeTo(Number(attr(bars[0]!, "data-value")), 0.2 + 0.05 * i, 1e-12)
    }
    assert.include(svg, `>level=1</text>`)
  })

  it("draws a training curve with its band, and escapes every text", () => {
    const svg = chart(html, { "data-chart": "curve", "data-metric": "reward_mean" })
    const curve = tags(svg, "g", { class: "curve", "data-method": "realm" })
    assert.lengthOf(curve, 1)
    assert.strictEqual(attr(curve[0]!, "data-last-value"), "0.4")
    assert.include(svg, `class="band"`)
    assert.notInclude(html, "GRPO <b>&")
    assert.include(html, "GRPO &lt;b&gt;&amp;")
    assert.include(html, "<title>Experiment &lt;x&gt;</title>")
    assert.include(html, "realm-lm test &amp; co")
    assert.notInclude(html, "<script")
  })
})

/** A run directory: two seeds; seed 1's grpo log torn mid-line; realm tuned to lr 0.0001 beside a grid value that sorts first. */
const makeRun = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "realm-experiment-report-"))
  const log = (seed: number, method: string, rows: ReadonlyArray<Record<string, number>>, torn = "") => {
    mkdirSync(join(dir, `seed-${seed}`, method), { recursive: true })
    writeFileSync(
      join(dir, `seed-${seed}`, method, "metrics.jsonl"),
      `${rows.map((r) => JSON.stringify(r)).join("\n")}\n${torn}`
    )
  }
  writeFileSync(
    join(dir, "tuning.json"),
    JSON.stringify({ key: "k", choice: { realm: { lr: 0.0001, scores: { "0.00005": 0.5, "0.0001": 0.6 } } } })
  )
  mkdirSync(join(dir, "seed-0", "sft"), { recursive: true })
  log(0, "grpo", [
    { step: 1, reward_mean: 0.1 },
    { step: 2, reward_mean: 0.3 },
    { step: 3, reward_mean: 0.5 }
  ])
  log(
    1,
    "grpo",
    [
      { step: 1, reward_mean: 0.2 },
      { step: 2, reward_mean: 0.5 }
    ],
    `{"step": 3, "reward_me`
  )
  log(0, "realm@lr=0.0001", [{ step: 2, reward_mean: 0.6, strength: 0.8 }])
  log(0, "realm@lr=0.00005", [{ step: 2, reward_mean: 9, strength: 9 }])
  log(1, "realm@lr=0.0001", [{ step: 2, reward_mean: 0.2, strength: 0.8 }])
  return dir
}

describe("ExperimentReport.curvesOf / write", () => {
  it.effect("averages aligned steps over seeds with min and max, tolerating torn lines and tuned directories", () =>
    Effect.gen(function* () {
      const dir = makeRun()
      const curves = yield* ExperimentReport.curvesOf(dir, summary)
      const find = (method: string, metric: string) => curves.find((c) => c.method === method && c.metric === metric)
      const grpo = find("grpo", "reward_mean")!
      assert.deepStrictEqual(
        grpo.points.map((p) => p.step),
        [1, 2]
      )
      const step2 = grpo.points[1]!
      assert.closeTo(step2.value, 0.4, 1e-12)
      assert.strictEqual(step2.low, 0.3)
      assert.strictEqual(step2.high, 0.5)
      const realm = find("realm", "reward_mean")!
      assert.deepStrictEqual(
        realm.points.map((p) => ({ ...p, value: Number(p.value.toFixed(12)) })),
        [{ step: 2, value: 0.4, low: 0.2, high: 0.6 }]
      )
      assert.deepStrictEqual(find("realm", "strength")?.points, [{ step: 2, value: 0.8, low: 0.8, high: 0.8 }])
      assert.isUndefined(find("grpo", "strength"))
      assert.isUndefined(find("sft", "reward_mean"))
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it("picks the tuned directory of several, else the exact name", () => {
    const entries = ["realm@lr=0.00005", "realm@lr=0.0001", "realmish", "sft"]
    assert.strictEqual(ExperimentReport.methodDir(entries, "realm", { realm: { lr: 0.0001 } }), "realm@lr=0.0001")
    assert.strictEqual(ExperimentReport.methodDir(["realm", "realm@lr=0.1"], "realm", {}), "realm")
    assert.strictEqual(ExperimentReport.methodDir(entries, "sft", {}), "sft")
    assert.isUndefined(ExperimentReport.methodDir(entries, "grpo", {}))
  })

  it.effect("writes experiment.html with the curves and the markdown tables", () =>
    Effect.gen(function* () {
      const dir = makeRun()
      const file = yield* ExperimentReport.write(dir, summary, "realm-lm test")
      assert.strictEqual(file, join(dir, "experiment.html"))
      const page = readFileSync(file, "utf8")
      assert.lengthOf(tags(page, "g", { class: "curve", "data-method": "realm", "data-metric": "strength" }), 1)
      assert.lengthOf(
        tags(page, "g", { class: "curve", "data-method": "grpo", "data-metric": "reward_mean", "data-points": "2" }),
        1
      )
      assert.include(page, "Paired difference to SFT")
      assert.include(page, "| GRPO &lt;b&gt;&amp; |")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
