/**
 * `realm run <pipeline.yaml>` and `realm demo`: run a whole pipeline with a live display (one progress bar per
 * stage), then print the results table. Ctrl-C interrupts at a step boundary; run the same command to resume.
 */
import { execFileSync } from "node:child_process"
import { basename, dirname, join, resolve } from "node:path"
import { Console, Effect, FileSystem, Ref } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Table } from "@realm-lm/evaluator"
import {
  Demo,
  Experiment,
  ExperimentReport,
  ExperimentResults,
  Pipeline,
  PipelineConfig,
  ReportJob,
  Stages,
  TrainJob
} from "@realm-lm/pipeline"
import packageJson from "../package.json" with { type: "json" }
import * as ConfigFile from "./ConfigFile.ts"
import * as Flags from "./internal/flags.ts"
import * as MarkedBlock from "./MarkedBlock.ts"
import * as ModelDir from "./ModelDir.ts"
import * as ProgressBar from "./ProgressBar.ts"

const askGit = (): string | undefined => {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return undefined
  }
}

let askedRevision: { readonly value: string | undefined } | undefined

/** The git revision of the checkout, asked once per process (provenance, report stamps and doc notes all use it). */
const gitRevision = (): string | undefined => (askedRevision ??= { value: askGit() }).value

/** Pipeline hooks that draw one progress bar per stage on stderr. */
export const displayHooks = () =>
  Effect.gen(function* () {
    const bars = yield* Ref.make(new Map<string, ProgressBar.ProgressBar>())
    const barFor = (key: string) =>
      Effect.gen(function* () {
        const existing = (yield* Ref.get(bars)).get(key)
        if (existing !== undefined) return existing
        const bar = yield* ProgressBar.make()
        yield* Ref.update(bars, (m) => new Map(m).set(key, bar))
        return bar
      })
    const finishBar = (key: string) => Effect.flatMap(Ref.get(bars), (m) => m.get(key)?.finish ?? Effect.void)
    const hooks: Pipeline.Hooks = {
      stage: (name, outcome) =>
        outcome === "start"
          ? Console.error(`== ${name}`)
          : Effect.andThen(
              finishBar(name),
              outcome === "skipped" ? Console.error(`   ${name}: up to date, skipped`) : Effect.void
            ),
      corpus: (split, p) =>
        Effect.flatMap(barFor(split === "train" ? "corpus" : `routes-${split}`), (bar) =>
          bar.update({
            label: split === "train" ? "corpus" : split,
            done: p.done + p.resumed + p.duplicates,
            total: p.total ?? p.done,
            rate: p.rate,
            detail: `+${p.positives} -${p.negatives}`
          })
        ),
      evaluated: (done, total, r) =>
        Effect.flatMap(barFor("eval"), (bar) =>
          bar.update({
            label: "eval",
            done,
            total,
            detail: `${r.method} ${r.split} ${r.mode}: ${(100 * r.accuracy.value).toFixed(1)}%`
          })
        ),
      train: (method, event) =>
        Effect.flatMap(barFor(method), (bar) =>
          bar.update({ label: event.label, done: event.done, total: event.total, detail: event.detail })
        )
    }
    // A new run (another seed) starts with fresh bars.
    return { hooks, reset: Ref.set(bars, new Map()) }
  })

/** Provenance recorded in manifests: the package version and the git revision when known. */
export const provenance = (): { readonly packages: Record<string, string>; readonly gitRevision?: string } => {
  const revision = gitRevision()
  return { packages: { "realm-lm": packageJson.version }, ...(revision === undefined ? {} : { gitRevision: revision }) }
}

/**
 * Say which user modules a config makes the run import: like a script, a config that names modules runs their code
 * with the user's rights.
 */
export const announceModules = (config: PipelineConfig.PipelineConfig, baseDir: string) => {
  const modules = PipelineConfig.modulesNamed(config, baseDir)
  return modules.length === 0
    ? Effect.void
    : Console.error(
        `this config runs code from ${modules.length === 1 ? "a module" : "modules"} it names:\n${modules.map((m) => `  ${m.path}: ${m.module}`).join("\n")}`
      )
}

