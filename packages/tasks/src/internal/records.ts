/**
 * Record readers for the loader: JSONL (streamed, line numbers), JSON arrays, ASDiv's XML and LogiQA's 8-line
 * text records. Each yields raw records with their position, or a `TaskSourceError` naming file and line.
 */
import { TaskSource } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { Effect, FileSystem, Result, Schema, Stream } from "effect"
import type { PlatformError } from "effect"

/** One raw record and where it came from. `line` is 1-based where the format has lines. */
export interface RawRecord {
  readonly value: unknown
  readonly index: number
  readonly line?: number
}

/** Supported file formats. */
export type Format = "jsonl" | "json" | "asdiv-xml" | "logiqa-txt"

type Item = Result.Result<RawRecord, TaskSource.TaskSourceError>

const fail = (source: string, path: string, detail: string, line?: number): Item =>
  Result.fail(
    new TaskSource.TaskSourceError(line === undefined ? { source, path, detail } : { source, path, line, detail })
  )

const ioError = (source: string, path: string) => (error: PlatformError.PlatformError) =>
  new TaskSource.TaskSourceError({ source, path, detail: `cannot read: ${error.message}` })

/** Raw records of a file, in order. Malformed records come through as failures so the policy can decide. */
export const read = (
  source: string,
  path: string,
  format: Format,
  recordsPath: string | undefined
): Stream.Stream<Item, TaskSource.TaskSourceError, FileSystem.FileSystem> => {
  if (format === "jsonl") {
    const decode = Jsonl.decodeLine(Schema.Json)
    return Jsonl.readLines(path).pipe(
      Stream.mapError(ioError(source, path)),
      Stream.mapAccum(
        () => 0,
        (index, raw) => {
          const decoded = decode(path, raw)
          if (Result.isFailure(decoded)) {
            const e = decoded.failure
            const what = e.reason === "torn-tail" ? "torn final line (incomplete write)" : "invalid JSON"
            return [
              index + 1,
              [fail(source, path, `${what}: ${e.detail}${raw.line === 1 ? documentHint(raw.text) : ""}`, raw.line)]
            ] as const
          }
          if (Array.isArray(decoded.success)) {
            return [
              index + 1,
              [fail(source, path, `the line is a JSON array, not one record${ARRAY_HINT}`, raw.line)]
            ] as const
          }
          return [index + 1, [Result.succeed<RawRecord>({ value: decoded.success, index, line: raw.line })]] as const
        }
      )
    )
  }
  return Stream.fromIterableEffect(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(path).pipe(Effect.mapError(ioError(source, path)))
      switch (format) {
        case "json":
          return jsonRecords(source, path, text, recordsPath)
        case "asdiv-xml":
          return asdivRecords(text)
        case "logiqa-txt":
          return logiqaRecords(source, path, text)
      }
    })
  )
}

const ARRAY_HINT =
  "; a file that is one JSON array needs `format: json` in the loader settings (JSON Lines, the default `format: jsonl`, holds one record per line)"

/** Why line 1 of a JSON Lines file failed, when the file is really one JSON document (an array or a pretty-printed object). */
const documentHint = (text: string): string => {
  const start = text.trimStart()
  if (start.startsWith("[")) return `; the file looks like a JSON array${ARRAY_HINT}`
  if (start.startsWith("{")) {
    return "; the file looks like one JSON document spread over several lines: set `format: json` in the loader settings, with `recordsPath` naming its array of records (e.g. `recordsPath: examples`), or write one record per line"
  }
  return ""
}

const jsonRecords = (source: string, path: string, text: string, recordsPath: string | undefined): Array<Item> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return [fail(source, path, `invalid JSON: ${error instanceof Error ? error.message : String(error)}`)]
  }
  let value: unknown = parsed
  for (const key of recordsPath === undefined ? [] : recordsPath.split(".")) {
    value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined
  }
  if (!Array.isArray(value)) {
    const arrays =
      value !== null && typeof value === "object"
        ? Object.keys(value).filter((k) => Array.isArray((value as Record<string, unknown>)[k]))
        : []
    const hint =
      arrays.length > 0
        ? `; set recordsPath to the key of the records array: ${arrays
            .slice(0, 5)
            .map((k) => (recordsPath === undefined ? k : `${recordsPath}.${k}`))
            .join(", ")}`
        : "; set recordsPath to the dotted path of the records array inside the file"
    return [
      fail(
        source,
        path,
        `expected an array of records${recordsPath === undefined ? "" : ` at "${recordsPath}"`}${hint}`
      )
    ]
  }
  return value.map((record: unknown, index) => Result.succeed({ value: record, index }))
}

const decodeEntities = (s: string): string =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&")
    .trim()

const newlinesBetween = (text: string, from: number, to: number): number => {
  let n = 0
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) n++
  return n
}

/** ASDiv: `<Problem ID=".." Grade="..">` with Body, Question, Solution-Type, Answer, Formula children. */
const asdivRecords = (text: string): Array<Item> => {
  const out: Array<Item> = []
  let index = 0
  let lastOffset = 0
  let line = 1
  for (const m of text.matchAll(/<Problem\b([^>]*)>([\s\S]*?)<\/Problem>/g)) {
    const offset = m.index ?? 0
    line += newlinesBetween(text, lastOffset, offset)
    lastOffset = offset
    const attrs = Object.fromEntries(
      [...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, decodeEntities(a[2]!)])
    )
    const field = (name: string) => {
      const f = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(m[2]!)
      return f === null ? undefined : decodeEntities(f[1]!)
    }
    out.push(
      Result.succeed({
        value: {
          id: attrs.ID,
          grade: attrs.Grade,
          body: field("Body"),
          question: field("Question"),
          type: field("Solution-Type"),
          answer: field("Answer"),
          formula: field("Formula")
        },
        index: index++,
        line
      })
    )
  }
  return out
}

/** LogiQA: records of a blank line, the gold letter (a-d), context, question and four options `A.` to `D.`. */
const logiqaRecords = (source: string, path: string, text: string): Array<Item> => {
  const lines = text.split(/\r?\n/)
  const out: Array<Item> = []
  let i = 0
  let index = 0
  while (i < lines.length) {
    if (lines[i]!.trim() === "") {
      i++
      continue
    }
    const start = i
    const block = lines.slice(i, i + 7)
    i += 7
    const answer = (block[0] ?? "").trim()
    const options = block.slice(3, 7).map((l) => l.replace(/^\s*[A-Da-d][.)]\s*/, "").trim())
    if (!/^[a-dA-D]$/.test(answer) || block.length < 7) {
      out.push(
        fail(
          source,
          path,
          `expected a LogiQA record (gold letter, context, question, 4 options), got "${answer.slice(0, 40)}"`,
          start + 1
        )
      )
      while (i < lines.length && lines[i]!.trim() !== "") i++
      continue
    }
    out.push(
      Result.succeed({
        value: { answer, context: block[1]!.trim(), question: block[2]!.trim(), options },
        index: index++,
        line: start + 1
      })
    )
  }
  return out
}
