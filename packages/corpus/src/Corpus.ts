/**
 * The guided chain-of-thought distillation corpus builder. For each problem it asks the teacher for K routes,
 * labels them against gold, deduplicates, enforces balance, finds decisive steps, and appends one
 * `CorpusRecord` per problem to `<runDir>/corpus/corpus.jsonl`. Re-running continues where a run stopped
 * (finished problems are skipped; a torn final line is cut off), so a `kill -9` loses only in-flight problems.
 * At the end it writes the rules-free SFT view, a summary and the stage manifest.
 */
import { AnswerJudge, ConfigDecode, CorpusRecord, FileErrors, Rng, Teacher } from "@realm-lm/core"
import { Hash, Jsonl, RunDir } from "@realm-lm/core/node"
import type { Problem, RunManifest } from "@realm-lm/core"
import { Cause, Clock, DateTime, Effect, FileSystem, Option, Path, Schema, Stream } from "effect"
import type { PlatformError } from "effect"
import pkg from "../package.json" with { type: "json" }
import * as Assemble from "./internal/assemble.ts"
import type { Progress } from "./Progress.ts"
import { completion, studentPrompt } from "./Prompts.ts"
import { TeacherEvent, TeacherMetrics } from "./TeacherMetrics.ts"

const { NonNegativeInt, PositiveInt, withDefault } = ConfigDecode

/** Configuration of a corpus build (config path `corpus`). */
export const CorpusConfig = Schema.Struct({
  /** Run directory; files go to `<runDir>/corpus/`. */
  runDir: Schema.NonEmptyString,
  /** Routes kept per problem (K). Default 4. */
  routesPerProblem: withDefault(PositiveInt, 4),
  /** Deliberately wrong routes asked of teachers that can write them (rule teacher). Default 2. */
  negativesPerProblem: withDefault(NonNegativeInt, 2),
  /** Balance: wanted positives and negatives per problem. Defaults 1 and 1. */
  minPositives: withDefault(NonNegativeInt, 1),
  minNegatives: withDefault(NonNegativeInt, 1),
  /** Extra teacher calls (new seeds) to reach the balance minimums. Default 2. */
  balanceAttempts: withDefault(NonNegativeInt, 2),
  /** A problem still short of the minimums is kept (`keep`) or dropped to `dropped.jsonl` (`drop`). Default keep. */
  onUnbalanced: withDefault(Schema.Literals(["keep", "drop"]), "keep"),
  /** Routes with the same answer and text similarity (trigram Jaccard) at or above this are duplicates. Default 0.95. */
  dedupThreshold: withDefault(
    Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true })),
    0.95
  ),
  /**
   * Problems in flight at once. Default: what the teacher asks for (`Teacher.concurrency`: the local teacher's
   * `batchProblems`), else 4. Does not change the corpus content.
   */
  concurrency: Schema.optionalKey(PositiveInt),
  /** Root seed of teacher sampling; each problem's seed derives from it and the problem id. Default 0. */
  seed: withDefault(Schema.Int, 0),
  /** Positive routes per problem in the SFT view. Default 1. */
  sftRoutesPerProblem: withDefault(NonNegativeInt, 1),
  /** fsync after every record (survives power loss, slower). Default false. */
  durable: withDefault(Schema.Boolean, false),
  /**
   * Share of the input problems that may fail (teacher errors after retries) in a build that still counts as
   * `complete`. Default 0: any failed problem makes the build `failed`. Failed problems are retried by the next run.
   */
  maxFailedFraction: withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })), 0)
}).check(
  Schema.makeFilter((c) => {
    const issues: Array<Schema.FilterIssue> = []
    if (c.negativesPerProblem > c.routesPerProblem)
      issues.push({ path: ["negativesPerProblem"], issue: `at most routesPerProblem (${c.routesPerProblem})` })
    if (c.minPositives + c.minNegatives > c.routesPerProblem)
      issues.push({
        path: ["minNegatives"],
        issue: `minPositives + minNegatives must not exceed routesPerProblem (${c.routesPerProblem})`
      })
    return issues
  })
)
export type CorpusConfig = typeof CorpusConfig.Type

