/**
 * Shared test setup: a temporary root removed after a file's tests, the fixtures folder, and the usual
 * start of a stage test (problems on disk, their rule-teacher corpus and a tiny random-weight checkpoint).
 */
import { Effect, Stream } from "effect"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll } from "vitest"
import { Problem } from "@realm-lm/core"
import type { TaskSource } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { Scratch } from "@realm-lm/trainer"
import * as CorpusJob from "../src/CorpusJob.ts"

/** The folder of test modules (`./x.ts` in a config resolves here when it is the base directory). */
export const fixtures = join(import.meta.dirname, "fixtures")

/** A fresh temporary directory, removed after the calling file's tests. */
export const tempRoot = (prefix: string): string => {
  const root = mkdtempSync(join(tmpdir(), prefix))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  return root
}

/**
 * Writes `problems` to `problemsFile`, builds their corpus in `dir` with the rule teacher, and creates at `checkpoint`
 * a tiny random-weight model (1 layer, width 16) whose tokenizer is trained on their texts. Returns the corpus summary.
 */
export const corpusAndCheckpoint = (options: {
  readonly dir: string
  readonly problemsFile: string
  readonly problems: Stream.Stream<Problem.Problem, TaskSource.TaskSourceError>
  readonly routesPerProblem: number
  readonly negativesPerProblem: number
  readonly checkpoint: string
}) =>
  Effect.gen(function* () {
    mkdirSync(dirname(options.problemsFile), { recursive: true })
    yield* Jsonl.writeAll(options.problemsFile, Problem.Problem, options.problems)
    const summary = yield* CorpusJob.run({
      out: options.dir,
      problems: { file: options.problemsFile, policy: "strict" },
      teacher: { use: "rule" },
      settings: { routesPerProblem: options.routesPerProblem, negativesPerProblem: options.negativesPerProblem },
      baseDir: options.dir
    })
    const problems = yield* Stream.runCollect(Jsonl.read(options.problemsFile, Problem.Problem))
    yield* Scratch.create(
      options.checkpoint,
      problems.flatMap((p) => [p.question, p.rulebook ?? "", `Answer: ${p.gold}`]),
      { vocabSize: 300, hiddenSize: 16, intermediateSize: 32, layers: 1, heads: 2, kvHeads: 1, maxContext: 2048 }
    )
    return summary
  })
