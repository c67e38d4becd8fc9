/**
 * JSON Lines in and out as Effect streams of schema-typed records. Reading holds one chunk in memory at a
 * time and reports a bad line with its file path and 1-based line number. Appends are crash-safe: each batch
 * is one write of whole lines, and opening a file for append first cuts off a torn final line left by a writer
 * that was killed mid-write, so readers never choke on it.
 */
import { Effect, FileSystem, Result, Schema, Semaphore, Stream } from "effect"
import type { PlatformError, Scope } from "effect"
import * as FileErrors from "./FileErrors.ts"
import { tempPath } from "./RunDir.ts"

/** Why a line was rejected. `torn-tail`: an unterminated, unparsable final line (a killed writer's leftover). */
export const MalformedReason = Schema.Literals(["json", "schema", "torn-tail"])

/** A JSONL line could not be read as a record. */
export class MalformedLine extends Schema.TaggedError<MalformedLine>()("MalformedLine", {
  path: Schema.String,
  /** 1-based line number. */
  line: Schema.Int,
  reason: MalformedReason,
  detail: Schema.String,
  /** The start of the offending line (at most 200 characters). */
  excerpt: Schema.String
}) {
  override get message(): string {
    return `${this.path}:${this.line}: ${this.reason === "schema" ? "record does not match schema" : this.reason === "json" ? "invalid JSON" : "torn final line (incomplete write)"}: ${this.detail}`
  }
}

/** A raw line with its position. `terminated` is false only for a final line without a newline. */
export interface RawLine {
  readonly text: string
  readonly line: number
  readonly terminated: boolean
}

interface SplitState {
  readonly rest: string
  readonly line: number
}

/** Split a stream of text chunks into numbered lines (LF or CRLF); blank lines are counted but not emitted. */
export const splitNumberedLines = <E, R>(text: Stream.Stream<string, E, R>): Stream.Stream<RawLine, E, R> =>
  text.pipe(
    Stream.mapAccum(
      (): SplitState => ({ rest: "", line: 0 }),
      (state, chunk: string) => {
        const parts = (state.rest + chunk).split("\n")
        const rest = parts.pop() ?? ""
        const out: Array<RawLine> = []
        let line = state.line
        for (const part of parts) {
          line++
          const textLine = part.endsWith("\r") ? part.slice(0, -1) : part
          if (textLine.trim().length > 0) out.push({ text: textLine, line, terminated: true })
        }
        return [{ rest, line }, out] as const
      },
      {
        onHalt: (state) =>
          state.rest.trim().length > 0 ? [{ text: state.rest, line: state.line + 1, terminated: false }] : []
      }
    )
  )

/** Stream the numbered lines of a file. */
export const readLines = (path: string): Stream.Stream<RawLine, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.map(Effect.service(FileSystem.FileSystem), (fs) =>
      splitNumberedLines(Stream.decodeText(fs.stream(path, { chunkSize: 256 * 1024 })))
    )
  )

