/**
 * `realm corpus build`: build (or resume) a labelled multi-route corpus from a problems file or a task source,
 * with a progress bar and a final summary.
 */
import { dirname, resolve } from "node:path"
import { Console, Effect, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { CorpusJob } from "@realm-lm/pipeline"
import * as ConfigFile from "./ConfigFile.ts"
import * as Flags from "./internal/flags.ts"
import * as ProblemsCommand from "./ProblemsCommand.ts"
import * as ProgressBar from "./ProgressBar.ts"

/** Where relative paths inside a settings file resolve: the file's own directory. */
const settingsDir = (path: Option.Option<string>): { readonly settingsDir?: string } =>
  Flags.given(
    "settingsDir",
    Option.map(path, (file) => dirname(resolve(file)))
  )

const optionalInt = (name: string, description: string) => Flags.optional(Flag.Int(name), description)

/** The `corpus build` command. */
export const build = Command.make(
  "build",
  {
    tasks: Flag.String("tasks").pipe(
      Flag.withDescription(
        "problems: a JSONL file of core Problem records (as `realm problems` writes them), or a task source (parcel, arithmetic, benchmark, files: your own JSONL/JSON with a field mapping in --tasks-config) or ./your-tasks.ts"
      )
    ),
    tasksConfig: Flags.optional(
      Flag.File("tasks-config"),
      "settings (JSON/YAML) of the task source, e.g. for files: name, files: { train: my.jsonl }, mapping: { question, gold }; its relative paths resolve against its own directory"
    ),
    split: Flag.Literals("split", ["train", "validation", "test", "heldout", "transfer"]).pipe(
      Flag.withDefault("train" as const)
    ),
    teacher: Flag.String("teacher").pipe(
      Flag.withDescription(
        "rule (built-in domains), http (an OpenAI-compatible endpoint), local (a Hugging Face model directory: --teacher-config with model: <dir>), or ./your-teacher.ts"
      ),
      Flag.withDefault("rule")
    ),
    teacherConfig: Flags.optional(
      Flag.File("teacher-config"),
      "settings (JSON/YAML) of the teacher: http: baseUrl, model, apiKeyEnv; local: model (a directory, relative to this file), temperature, maxNewTokens"
    ),
    out: Flag.Directory("out").pipe(Flag.withDescription("run directory; the corpus goes to <out>/corpus/")),
    routes: optionalInt("routes", "routes kept per problem (default 4)"),
    negatives: optionalInt("negatives", "deliberately wrong routes asked of the rule teacher (default 2)"),
    seed: optionalInt("seed", "root seed of teacher sampling (default 0)"),
    concurrency: optionalInt(
      "concurrency",
      "problems in flight (default: what the teacher asks for, e.g. the local teacher's batchProblems, else 4)"
    ),
    maxFailedFraction: Flags.optional(
      Flag.Finite("max-failed-fraction"),
      "share of problems that may fail (after retries) in a build that still completes and exits 0 (default 0)"
    ),
    policy: Flag.Literals("policy", ["strict", "lenient"]).pipe(
      Flag.withDescription("bad input lines: fail (strict) or skip and count (lenient)"),
      Flag.withDefault("strict" as const)
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const isFile = /\.jsonl?$/i.test(flags.tasks)
      // The settings file may hold the settings alone or a whole { use, with } choice (as `realm problems` takes it).
      const tasksChoice =
        !isFile && Option.isSome(flags.tasksConfig)
          ? yield* ProblemsCommand.tasksChoice(flags.tasksConfig.value, flags.tasks)
          : { use: flags.tasks }
      const teacherSettings = yield* ConfigFile.loadGiven(flags.teacherConfig, Schema.Unknown)
      const settings = Flags.givenSettings([
        ["routesPerProblem", flags.routes],
        ["negativesPerProblem", flags.negatives],
        ["seed", flags.seed],
        ["concurrency", flags.concurrency],
        ["maxFailedFraction", flags.maxFailedFraction]
      ])
      const bar = yield* ProgressBar.make()
      const summary = yield* CorpusJob.run({
        out: flags.out,
        problems: isFile
          ? { file: flags.tasks, policy: flags.policy }
          : { tasks: { ...tasksChoice, ...settingsDir(flags.tasksConfig) }, split: flags.split },
        teacher: { use: flags.teacher, with: teacherSettings, ...settingsDir(flags.teacherConfig) },
        settings,
        // Flags resolve against the working directory; paths inside a settings file against that file's directory.
        baseDir: process.cwd(),
        onProgress: (p) =>
          bar.update({
            label: "corpus",
            done: p.done + p.resumed + p.duplicates,
            total: p.total ?? p.done + p.resumed,
            // Problems/s of this run (resumed ones are skipped instantly); with a local teacher, its generation rate.
            rate: p.rate,
            detail: `+${p.positives} -${p.negatives}${p.failed > 0 ? ` failed ${p.failed}` : ""}${p.retries > 0 ? ` retries ${p.retries}` : ""}`
          })
      })
      yield* bar.finish
      yield* Console.log(
        `corpus ${summary.status}: ${summary.records} problems (${summary.built} built, ${summary.resumed} resumed), ` +
          `${summary.positives} positive / ${summary.negatives} negative routes, ${summary.sftExamples} SFT examples, ` +
          `${summary.failed} failed, ${summary.dropped} dropped -> ${flags.out}/corpus/corpus.jsonl`
      )
      for (const warning of summary.warnings) yield* Console.error(`warning: ${warning}`)
      // A failed or budget-stopped build exits non-zero (its manifest is not `complete` either).
      yield* CorpusJob.requireComplete(summary, flags.out)
    })
).pipe(Command.withDescription("Build or resume a labelled multi-route reasoning corpus"))

/** `realm corpus`. */
export const corpus = Command.make("corpus").pipe(
  Command.withDescription("Distillation corpus tools"),
  Command.withSubcommands([build])
)
