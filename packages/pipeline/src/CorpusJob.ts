/**
 * The `realm corpus build` job: problems (a JSONL file, or a task source's split) and a teacher (built-in or
 * the user's own module) into a labelled multi-route corpus under `<out>/corpus/`, resumable.
 */
import { join } from "node:path"
import { Effect, Layer, Stream } from "effect"
import type { FileSystem, Path } from "effect"
import { TaskSource } from "@realm-lm/core"
import { Hash } from "@realm-lm/core/node"
import type { AnswerJudge, Teacher } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Corpus, Input } from "@realm-lm/corpus"
import type { Progress } from "@realm-lm/corpus"
import type { CustomStageInvalid } from "./CustomModule.ts"
import * as ProblemsJob from "./ProblemsJob.ts"
import * as Resolve from "./Resolve.ts"

/** Where the problems come from. */
export type ProblemInput =
  | { readonly file: string; readonly policy: Input.Policy }
  | { readonly tasks: Resolve.Choice; readonly split: Problem.Split }

/** Everything a corpus build needs. */
export interface CorpusJob {
  readonly out: string
  readonly problems: ProblemInput
  readonly teacher: Resolve.Choice
  /** Answer judge; default the built-in `answer`. */
  readonly judge?: Resolve.Choice
  /** Corpus settings (`CorpusConfig` without `runDir`). */
  readonly settings: Record<string, unknown>
  /** Directory that relative module paths are resolved against. */
  readonly baseDir: string
  readonly onProgress?: (progress: Progress.Progress) => Effect.Effect<void>
}

/**
 * Run (or resume) a corpus build; returns the build summary. Every teacher is treated alike: what the manifest records
 * of it and what the resume check compares are the teacher's own `description` and `settings` (core's `Teacher`).
 */
export const run = Effect.fn("pipeline.CorpusJob.run")(function* (job: CorpusJob) {
  const config = yield* Corpus.decodeConfig({ ...job.settings, runDir: job.out })
  const teacherLayer = yield* Resolve.layer("teacher", job.teacher, job.baseDir)
  const judgeLayer = yield* Resolve.layer("judge", job.judge ?? { use: "answer" }, job.baseDir)
  const source =
    "file" in job.problems
      ? {
          problems: Input.readProblems(job.problems.file, job.problems.policy).pipe(
            Stream.mapError(ProblemsJob.explainMalformed)
          ),
          // Under `strict` this checks every line first: a bad one fails before anything is written.
          total: yield* Input.countProblems(job.problems.file, job.problems.policy).pipe(
            Effect.mapError(ProblemsJob.explainMalformed)
          ),
          inputs: [yield* Hash.hashFile(job.problems.file)]
        }
      : yield* fromTaskSource(job.problems.tasks, job.problems.split, job.baseDir)
  // In a corpus build a teacher may use the judge and the platform; no other slot exists yet.
  const services = teacherLayer.pipe(Layer.provideMerge(judgeLayer)) as Layer.Layer<
    Teacher.Teacher | AnswerJudge.AnswerJudge,
    CustomStageInvalid,
    FileSystem.FileSystem | Path.Path
  >
  return yield* Corpus.build(config, {
    ...source,
    ...(job.onProgress === undefined ? {} : { onProgress: job.onProgress })
  }).pipe(Effect.provide(services))
})

/**
 * Fail with `CorpusIncomplete` (why, and what to do) unless a build of `out` completed: `realm corpus build` exits
 * non-zero on a failed (too many failed problems) or budget-stopped build, so nothing goes on to train on it.
 */
export const requireComplete = (summary: Corpus.Summary, out: string) =>
  Corpus.requireComplete(summary, join(out, "corpus"))

/** Problems of one split of a task source, collected first so the progress bar knows the total. */
const fromTaskSource = (choice: Resolve.Choice, split: Problem.Split, baseDir: string) =>
  Effect.gen(function* () {
    const layer = yield* Resolve.layer("tasks", choice, baseDir)
    const problems = yield* Effect.gen(function* () {
      const tasks = yield* TaskSource.TaskSource
      return yield* Stream.runCollect(tasks.problems(split))
    }).pipe(Effect.provide(layer as Layer.Layer<TaskSource.TaskSource, unknown, FileSystem.FileSystem | Path.Path>))
    // The problems' content stands in for a file hash, so a resumed build notices other task settings.
    const listing = JSON.stringify(problems.map((p) => [p.id, p.question, p.gold]))
    const inputs = [{ path: `${choice.use}:${split}`, sha256: Hash.sha256(listing), bytes: Buffer.byteLength(listing) }]
    return { problems: Stream.fromIterable(problems), total: problems.length, inputs }
  })
