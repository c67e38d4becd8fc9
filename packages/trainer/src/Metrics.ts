/**
 * Per-step metrics of a run: one JSON line per step in `<outDir>/metrics.jsonl` (`{"phase","step",...}`, non-finite
 * values as null) and the same scalars as `<phase>/<name>` in TensorBoard event files under `<outDir>/tensorboard`.
 * On resume, lines after the checkpoint's step are cut so the file reads as one uninterrupted run.
 */
import { Effect, FileSystem, Path } from "effect"
import type { PlatformError, Scope } from "effect"
import * as TensorBoard from "./TensorBoard.ts"

/** File name of the metrics log. */
export const metricsFile = "metrics.jsonl"
/** Folder of the TensorBoard event files. */
export const tensorboardDir = "tensorboard"

/** One logged step. */
export interface MetricsLine {
  readonly phase: string
  readonly step: number
  readonly [metric: string]: number | string | null
}

/** An open metrics sink. */
export interface MetricsWriter {
  readonly write: (
    step: number,
    metrics: Readonly<Record<string, number>>
  ) => Effect.Effect<void, PlatformError.PlatformError>
}

/** One line of metrics.jsonl, or `undefined` for a line that is not one (blank, torn by a killed run, no numeric step). */
export const parseLine = (line: string): MetricsLine | undefined => {
  if (line.trim().length === 0) return undefined
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined // a torn last line of a run still writing or killed
  }
  return typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { step?: unknown }).step === "number"
    ? (value as MetricsLine)
    : undefined
}

/** The lines of metrics.jsonl text, in file order (a run still writing may end in a torn line: skipped); null stays null. */
export const parse = (text: string): Array<MetricsLine> => text.split("\n").flatMap((l) => parseLine(l) ?? [])

/** `{ step, value }` of one metric in file order, from the lines that logged it as a finite number. */
export const points = (
  lines: ReadonlyArray<MetricsLine>,
  metric: string
): Array<{ readonly step: number; readonly value: number }> =>
  lines.flatMap((line) => {
    const value = line[metric]
    return typeof value === "number" && Number.isFinite(value) ? [{ step: line.step, value }] : []
  })

/**
 * Open the sinks of a run. `keepThrough`: resume after this step (drop later lines); `undefined`: a fresh run
 * (earlier metrics are removed).
 */
export const open = (
  outDir: string,
  phase: string,
  options: { readonly keepThrough: number | undefined; readonly tensorboard: boolean }
): Effect.Effect<MetricsWriter, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(outDir, { recursive: true })
    const file = path.join(outDir, metricsFile)
    if (options.keepThrough === undefined) {
      yield* fs.remove(file, { force: true })
      yield* fs.remove(path.join(outDir, tensorboardDir), { recursive: true, force: true })
    } else if (yield* fs.exists(file)) {
      const keepThrough = options.keepThrough
      const kept = (yield* fs.readFileString(file)).split("\n").filter((l) => {
        const line = parseLine(l)
        return line !== undefined && (line.phase !== phase || line.step <= keepThrough)
      })
      const tmp = `${file}.tmp-${process.pid}`
      yield* fs.writeFileString(tmp, kept.map((l) => `${l}\n`).join(""))
      yield* fs.rename(tmp, file)
    }
    const handle = yield* fs.open(file, { flag: "a" })
    const tb = options.tensorboard ? yield* TensorBoard.open(path.join(outDir, tensorboardDir)) : undefined
    const encoder = new TextEncoder()
    return {
      write: (step, metrics) =>
        Effect.gen(function* () {
          const line: Record<string, number | string | null> = { phase, step }
          for (const [k, v] of Object.entries(metrics)) line[k] = Number.isFinite(v) ? v : null
          yield* handle.writeAll(encoder.encode(`${JSON.stringify(line)}\n`))
          if (tb !== undefined)
            yield* tb.scalars(step, Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`${phase}/${k}`, v])))
        })
    }
  })