/** Run a pipeline config with progress bars and print the table. */
const runWithDisplay = (config: PipelineConfig.PipelineConfig, baseDir: string) =>
  Effect.gen(function* () {
    yield* announceModules(config, baseDir)
    const { hooks } = yield* displayHooks()
    // The built-in stages and the report page (with the config's own `stages:` inserted by the pipeline).
    const stages = [...Stages.builtins, Stages.report(`realm-lm ${packageJson.version}, ${config.name ?? "pipeline"}`)]
    const result = yield* Pipeline.run(config, baseDir, hooks, { ...provenance(), stages })
    yield* Console.log(`\nResults (accuracy %, 95% bootstrap CI) in ${result.runDir}/eval/results.json\n`)
    yield* Console.log(Table.markdown(result.results))
    if (result.artifacts.report !== undefined) yield* Console.log(`\nReport: ${result.artifacts.report}`)
    return result
  })

/** `realm run <config>`. */
export const runCommand = Command.make(
  "run",
  {
    file: Argument.File("pipeline", { mustExist: false }).pipe(
      Argument.withDescription("pipeline config (.yaml or .json)")
    )
  },
  ({ file }) =>
    Effect.gen(function* () {
      const config = yield* ConfigFile.load(file, PipelineConfig.PipelineConfig)
      yield* runWithDisplay(config, dirname(resolve(file)))
    })
).pipe(
  Command.withDescription(
    "Run a pipeline: problems, corpus, training of every method, evaluation, results table (resumes where it stopped)"
  )
)

/** `realm demo`. */
export const demo = Command.make(
  "demo",
  {
    quick: Flag.Boolean("quick").pipe(
      Flag.withDescription("a few-minute run that exercises every stage (what CI runs)"),
      Flag.withDefault(false)
    ),
    out: Flags.optional(Flag.Directory("out"), "run directory (default runs/demo or runs/demo-quick)")
  },
  ({ quick, out }) =>
    Effect.gen(function* () {
      const runDir = out._tag === "Some" ? out.value : resolve("runs", quick ? "demo-quick" : "demo")
      yield* runWithDisplay(Demo.config(quick ? "quick" : "full", runDir), process.cwd())
    })
).pipe(
  Command.withDescription(
    "The whole ReaLM method on the built-in parcel-fee domain with a small model trained from scratch on the CPU"
  )
)

/** `--update FILE`: regenerate a marked block of a documentation file. */
export const updateFlag = Flags.optional(
  Flag.File("update"),
  "also write the results table into FILE between <!-- realm:NAME --> and <!-- /realm:NAME --> (NAME: the run directory's name)"
)

/** `realm report <run>`. */
export const report = Command.make(
  "report",
  {
    runDir: Argument.Directory("run", { mustExist: true }).pipe(
      Argument.withDescription("run directory of `realm run` or `realm demo`")
    ),
    update: updateFlag
  },
  ({ runDir, update }) =>
    Effect.gen(function* () {
      const dir = resolve(runDir)
      const revision = gitRevision()
      const stamp = `realm-lm ${packageJson.version}${revision === undefined ? "" : ` @ ${revision.slice(0, 10)}`}`
      const fs = yield* FileSystem.FileSystem
      // An experiment directory (`realm experiment`): its summary's tables and page.
      const experiment = join(dir, "experiment.json")
      if (yield* fs.exists(experiment)) {
        const summary = yield* Experiment.readSummary(experiment)
        const file = yield* ExperimentReport.write(dir, summary, stamp)
        yield* Console.log(`report written to ${file} (self-contained; open it in any browser)`)
        if (update._tag === "Some")
          yield* writeBlock(
            update.value,
            basename(dir),
            ExperimentResults.markdown(summary),
            `realm report ${runDir} --update ${update.value}`
          )
        return
      }
      const file = yield* ReportJob.write(dir, stamp).pipe(Effect.provide(yield* ReportJob.recordedVerifier(dir)))
      yield* Console.log(`report written to ${file} (self-contained; open it in any browser)`)
      if (update._tag === "Some") {
        const results = yield* Pipeline.readResults(join(dir, "eval", "results.json"))
        yield* writeBlock(
          update.value,
          basename(dir),
          Table.markdown(results),
          `realm report ${runDir} --update ${update.value}`
        )
      }
    })
).pipe(
  Command.withDescription(
    "Write a self-contained HTML report of a run or an experiment: results, reward/accuracy curves, s(t), MRPV examples"
  )
)