/** Problems in flight when neither the config nor the teacher says. */
export const defaultConcurrency = 4

/** Decode a config object, failing with the field path. */
export const decodeConfig = ConfigDecode.decodeUnknownEffect(CorpusConfig)

/** The output directory holds a build with different content settings, another teacher or other input problems. */
export class ResumeMismatch extends Schema.TaggedError<ResumeMismatch>()("ResumeMismatch", {
  path: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.path} was built from other problems or settings (config hash ${this.expected.slice(0, 12)}…, now ${this.actual.slice(0, 12)}…): use a fresh run directory, or delete it to start over`
  }
}

/** A problem the teacher failed on (retried by the next run). */
export const Failure = Schema.Struct({ problemId: Schema.String, reason: Schema.String, detail: Schema.String })
/** A problem dropped for missing the balance minimums (not retried). */
export const Dropped = Schema.Struct({ problemId: Schema.String, positives: Schema.Int, negatives: Schema.Int })

/**
 * What a build did. Route counts cover the whole corpus; the others this run. `status` is `failed` when more problems
 * failed than `maxFailedFraction` allows (the default allows none), `interrupted` when the teacher's budget stopped it.
 */
export interface Summary {
  readonly status: "complete" | "interrupted" | "failed"
  readonly stoppedBy?: "budget"
  readonly records: number
  readonly resumed: number
  readonly built: number
  readonly failed: number
  readonly dropped: number
  readonly duplicates: number
  readonly unbalanced: number
  readonly routes: number
  readonly positives: number
  readonly negatives: number
  /** positives / routes. */
  readonly positiveShare: number
  readonly deduplicated: number
  readonly decisive: Assemble.DecisiveCounts
  readonly sftExamples: number
  readonly teacher: string
  /** Failed problems of this run by reason (`unavailable`, `server`, `too-large`, …). */
  readonly failedByReason: Record<string, number>
  /** The first failure of this run, `<problemId>: <reason>: <detail>`, when there was one. */
  readonly firstFailure?: string
  /** What makes the corpus unfit for training although the build completed (e.g. no positive route), with the fix. */
  readonly warnings: ReadonlyArray<string>
}

/** The warnings of a finished build: a corpus with problems but no positive route cannot be distilled (SFT fails on it). */
export const warningsOf = (
  counts: { readonly records: number; readonly positives: number; readonly negatives: number },
  dir: string
): Array<string> =>
  counts.records > 0 && counts.positives === 0
    ? [
        `the corpus has no positive routes: none of its ${counts.negatives} routes over ${counts.records} problems reached the gold answer, ` +
          `so SFT has nothing to learn from it. Compare a few routes' answers with their problem's gold in ${dir}/${files.corpus}: ` +
          `when they agree but are judged wrong, fix the task's answerType or mapping.gold (or the judge); otherwise use a stronger teacher`
      ]
    : []

