/**
 * Corpus input from files: problems stored as JSONL `Problem` records (as the tasks loaders and
 * `packages/tasks/bench/dump-problems.ts` write them). Bad lines are reported with file and 1-based line, and
 * either fail the build (`strict`) or are skipped and counted (`lenient`). Under `strict` the whole file is checked
 * before the build starts (`countProblems`), so a bad line leaves no partial output.
 */
import { Problem } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { Effect, Stream } from "effect"
import type { FileSystem, PlatformError } from "effect"

/** What to do with a line that is not a valid `Problem`. */
export type Policy = "strict" | "lenient"

/** The problems of a JSONL file. Lenient reading calls `onSkip` (default: a logged warning) for each bad line. */
export const readProblems = (
  path: string,
  policy: Policy,
  onSkip: (error: Jsonl.MalformedLine) => Effect.Effect<void> = (error) => Effect.logWarning(error.message)
): Stream.Stream<Problem.Problem, Jsonl.MalformedLine | PlatformError.PlatformError, FileSystem.FileSystem> =>
  policy === "strict" ? Jsonl.read(path, Problem.Problem) : Jsonl.readSkipping(path, Problem.Problem, onSkip)

/** Number of non-empty lines of a file (the progress bar's total), streamed. */
export const countLines = (path: string): Effect.Effect<number, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Stream.runFold(
    Jsonl.readLines(path),
    () => 0,
    (n) => n + 1
  )

/**
 * The number of problems of a file, for the progress bar's total. Under `strict` every line is decoded first, so a
 * bad line fails here, with file and line, before any output is written; under `lenient` the lines are counted.
 */
export const countProblems = (
  path: string,
  policy: Policy
): Effect.Effect<number, Jsonl.MalformedLine | PlatformError.PlatformError, FileSystem.FileSystem> =>
  policy === "strict"
    ? Stream.runFold(
        Jsonl.read(path, Problem.Problem),
        () => 0,
        (n) => n + 1
      )
    : countLines(path)
