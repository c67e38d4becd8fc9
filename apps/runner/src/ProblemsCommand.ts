/**
 * `realm problems <tasks config> --split S --out F`: write one split of any task source (your own files with a field
 * mapping, a benchmark, a built-in domain, your module) as JSONL of core `Problem` records, the input of
 * `realm corpus build --tasks F` and `realm eval --problems F`.
 */
import { dirname, resolve } from "node:path"
import { Console, Effect, Option, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { ConfigDecode, Problem } from "@realm-lm/core"
import { PipelineConfig, ProblemsJob } from "@realm-lm/pipeline"
import * as ConfigFile from "./ConfigFile.ts"
import * as Flags from "./internal/flags.ts"

/**
 * The task source a settings file names: a `{ use, with }` choice, the `tasks` slot of a pipeline config, or, when
 * `name` is given, the settings of that task source (the `with` part alone, as `corpus build --tasks-config` takes
 * it). A choice naming another source than `name` is an error.
 */
export const tasksChoice = (file: string, name?: string) =>
  Effect.gen(function* () {
    const raw = yield* ConfigFile.load(file, Schema.Unknown)
    const fail = (detail: string) => new ConfigFile.ConfigFileError({ path: file, detail })
    const decodeIn = <A, I>(schema: Schema.Codec<A, I>, value: unknown) =>
      ConfigDecode.decodeUnknownEffect(schema)(value).pipe(
        Effect.mapError((e) => fail(`invalid config:\n${e.message}`))
      )
    if (typeof raw === "object" && raw !== null && "use" in raw) {
      const choice = yield* decodeIn(PipelineConfig.Choice, raw)
      if (name !== undefined && choice.use !== name)
        return yield* fail(
          `names the task source "${choice.use}", but --tasks is "${name}": make them agree, or give only the settings (the with: part)`
        )
      return choice
    }
    if (name !== undefined) return { use: name, with: raw }
    const pipeline = yield* decodeIn(PipelineConfig.PipelineConfig, raw)
    if (pipeline.tasks === undefined) {
      return yield* fail(
        "names no task source: give a tasks config ({ use: files, with: { name, files, mapping } }), a pipeline config with a `tasks:` section, or --tasks <name> with its settings"
      )
    }
    return pipeline.tasks
  })

/** `realm problems`. */
export const problemsCommand = Command.make(
  "problems",
  {
    config: Argument.File("tasks-config", { mustExist: false }).pipe(
      Argument.withDescription(
        "a tasks config ({ use: files, with: { name, files, mapping } }, or use: benchmark | parcel | arithmetic | ./your-tasks.ts) or a pipeline config with a tasks: section; its relative paths resolve against its own directory"
      )
    ),
    tasks: Flags.optional(
      Flag.String("tasks"),
      "the file holds only the settings of this task source (files, benchmark, parcel, arithmetic, ./your-tasks.ts), as corpus build --tasks-config takes them"
    ),
    split: Flag.Literals("split", Problem.Split.literals).pipe(Flag.withDescription("the split to write")),
    out: Flag.File("out").pipe(Flag.withDescription("JSONL file of Problem records to write (replaced)"))
  },
  ({ config, tasks, split, out }) =>
    Effect.gen(function* () {
      const choice = yield* tasksChoice(config, Option.getOrUndefined(tasks))
      const written = yield* ProblemsJob.write(choice, split, out, dirname(resolve(config)))
      yield* Console.log(`${written.problems} ${written.split} problems of ${written.source} -> ${written.out}`)
    })
).pipe(
  Command.withDescription(
    "Write one split of a task source as JSONL of Problem records (the input of corpus build --tasks and eval --problems)"
  )
)
