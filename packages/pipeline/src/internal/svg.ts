/**
 * Small building blocks for the experiment page's inline SVG charts: linear scales, round ticks, axes, legends and
 * the chart frame. Every text and attribute value is escaped here, so callers pass plain strings.
 */
import { Report } from "@realm-lm/evaluator"

/** Escape text for element content and attribute values. */
export const esc = Report.escapeHtml

const palette = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#17becf",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22"
]

/** Chart geometry in px: width, the left margin that holds method labels, the right margin, a row's height. */
export const layout = { width: 780, left: 250, right: 30, row: 24 } as const
const { left, right, row, width } = layout

/** The colour of the i-th method, the same in every chart. */
export const colour = (i: number): string => palette[i % palette.length]!

/** A coordinate with at most two decimals: short, stable output. */
export const n = (x: number): string => String(Math.round(x * 100) / 100)

/** ` data-method="…" data-value="0.5"`: attributes from a record, values escaped, undefined ones left out. */
export const attrs = (record: Record<string, string | number | boolean | undefined>): string =>
  Object.entries(record)
    .flatMap(([k, v]) => (v === undefined ? [] : [` ${k}="${esc(String(v))}"`]))
    .join("")

/** A linear map from `domain` to `range` (a flat domain maps to the range's start). */
export const scale = (domain: readonly [number, number], range: readonly [number, number]) => {
  const [d0, d1] = domain
  const [r0, r1] = range
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0)
  return (x: number): number => r0 + (x - d0) * k
}

/** A round tick step (1, 2 or 5 × 10^k) giving about `count` ticks over [lo, hi]. */
const tickStep = (lo: number, hi: number, count: number): number => {
  const raw = (hi - lo) / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  return [1, 2, 5, 10].map((f) => f * magnitude).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * magnitude
}

/** Path data of a horizontal whisker from x1 to x2 at height y, with end caps `half` above and below. */
export const hWhisker = (x1: number, x2: number, y: number, half: number): string =>
  `M${n(x1)} ${n(y - half)}v${n(2 * half)}M${n(x1)} ${n(y)}H${n(x2)}M${n(x2)} ${n(y - half)}v${n(2 * half)}`

/** A domain bounded by round ticks that contains [lo, hi] (a flat range is widened first), and those ticks. */
export const nice = (lo: number, hi: number, count = 5): { domain: [number, number]; values: Array<number> } => {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1
    return nice(lo - pad, hi + pad, count)
  }
  const step = tickStep(lo, hi, count)
  const first = Math.floor(lo / step + 1e-9)
  const last = Math.ceil(hi / step - 1e-9)
  const values = Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toPrecision(12)))
  return { domain: [values[0]!, values[values.length - 1]!], values }
}

/** Where an axis lies: the value scale, its ticks and format, the label, and the plot's extent across the axis. */
export interface Axis {
  readonly at: (v: number) => number
  readonly values: ReadonlyArray<number>
  readonly format: (v: number) => string
  readonly label: string
  /** The plot's other coordinate range: [y0, y1] for an x axis (drawn at y1), [x0, x1] for a y axis (drawn at x0). */
  readonly across: readonly [number, number]
}

/** A horizontal axis below the plot, with ticks, light grid lines and a label. */
export const xAxis = (a: Axis): string => {
  const [y0, y1] = a.across
  const xs = a.values.map((v) => a.at(v))
  const ticksSvg = a.values
    .map((v) => {
      const x = n(a.at(v))
      return (
        `<g class="tick"${attrs({ "data-tick": v })}><line x1="${x}" x2="${x}" y1="${n(y0)}" y2="${n(y1)}" stroke="#eee"/>` +
        `<line x1="${x}" x2="${x}" y1="${n(y1)}" y2="${n(y1 + 4)}" stroke="#444"/>` +
        `<text x="${x}" y="${n(y1 + 16)}" text-anchor="middle">${esc(a.format(v))}</text></g>`
      )
    })
    .join("")
  const mid = xs.length === 0 ? 0 : (Math.min(...xs) + Math.max(...xs)) / 2
  return (
    `<g class="axis"${attrs({ "data-axis": "x", "data-ticks": a.values.length })}>` +
    `<line x1="${n(Math.min(...xs))}" x2="${n(Math.max(...xs))}" y1="${n(y1)}" y2="${n(y1)}" stroke="#444"/>${ticksSvg}` +
    `<text class="axis-label" x="${n(mid)}" y="${n(y1 + 32)}" text-anchor="middle">${esc(a.label)}</text></g>`
  )
}

