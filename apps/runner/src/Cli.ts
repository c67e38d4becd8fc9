/**
 * The `realm` command tree. Commands parse flags, load config, provide layers and run; no logic lives here.
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import packageJson from "../package.json" with { type: "json" }
import * as ConfigFile from "./ConfigFile.ts"
import { corpus } from "./CorpusCommand.ts"
import { evalCommand } from "./EvalCommand.ts"
import { experiment } from "./ExperimentCommand.ts"
import { problemsCommand } from "./ProblemsCommand.ts"
import { serve } from "./ServeCommand.ts"
import { demo, report, runCommand, train } from "./RunCommand.ts"
import { dirname, resolve } from "node:path"
import { Experiment, PipelineConfig } from "@realm-lm/pipeline"

/**
 * `realm config check <file>`: validate a JSON/YAML pipeline config, each slot against its implementation. User
 * modules named in the config are only located, never imported (importing runs their code), unless `--load-modules`.
 */
const configCheck = Command.make(
  "check",
  {
    file: Argument.File("file", { mustExist: false }).pipe(Argument.withDescription("config file (.json, .yaml)")),
    loadModules: Flag.Boolean("load-modules").pipe(
      Flag.withDescription(
        "import the user modules the config names (this runs their code) to check their settings too"
      ),
      Flag.withDefault(false)
    )
  },
  ({ file, loadModules }) =>
    Effect.gen(function* () {
      const config = yield* ConfigFile.load(file, PipelineConfig.PipelineConfig)
      const baseDir = dirname(resolve(file))
      const experimentProblem = config.experiment === undefined ? undefined : Experiment.check(config)
      const problems = [
        ...(yield* PipelineConfig.validate(config, baseDir, loadModules ? "load" : "locate")),
        ...(experimentProblem === undefined ? [] : [{ path: experimentProblem.path, detail: experimentProblem.detail }])
      ]
      if (problems.length > 0) {
        return yield* new ConfigFile.ConfigFileError({
          path: file,
          detail: `invalid config:\n${problems.map((p) => `${p.path}: ${p.detail}`).join("\n")}`
        })
      }
      const modules = PipelineConfig.modulesNamed(config, baseDir)
      if (modules.length > 0 && !loadModules) {
        yield* Console.log(
          `not imported (their code was not run, their settings not checked; --load-modules imports them):\n` +
            modules.map((m) => `  ${m.path}: ${m.module}`).join("\n")
        )
      }
      yield* Console.log(`${file}: valid (${Object.keys(config).join(", ") || "empty"})`)
    })
).pipe(Command.withDescription("Validate a pipeline config file and report problems with their field paths"))

const config = Command.make("config").pipe(
  Command.withDescription("Config file tools"),
  Command.withSubcommands([configCheck])
)

/** The root command. */
export const realm = Command.make("realm").pipe(
  Command.withDescription(
    "ReaLM for TypeScript: build a multi-route reasoning corpus, train small language models with MRPV rewards and asymptotically fading guidance on ONNX Runtime, and evaluate them assisted and autonomous."
  ),
  Command.withSubcommands([
    demo,
    runCommand,
    experiment,
    evalCommand,
    report,
    serve,
    corpus,
    problemsCommand,
    train,
    config
  ])
)

/** Version printed by `realm --version`. */
export const version: string = packageJson.version

/** Run the CLI on an argument list (without `node` and the script path). */
export const run = Command.runWith(realm, { version })
