/**
 * Tolerant reading of one line of a JSONL log that may still be written (a torn last line, or a line that is not an
 * object, reads as nothing). Shared by the run report and the experiment report.
 */

/** The object on `line`, or `undefined` when the line is not a JSON object. */
export const parseObjectLine = (line: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}
