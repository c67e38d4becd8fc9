/**
 * The paper-style results table: one row per method, columns for assisted and autonomous accuracy (with 95%
 * CIs) on each split, as markdown.
 */
import type { EvalResult } from "@realm-lm/core"

/** `63.2 [58.1, 68.0]` in percent. */
export const formatEstimate = (e: EvalResult.Estimate | undefined): string =>
  e === undefined ? "–" : `${(100 * e.value).toFixed(1)} [${(100 * e.low).toFixed(1)}, ${(100 * e.high).toFixed(1)}]`

/** Markdown table: rows = methods (in first-seen order), columns = (split × mode). */
export const markdown = (results: ReadonlyArray<EvalResult.EvalResult>): string => {
  const methods = [...new Set(results.map((r) => r.method))]
  const splits = [...new Set(results.map((r) => r.split))]
  const modes: ReadonlyArray<EvalResult.EvalMode> = ["assisted", "autonomous"]
  const columns = splits.flatMap((split) => modes.map((mode) => ({ split, mode })))
  const cell = (method: string, split: string, mode: string) =>
    formatEstimate(results.find((r) => r.method === method && r.split === split && r.mode === mode)?.accuracy)
  const header = `| method | ${columns.map((c) => `${c.split} ${c.mode}`).join(" | ")} |`
  const rule = `| --- | ${columns.map(() => "---").join(" | ")} |`
  const rows = methods.map((m) => `| ${m} | ${columns.map((c) => cell(m, c.split, c.mode)).join(" | ")} |`)
  return [header, rule, ...rows].join("\n")
}