/** Write generated tables into the marked block `name` of `file`, with a line saying which command wrote them. */
export const writeBlock = (file: string, name: string, tables: string, command: string) =>
  Effect.gen(function* () {
    const revision = gitRevision()
    const note = `<sub>Generated by \`${command}\`${revision === undefined ? "" : ` at ${revision.slice(0, 10)}`}.</sub>`
    yield* MarkedBlock.update(file, name, `${tables}\n\n${note}`)
    yield* Console.log(`tables written into ${file} (block realm:${name})`)
  })

const phaseCommand = (phase: "sft" | "rft" | "rl", description: string) =>
  Command.make(
    phase,
    {
      init: Flag.Directory("init").pipe(
        Flag.withDescription(
          "model to start from: a Hugging Face model directory, or an earlier phase's output directory (its final checkpoint, e.g. runs/x/sft)"
        )
      ),
      corpus: Flag.File("corpus").pipe(
        Flag.withDescription("corpus JSONL from `realm corpus build` (<out>/corpus/corpus.jsonl)")
      ),
      out: Flag.Directory("out").pipe(
        Flag.withDescription("output directory: checkpoints, metrics.jsonl, tensorboard/")
      ),
      config: Flags.optional(
        Flag.File("config"),
        "pipeline config whose trainer/verifier/curriculum/judge slots to use"
      ),
      fresh: Flag.Boolean("fresh").pipe(
        Flag.withDescription("start over instead of resuming from the latest checkpoint in --out"),
        Flag.withDefault(false)
      )
    },
    (flags) =>
      Effect.gen(function* () {
        const config = (yield* ConfigFile.loadGiven(flags.config, PipelineConfig.PipelineConfig)) ?? {}
        const bar = yield* ProgressBar.make()
        const ref = yield* TrainJob.run({
          phase,
          init: yield* ModelDir.resolve(flags.init),
          corpus: flags.corpus,
          outDir: flags.out,
          resume: !flags.fresh,
          config,
          baseDir: flags.config._tag === "Some" ? dirname(resolve(flags.config.value)) : process.cwd(),
          onProgress: (e) => bar.update({ label: e.label, done: e.done, total: e.total, detail: e.detail })
        })
        yield* bar.finish
        const shown = ["loss", "heldout_loss", "reward_mean", "truth_accuracy"].filter(
          (k) => ref.metrics[k] !== undefined
        )
        yield* Console.log(
          `${phase} finished at step ${ref.step}: ${ref.path} (${shown.map((k) => `${k} ${ref.metrics[k]!.toFixed(4)}`).join(", ")})`
        )
      })
  ).pipe(Command.withDescription(description))

/** `realm train sft|rft|rl`. */
export const train = Command.make("train").pipe(
  Command.withDescription(
    "Run one training phase; Ctrl-C stops at a step boundary after a checkpoint, re-run to resume"
  ),
  Command.withSubcommands([
    phaseCommand(
      "sft",
      "Guided-CoT distillation: rules-free prompts -> positive routes (plus MRPV warm starts if configured)"
    ),
    phaseCommand("rft", "Rejection-sampling fine-tuning on the policy's own correct samples"),
    phaseCommand("rl", "GRPO-family RL with the verifier's rewards and the curriculum's fading guidance")
  ])
)
