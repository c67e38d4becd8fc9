/**
 * `realm experiment <config>`: a pipeline config's methods under several seeds on the same problems, learning
 * rates chosen on validation, then accuracy with intervals and paired differences to the baselines. Resumes where
 * it stopped (every seed is an ordinary pipeline run under `<runDir>/seed-<s>`).
 */
import { basename, dirname, resolve } from "node:path"
import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Experiment, ExperimentReport, ExperimentResults, PipelineConfig } from "@realm-lm/pipeline"
import packageJson from "../package.json" with { type: "json" }
import * as ConfigFile from "./ConfigFile.ts"
import { announceModules, displayHooks, provenance, updateFlag, writeBlock } from "./RunCommand.ts"

/** `realm experiment <config>`. */
export const experiment = Command.make(
  "experiment",
  {
    file: Argument.File("config", { mustExist: false }).pipe(
      Argument.withDescription("pipeline config with an `experiment:` section (.yaml or .json)")
    ),
    update: updateFlag
  },
  ({ file, update }) =>
    Effect.gen(function* () {
      const config = yield* ConfigFile.load(file, PipelineConfig.PipelineConfig)
      const baseDir = dirname(resolve(file))
      yield* announceModules(config, baseDir)
      const { hooks, reset } = yield* displayHooks()
      const result = yield* Experiment.run(
        config,
        baseDir,
        {
          ...hooks,
          seed: (seed, phase) =>
            Effect.andThen(
              reset,
              Console.error(
                `\n#### seed ${seed}${phase === "tune" ? ": learning-rate grid, scored on validation" : ""}`
              )
            )
        },
        provenance()
      )
      if (Object.keys(result.tuning).length > 0) {
        yield* Console.log(
          `\nLearning rates chosen on validation: ${Object.entries(result.tuning)
            .map(([m, t]) => `${m} ${t.lr}`)
            .join(", ")}`
        )
      }
      yield* Console.log(`\n${ExperimentResults.markdown(result.summary)}\n`)
      const page = yield* ExperimentReport.write(
        result.runDir,
        result.summary,
        `realm-lm ${packageJson.version}, ${config.name ?? "experiment"}`
      )
      yield* Console.log(`Results: ${result.files.join(", ")}\nReport: ${page}`)
      if (update._tag === "Some") {
        yield* writeBlock(
          update.value,
          basename(result.runDir),
          ExperimentResults.markdown(result.summary),
          `realm experiment ${file} --update ${update.value}`
        )
      }
    })
).pipe(
  Command.withDescription(
    "Train and evaluate every method under several seeds on the same problems; paired differences to baselines with 95% intervals (resumes where it stopped)"
  )
)