/** A vertical axis left of the plot, with ticks, light grid lines and a label. */
export const yAxis = (a: Axis): string => {
  const [x0, x1] = a.across
  const ys = a.values.map((v) => a.at(v))
  const ticksSvg = a.values
    .map((v) => {
      const y = n(a.at(v))
      return (
        `<g class="tick"${attrs({ "data-tick": v })}><line x1="${n(x0)}" x2="${n(x1)}" y1="${y}" y2="${y}" stroke="#eee"/>` +
        `<line x1="${n(x0 - 4)}" x2="${n(x0)}" y1="${y}" y2="${y}" stroke="#444"/>` +
        `<text x="${n(x0 - 7)}" y="${n(a.at(v) + 4)}" text-anchor="end">${esc(a.format(v))}</text></g>`
      )
    })
    .join("")
  const mid = ys.length === 0 ? 0 : (Math.min(...ys) + Math.max(...ys)) / 2
  return (
    `<g class="axis"${attrs({ "data-axis": "y", "data-ticks": a.values.length })}>` +
    `<line x1="${n(x0)}" x2="${n(x0)}" y1="${n(Math.min(...ys))}" y2="${n(Math.max(...ys))}" stroke="#444"/>${ticksSvg}` +
    `<text class="axis-label" transform="translate(${n(x0 - 44)} ${n(mid)}) rotate(-90)" text-anchor="middle">${esc(a.label)}</text></g>`
  )
}

/** One legend entry; `shape` says how its swatch is drawn. */
export interface LegendItem {
  readonly label: string
  readonly colour: string
  readonly shape: "box" | "line" | "dot" | "whisker" | "band"
}

const swatch = (item: LegendItem, x: number, y: number): string => {
  switch (item.shape) {
    case "box":
      return `<rect x="${n(x)}" y="${n(y - 9)}" width="14" height="10" fill="${item.colour}"/>`
    case "band":
      return `<rect x="${n(x)}" y="${n(y - 9)}" width="14" height="10" fill="${item.colour}" fill-opacity="0.25"/>`
    case "line":
      return `<line x1="${n(x)}" x2="${n(x + 14)}" y1="${n(y - 4)}" y2="${n(y - 4)}" stroke="${item.colour}" stroke-width="2"/>`
    case "dot":
      return `<circle cx="${n(x + 7)}" cy="${n(y - 4)}" r="4" fill="${item.colour}"/>`
    case "whisker":
      return `<path d="M${n(x)} ${n(y - 8)}v8M${n(x)} ${n(y - 4)}h14M${n(x + 14)} ${n(y - 8)}v8" stroke="${item.colour}" fill="none"/>`
  }
}

/** A legend starting at (x, y), wrapped at `wrapAt` px wide; returns the markup and the height it took. */
export const legend = (
  items: ReadonlyArray<LegendItem>,
  x: number,
  y: number,
  wrapAt: number
): { svg: string; height: number } => {
  let cx = x
  let cy = y + 12
  const parts = items.map((item) => {
    const w = 24 + 7 * item.label.length
    if (cx > x && cx + w > x + wrapAt) {
      cx = x
      cy += 18
    }
    const out =
      `<g class="legend-item"${attrs({ "data-label": item.label })}>${swatch(item, cx, cy)}` +
      `<text x="${n(cx + 19)}" y="${n(cy)}">${esc(item.label)}</text></g>`
    cx += w + 12
    return out
  })
  return { svg: `<g class="legend">${parts.join("")}</g>`, height: items.length === 0 ? 0 : cy - y + 8 }
}

/** The chart frame: an accessible, self-describing <svg> with a <title>. */
export const frame = (o: {
  readonly title: string
  readonly width: number
  readonly height: number
  readonly data: Record<string, string | number | undefined>
  readonly body: string
}): string =>
  `<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 ${n(o.width)} ${n(o.height)}" width="${n(o.width)}" height="${n(o.height)}"` +
  `${attrs({ "aria-label": o.title, ...o.data })}><title>${esc(o.title)}</title>${o.body}</svg>`

/** A chart of rows: marks (drawn at each row's centre) beside method labels, over an x axis, under a legend. */
export const rowChart = (o: {
  readonly title: string
  readonly data: Record<string, string>
  readonly key: ReadonlyArray<LegendItem>
  readonly axis: Omit<Axis, "across">
  readonly rows: ReadonlyArray<{ readonly name: string; readonly label: string; readonly mark: (cy: number) => string }>
  readonly under?: (top: number, bottom: number) => string
}): string => {
  const key = legend(o.key, left, 4, width - left - right)
  const top = key.height + 12
  const bottom = top + o.rows.length * row
  const rows = o.rows
    .map((r, k) => {
      const cy = top + k * row + row / 2
      return `<g class="row"${attrs({ "data-method": r.name })}><text x="${left - 8}" y="${n(cy + 4)}" text-anchor="end">${esc(r.label)}</text>${r.mark(cy)}</g>`
    })
    .join("")
  const body = `${key.svg}${xAxis({ ...o.axis, across: [top, bottom] })}${o.under?.(top, bottom) ?? ""}${rows}`
  return frame({ title: o.title, width, height: bottom + 44, data: o.data, body })
}