/** The build did not complete: too many problems failed, or the teacher's budget stopped it. */
export class CorpusIncomplete extends Schema.TaggedError<CorpusIncomplete>()("CorpusIncomplete", {
  /** The corpus directory. */
  path: Schema.String,
  status: Schema.Literals(["failed", "interrupted"]),
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/** Why a summary is not `complete` and what to do, or `undefined` when it is. `dir` is the corpus directory. */
export const incompleteDetail = (summary: Summary, dir: string): string | undefined => {
  if (summary.status === "complete") return undefined
  if (summary.status === "interrupted") {
    return `corpus build stopped by the teacher's ${summary.stoppedBy ?? "budget"} after ${summary.records} problems: raise maxTotalTokens or maxCostUsd and re-run to continue`
  }
  const problems = summary.records + summary.failed + summary.dropped
  const reasons = Object.entries(summary.failedByReason)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(", ")
  return (
    `corpus build failed: ${summary.failed} of ${problems} problems failed (${reasons})` +
    `${summary.firstFailure === undefined ? "" : `; first: ${summary.firstFailure}`}. ` +
    `They are listed in ${dir}/failures.jsonl and retried by the next run: fix the cause and re-run, ` +
    `or accept some failed problems with the corpus setting maxFailedFraction (a pipeline config's corpus section, or realm corpus build --max-failed-fraction)`
  )
}

/** Fail with `CorpusIncomplete` unless the build completed. `dir` is the corpus directory (`<runDir>/corpus`). */
export const requireComplete = (summary: Summary, dir: string): Effect.Effect<Summary, CorpusIncomplete> => {
  const detail = incompleteDetail(summary, dir)
  return summary.status === "complete" || detail === undefined
    ? Effect.succeed(summary)
    : Effect.fail(new CorpusIncomplete({ path: dir, status: summary.status, detail }))
}

/** Inputs of a build besides its config. */
export interface BuildOptions<E, R = never> {
  readonly problems: Stream.Stream<Problem.Problem, E, R>
  /** Number of input problems, for the progress bar's total and ETA. */
  readonly total?: number
  /** Called at start and after every finished problem. */
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
  /** Hashes of the input problems, recorded in the manifest and part of the resume check. */
  readonly inputs?: ReadonlyArray<RunManifest.FileHash>
  /** Teacher settings and prompts for the manifest (never credentials). Default the teacher's own `description` (then its name). */
  readonly teacherConfig?: Schema.Json
  /** Teacher settings that change what it writes (part of the resume check). Default the teacher's own `settings`. */
  readonly teacherSettings?: Schema.Json
}

/** File names inside `<runDir>/corpus/`. */
export const files = {
  corpus: "corpus.jsonl",
  sft: "sft.jsonl",
  failures: "failures.jsonl",
  dropped: "dropped.jsonl",
  events: "events.jsonl",
  summary: "summary.json",
  build: "build.json"
} as const

/** What the corpus depends on: content settings, teacher, and the input problems' content (not their paths). */
const contentConfig = (
  config: CorpusConfig,
  teacher: string,
  teacherSettings: Schema.Json | undefined,
  inputs: ReadonlyArray<RunManifest.FileHash>
) => {
  const { runDir: _r, concurrency: _c, durable: _d, maxFailedFraction: _f, ...content } = config
  return { ...content, teacher, teacherSettings: teacherSettings ?? null, inputs: inputs.map((i) => i.sha256) }
}

/** The SFT examples of a record: the rules-free prompt and up to `n` positive routes as completions. */
export const sftExamples = (record: CorpusRecord.CorpusRecord, n: number): Array<CorpusRecord.SftExample> =>
  record.routes
    .filter((r) => r.label === "positive")
    .slice(0, n)
    .map((r) => ({ problemId: record.problem.id, prompt: studentPrompt(record.problem), completion: completion(r) }))

/** What `run` needs from `build`'s setup. */
interface RunContext {
  readonly at: (name: string) => string
  readonly manifest: (
    status: RunManifest.StageStatus,
    outputs: ReadonlyArray<RunManifest.FileHash>,
    extra: { finishedAt?: string; timings?: Record<string, number>; summary?: Schema.Json }
  ) => Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path>
  readonly teacher: Teacher.Teacher["Service"]
  readonly judge: AnswerJudge.AnswerJudge["Service"]
  readonly metrics: TeacherMetrics["Service"] | undefined
}

/** The build proper, once the output directory, resume check and running manifest are in place. */
const run = <E, R>(
  config: CorpusConfig,
  options: BuildOptions<E, R>,
  { at, manifest, teacher, judge, metrics }: RunContext
) =>
  Effect.gen(function* () {
    const t0 = yield* Clock.currentTimeMillis
    const decisive: Assemble.DecisiveCounts = { teacher: 0, alignment: 0, unknown: 0 }
    const tally = {
      resumed: 0,
      built: 0,
      failed: 0,
      dropped: 0,
      duplicates: 0,
      unbalanced: 0,
      positives: 0,
      negatives: 0,
      deduplicated: 0
    }
    const failedByReason: Record<string, number> = {}
    let firstFailure: string | undefined
    let stoppedBy: "budget" | undefined

    const progress = Effect.gen(function* () {
      if (options.onProgress === undefined) return
      const elapsedMs = (yield* Clock.currentTimeMillis) - t0
      const snapshot = metrics === undefined ? undefined : yield* metrics.snapshot
      const done = tally.built + tally.failed + tally.dropped
      const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0
      const left =
        options.total === undefined ? undefined : Math.max(0, options.total - done - tally.resumed - tally.duplicates)
      yield* options.onProgress({
        done,
        total: options.total,
        resumed: tally.resumed,
        records: tally.resumed + tally.built,
        failed: tally.failed,
        dropped: tally.dropped,
        duplicates: tally.duplicates,
        positives: tally.positives,
        negatives: tally.negatives,
        retries: snapshot?.retries ?? 0,
        malformed: snapshot?.malformed ?? 0,
        elapsedMs,
        rate,
        etaMs: left === undefined || rate <= 0 ? undefined : (left / rate) * 1000
      })
    })

    const processProblem = (problem: Problem.Problem) =>
      Effect.gen(function* () {
        const baseSeed = Rng.Rng.make(config.seed, "corpus", problem.id).seed()
        let routes: Array<Assemble.Labelled> = []
        let deduplicated = 0
        for (let attempt = 0; attempt <= config.balanceAttempts; attempt++) {
          const have = Assemble.balance(routes)
          const missingPos = Math.max(0, config.minPositives - have.positives)
          const missingNeg = Math.max(0, config.minNegatives - have.negatives)
          if (attempt > 0 && missingPos === 0 && missingNeg === 0) break
          const request =
            attempt === 0
              ? { count: config.routesPerProblem, negatives: config.negativesPerProblem, seed: baseSeed }
              : {
                  count: Math.max(1, missingPos + missingNeg),
                  negatives: missingNeg,
                  seed: Rng.Rng.make(baseSeed, "balance", attempt).seed()
                }
          const written = yield* teacher.routes({ problem, ...request })
          const merged = Assemble.dedupLabelled(
            [...routes, ...Assemble.label(judge, problem, written)],
            config.dedupThreshold
          )
          deduplicated += merged.dropped
          routes = merged.kept
        }
        return {
          problem,
          routes: Assemble.select(routes, config.routesPerProblem, config.minPositives, config.minNegatives),
          deduplicated
        }
      })

    yield* Effect.scoped(
      Effect.gen(function* () {
        const corpusOut = yield* Jsonl.appender(at(files.corpus), CorpusRecord.CorpusRecord, {
          durable: config.durable
        })
        const failuresOut = yield* Jsonl.appender(at(files.failures), Failure)
        const droppedOut = yield* Jsonl.appender(at(files.dropped), Dropped)
        const eventsOut = yield* Jsonl.appender(at(files.events), TeacherEvent)
        const done = new Set<string>()
        yield* Stream.runForEach(Jsonl.read(at(files.corpus), CorpusRecord.CorpusRecord), (record) =>
          Effect.sync(() => {
            done.add(record.problem.id)
            for (const r of record.routes) {
              if (r.label === "positive") tally.positives++
              else tally.negatives++
            }
          })
        )
        yield* Stream.runForEach(Jsonl.read(at(files.dropped), Dropped), (d) =>
          Effect.sync(() => void done.add(d.problemId))
        )
        const seen = new Set<string>()
        yield* progress
        yield* options.problems.pipe(
          Stream.filter((p) => {
            if (seen.has(p.id)) {
              tally.duplicates++
              return false
            }
            seen.add(p.id)
            if (done.has(p.id)) {
              tally.resumed++
              return false
            }
            return true
          }),
          Stream.takeWhile(() => stoppedBy === undefined),
          Stream.mapEffect((p) => Effect.result(processProblem(p)), {
            concurrency: config.concurrency ?? teacher.concurrency ?? defaultConcurrency,
            unordered: true
          }),
          Stream.runForEach((result) =>
            Effect.gen(function* () {
              if (result._tag === "Failure") {
                const e = result.failure
                if (e.reason === "budget") stoppedBy = "budget"
                tally.failed++
                failedByReason[e.reason] = (failedByReason[e.reason] ?? 0) + 1
                firstFailure ??= `${e.problemId}: ${e.reason}: ${e.detail}`
                yield* failuresOut.append([{ problemId: e.problemId, reason: e.reason, detail: e.detail }])
              } else {
                const { problem, routes, deduplicated } = result.success
                const counts = Assemble.balance(routes)
                const short = counts.positives < config.minPositives || counts.negatives < config.minNegatives
                tally.deduplicated += deduplicated
                if (short && config.onUnbalanced === "drop") {
                  tally.dropped++
                  yield* droppedOut.append([{ problemId: problem.id, ...counts }])
                } else {
                  if (short) tally.unbalanced++
                  tally.built++
                  tally.positives += counts.positives
                  tally.negatives += counts.negatives
                  yield* corpusOut.append([
                    {
                      problem,
                      routes: Assemble.toRoutes(problem, routes, teacher.name, decisive),
                      teacher: teacher.name
                    }
                  ])
                }
              }
              if (metrics !== undefined) yield* Effect.flatMap(metrics.drain, eventsOut.append)
              yield* progress
            })
          )
        )
      })
    )
    // A final report, so a run that only skipped (resumed) problems still shows its totals.
    yield* progress

    const sftCount = yield* Jsonl.writeAll(
      at(files.sft),
      CorpusRecord.SftExample,
      Jsonl.read(at(files.corpus), CorpusRecord.CorpusRecord).pipe(
        Stream.flatMap((r) => Stream.fromIterable(sftExamples(r, config.sftRoutesPerProblem)))
      )
    )
    const routes = tally.positives + tally.negatives
    // Every input problem not in the corpus or dropped failed in this run (failed problems are retried each run).
    const problems = tally.resumed + tally.built + tally.failed + tally.dropped
    const tooManyFailed = tally.failed > 0 && tally.failed > config.maxFailedFraction * problems
    const summary: Summary = {
      status: stoppedBy !== undefined ? "interrupted" : tooManyFailed ? "failed" : "complete",
      ...(stoppedBy === undefined ? {} : { stoppedBy }),
      records: tally.resumed + tally.built,
      ...tally,
      routes,
      positiveShare: routes === 0 ? 0 : tally.positives / routes,
      decisive,
      sftExamples: sftCount,
      teacher: teacher.name,
      failedByReason,
      ...(firstFailure === undefined ? {} : { firstFailure }),
      warnings: warningsOf(
        { records: tally.resumed + tally.built, positives: tally.positives, negatives: tally.negatives },
        at("")
      )
    }
    yield* RunDir.writeJsonAtomic(at(files.summary), {
      ...summary,
      teacherMetrics: metrics === undefined ? null : yield* metrics.snapshot
    })
    const outputs = yield* Effect.forEach(
      [files.corpus, files.sft, files.summary, files.failures, files.dropped, files.events],
      (name) => Hash.hashFile(at(name), name)
    )
    const elapsed = (yield* Clock.currentTimeMillis) - t0
    yield* manifest(summary.status, outputs, {
      finishedAt: DateTime.formatIso(yield* DateTime.now),
      timings: { buildMs: elapsed },
      summary: summary as unknown as Schema.Json
    })
    return summary
  })

/**
 * Build (or resume) a corpus, in a span `corpus.build` (`Effect.withSpan`: `Effect.fn` would lose the generics).
 * Needs a `Teacher`, an `AnswerJudge`, `FileSystem` and `Path`; reads `TeacherMetrics` when provided (retries and
 * malformed responses in progress and `events.jsonl`).
 */
export const build = <E, R = never>(
  config: CorpusConfig,
  options: BuildOptions<E, R>
): Effect.Effect<
  Summary,
  E | ResumeMismatch | Jsonl.MalformedLine | PlatformError.PlatformError,
  Teacher.Teacher | AnswerJudge.AnswerJudge | FileSystem.FileSystem | Path.Path | R
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const teacher = yield* Teacher.Teacher
    const judge = yield* AnswerJudge.AnswerJudge
    const metrics = Option.getOrUndefined(yield* Effect.serviceOption(TeacherMetrics))
    const dir = path.join(config.runDir, "corpus")
    const at = (name: string) => path.join(dir, name)
    yield* FileErrors.makeDirectory(dir)

    const content = contentConfig(
      config,
      teacher.name,
      options.teacherSettings ?? teacher.settings,
      options.inputs ?? []
    )
    const configHash = Hash.hashJson(content)
    if (yield* fs.exists(at(files.build))) {
      const previous = JSON.parse(yield* fs.readFileString(at(files.build))) as { configHash?: string }
      if (previous.configHash !== configHash)
        return yield* new ResumeMismatch({ path: dir, expected: previous.configHash ?? "none", actual: configHash })
    } else {
      yield* RunDir.writeJsonAtomic(at(files.build), { configHash, content })
    }
    // Temporary files of writers killed mid-write (an earlier crashed or full-disk run) are garbage now.
    const leftovers = yield* RunDir.removeLeftovers(dir)
    if (leftovers.length > 0)
      yield* Effect.logInfo(`${dir}: removed ${leftovers.length} temporary file(s) left by an interrupted run`)
    const startedAt = DateTime.formatIso(yield* DateTime.now)
    const manifest = (
      status: RunManifest.StageStatus,
      outputs: ReadonlyArray<RunManifest.FileHash>,
      extra: { finishedAt?: string; timings?: Record<string, number>; summary?: Schema.Json }
    ) =>
      RunDir.writeManifest(config.runDir, {
        version: 1,
        stage: "corpus",
        implementation: "@realm-lm/corpus/Corpus",
        status,
        config: {
          corpus: content,
          teacher: options.teacherConfig ?? teacher.description ?? teacher.name,
          prompts: {
            student: "problem question only (rules-free)",
            completion: "Step n: ... lines, then Answer: <answer>"
          }
        },
        configHash,
        packages: { [pkg.name]: pkg.version },
        inputs: options.inputs ?? [],
        outputs,
        startedAt,
        ...(extra.finishedAt === undefined ? {} : { finishedAt: extra.finishedAt }),
        timings: extra.timings ?? {},
        ...(extra.summary === undefined ? {} : { summary: extra.summary })
      })
    yield* manifest("running", [], {})
    // Whatever ends the build early (an error, a defect, an interrupt) leaves the manifest saying so, never `running`.
    const finishedAs = (status: RunManifest.StageStatus) =>
      Effect.flatMap(DateTime.now, (now) => manifest(status, [], { finishedAt: DateTime.formatIso(now) })).pipe(
        Effect.catchCause((cause) => Effect.logWarning(`${dir}/manifest.json could not be marked ${status}`, cause))
      )
    return yield* run(config, options, { at, manifest, teacher, judge, metrics }).pipe(
      Effect.onError((cause) => finishedAs(Cause.hasInterruptsOnly(cause) ? "interrupted" : "failed"))
    )
  }).pipe(Effect.withSpan("corpus.build", { attributes: { runDir: config.runDir } }))