const excerptOf = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}…` : text)

/** Parse and decode one line; a pure function so callers can reuse it on their own line sources. */
export const decodeLine = <A, I>(schema: Schema.Codec<A, I>) => {
  const decode = Schema.decodeUnknownResult(schema)
  return (path: string, raw: RawLine): Result.Result<A, MalformedLine> => {
    let json: unknown
    try {
      json = JSON.parse(raw.text)
    } catch (cause) {
      return Result.fail(
        new MalformedLine({
          path,
          line: raw.line,
          reason: raw.terminated ? "json" : "torn-tail",
          detail: cause instanceof Error ? cause.message : String(cause),
          excerpt: excerptOf(raw.text)
        })
      )
    }
    const decoded = decode(json)
    if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
    return Result.fail(
      new MalformedLine({
        path,
        line: raw.line,
        reason: "schema",
        detail: decoded.failure.message,
        excerpt: excerptOf(raw.text)
      })
    )
  }
}

/** Every line as a Result: records or the reason a line was rejected (lenient reading; the caller counts). */
export const readLenient = <A, I>(
  path: string,
  schema: Schema.Codec<A, I>
): Stream.Stream<Result.Result<A, MalformedLine>, PlatformError.PlatformError, FileSystem.FileSystem> => {
  const decode = decodeLine(schema)
  return Stream.map(readLines(path), (raw) => decode(path, raw))
}

/**
 * Strict reading: the first malformed line fails the stream with its path and line number. A torn final line
 * (unterminated and unparsable, as a killed writer leaves it) is skipped with a warning, not an error.
 */
export const read = <A, I>(
  path: string,
  schema: Schema.Codec<A, I>
): Stream.Stream<A, MalformedLine | PlatformError.PlatformError, FileSystem.FileSystem> =>
  readLenient(path, schema).pipe(
    Stream.mapEffect((entry) => {
      if (Result.isSuccess(entry)) return Effect.succeed([entry.success])
      const error = entry.failure
      return error.reason === "torn-tail" ? Effect.as(Effect.logWarning(error.message), []) : Effect.fail(error)
    }),
    Stream.flatMap((items) => Stream.fromIterable(items))
  )

/** Lenient reading that skips malformed lines, calling `onSkip` for each (to count or log them). */
export const readSkipping = <A, I, R>(
  path: string,
  schema: Schema.Codec<A, I>,
  onSkip: (error: MalformedLine) => Effect.Effect<void, never, R>
): Stream.Stream<A, PlatformError.PlatformError, FileSystem.FileSystem | R> =>
  readLenient(path, schema).pipe(
    Stream.mapEffect((entry) =>
      Result.isSuccess(entry) ? Effect.succeed([entry.success]) : Effect.as(onSkip(entry.failure), [])
    ),
    Stream.flatMap((items) => Stream.fromIterable(items))
  )

/** Encode records as JSONL text (each line newline-terminated). */
export const encodeLines = <A, I>(schema: Schema.Codec<A, I>) => {
  const encode = Schema.encodeSync(schema)
  return (records: ReadonlyArray<A>): string => {
    let out = ""
    for (const record of records) out += `${JSON.stringify(encode(record))}\n`
    return out
  }
}

/** An open append-only JSONL file. */
export interface Appender<A> {
  /** Append records as one write of whole lines. Concurrent calls are serialized. */
  readonly append: (records: ReadonlyArray<A>) => Effect.Effect<void, PlatformError.PlatformError>
}

/** Truncate a file back to just after its last newline, dropping a torn final line. Returns bytes removed. */
export const repairTail = Effect.fnUntraced(function* (path: string) {
  const fs = yield* FileSystem.FileSystem
  if (!(yield* fs.exists(path))) return 0
  const size = Number((yield* fs.stat(path)).size)
  if (size === 0) return 0
  const file = yield* fs.open(path, { flag: "r" })
  const block = 64 * 1024
  let end = size
  while (end > 0) {
    const start = Math.max(0, end - block)
    const buffer = new Uint8Array(end - start)
    yield* file.seek(BigInt(start), "start")
    yield* file.read(buffer)
    const nl = buffer.lastIndexOf(0x0a)
    if (nl >= 0) {
      const keep = start + nl + 1
      if (keep < size) yield* fs.truncate(path, keep)
      return size - keep
    }
    end = start
  }
  yield* fs.truncate(path, 0)
  return size
}, Effect.scoped)

/**
 * Open `path` for crash-safe appends (created if missing). A torn final line from an earlier crash is cut off
 * first. `durable: true` fsyncs after each batch (survives power loss, slower). Closed with the scope.
 */
export const appender = Effect.fnUntraced(function* <A, I>(
  path: string,
  schema: Schema.Codec<A, I>,
  options?: { readonly durable?: boolean }
): Effect.fn.Return<Appender<A>, PlatformError.PlatformError, FileSystem.FileSystem | Scope.Scope> {
  const fs = yield* FileSystem.FileSystem
  const removed = yield* repairTail(path).pipe(FileErrors.withPath(path))
  if (removed > 0)
    yield* Effect.logWarning(`${path}: removed a torn final line (${removed} bytes) left by an interrupted write`)
  const file = yield* fs.open(path, { flag: "a" }).pipe(FileErrors.withPath(path))
  const lock = yield* Semaphore.make(1)
  const encode = encodeLines(schema)
  const encoder = new TextEncoder()
  return {
    append: (records) =>
      records.length === 0
        ? Effect.void
        : lock.withPermits(1)(
            Effect.flatMap(file.writeAll(encoder.encode(encode(records))), () =>
              options?.durable === true ? file.sync : Effect.void
            ).pipe(FileErrors.withPath(path))
          )
  }
})

/**
 * Write a whole stream to `path` atomically: into a temporary sibling, then renamed over the target. On failure the
 * temporary file is removed and a file-system error names `path` and its errno (ENOSPC, EACCES, EROFS).
 */
export const writeAll = <A, I, E, R>(
  path: string,
  schema: Schema.Codec<A, I>,
  records: Stream.Stream<A, E, R>
): Effect.Effect<number, E | PlatformError.PlatformError, FileSystem.FileSystem | R> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const tmp = tempPath(path)
    // Only this function's own file operations are named after `path`; the records' errors pass unchanged.
    const named = FileErrors.withPath(path)
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const out = yield* named(appender(tmp, schema))
        return yield* Stream.runFoldEffect(
          Stream.chunks(records),
          () => 0,
          (n, chunk) => Effect.as(named(out.append(chunk)), n + chunk.length)
        )
      })
    ).pipe(
      Effect.tap(() => named(fs.rename(tmp, path))),
      Effect.onError(() => Effect.ignore(fs.remove(tmp, { force: true })))
    )
  })
