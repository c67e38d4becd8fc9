/**
 * Evaluation as a stage value, and the one evaluation loop: checkpoints × splits × modes through the evaluator slot
 * (on top of the verifier and judge), results written in the `eval/results.json` format. `Stages.evaluate` is the
 * pipeline's stage (every trained method, and the base with `evaluation.base`); `realm eval` (`EvalJob`) runs the same
 * stage on one checkpoint or served model with its own labels, modes and results file.
 */
import { join, relative } from "node:path"
import { EvalResult, Evaluator, Problem } from "@realm-lm/core"
import type { Checkpoint } from "@realm-lm/core"
import { Jsonl, RunDir } from "@realm-lm/core/node"
import { Effect, Layer, Schema, Stream } from "effect"
import { fail, readResults } from "./internal/stageFiles.ts"
import { plan, selected } from "./Methods.ts"
import type { AnyStage, RunContext } from "./PipelineStage.ts"
import { define } from "./PipelineStage.ts"
import * as Routes from "./Routes.ts"
import * as Stage from "./Stage.ts"
import { StageFailed } from "./Stage.ts"

/** A checkpoint to evaluate: its name in `checkpoints` and its label in results. */
export interface Target {
  readonly name: string
  readonly label: string
}

/** How an evaluation stage is made. */
export interface EvaluationOptions {
  /** The stage's name (and its manifest's directory). Default `eval`. */
  readonly name?: string
  /** The checkpoints evaluated, in order. Default: the base with `evaluation.base`, then every planned method. */
  readonly targets?: (ctx: RunContext) => ReadonlyArray<Target>
  /** Modes, in order. Default assisted, then autonomous. */
  readonly modes?: ReadonlyArray<EvalResult.EvalMode>
  /** The task label of results. Default the task source's `use`. */
  readonly task?: string
  /** The results file, relative to the stage directory. Default `results.json`. */
  readonly file?: string
  /** Files standing for a checkpoint in the manifest's inputs, relative to the run directory. Default `<name>/result.json`. */
  readonly checkpointInputs?: (name: string, ref: Checkpoint.CheckpointRef) => ReadonlyArray<string>
  /** Settings recorded in the manifest (and its config hash) besides the slots, targets and splits. */
  readonly settings?: Readonly<Record<string, unknown>>
  /** `false`: evaluate on every run (a served model is not in the inputs). Default `true`. */
  readonly cache?: boolean
}

/** The pipeline's targets: the base model with `evaluation.base`, then each planned method under its label. */
export const plannedTargets = (ctx: RunContext): ReadonlyArray<Target> => {
  const planned = plan(selected(ctx.config))
  return [
    ...(ctx.config.evaluation?.base === true ? [{ name: "base", label: "Base model" }] : []),
    ...planned.map((m) => ({ name: m.name, label: m.label }))
  ]
}

/**
 * An evaluation stage: every target in each mode on every evaluated split (problems from `problems`, assisted
 * prompts' routes from `routes`), one manifest. Gives `results`; reports each result to `hooks.evaluated`.
 */
export const evaluation = (options: EvaluationOptions = {}): AnyStage =>
  define({
    name: options.name ?? "eval",
    needs: ["problems", "routes", "checkpoints"],
    gives: ["results"],
    run: (ctx, input) =>
      Effect.gen(function* () {
        const name = options.name ?? "eval"
        const file = options.file ?? "results.json"
        const modes = options.modes ?? EvalResult.EvalMode.literals
        const targets = (options.targets ?? plannedTargets)(ctx)
        const evaluated = targets.map((t) => t.name)
        const evaluatorLayer = Layer.provideMerge(yield* ctx.wiring.slotLayer("evaluator"), ctx.wiring.verifier)
        const problemsOf = (split: string) => input.problems[split] ?? join(ctx.runDir, "missing", split)
        const checkpointOf = (target: string) => input.checkpoints.get(target)
        yield* ctx.runStage(
          Stage.define({
            name,
            implementation: ctx.wiring.choice("evaluator").use,
            config: Schema.Unknown,
            inputs: () => [
              ...evaluated.flatMap((m) => {
                const ref = checkpointOf(m)
                return options.checkpointInputs === undefined || ref === undefined
                  ? [`${m}/result.json`]
                  : options.checkpointInputs(m, ref)
              }),
              ...ctx.evalSplits.map((s) => relative(ctx.runDir, problemsOf(s))),
              ...ctx.evalSplits.flatMap((s) =>
                input.routes[s] === undefined ? [] : [relative(ctx.runDir, input.routes[s])]
              )
            ],
            outputs: () => [file],
            ...(options.cache === undefined ? {} : { cache: options.cache }),
            run: ({ stageDir }) =>
              Effect.gen(function* () {
                const evaluator = yield* Evaluator.Evaluator
                const results: Array<EvalResult.EvalResult> = []
                const total = ctx.evalSplits.length * targets.length * modes.length
                for (const split of ctx.evalSplits) {
                  const problems = yield* Stream.runCollect(Jsonl.read(problemsOf(split), Problem.Problem))
                  const routesOfSplit = input.routes[split]
                  const routes: Routes.ById =
                    routesOfSplit === undefined ? new Map() : yield* Routes.read(routesOfSplit)
                  for (const target of targets) {
                    const ref = checkpointOf(target.name)
                    if (ref === undefined)
                      return yield* new StageFailed({
                        stage: name,
                        detail: `no checkpoint of ${target.name}; a stage before ${name} must train it`
                      })
                    for (const mode of modes) {
                      const result = yield* evaluator.evaluate({
                        method: target.label,
                        checkpoint: ref.path,
                        task: options.task ?? ctx.wiring.choice("tasks").use,
                        split: split as Problem.Split,
                        problems,
                        routes,
                        mode
                      })
                      results.push(result)
                      if (ctx.hooks.evaluated !== undefined) yield* ctx.hooks.evaluated(results.length, total, result)
                    }
                  }
                }
                yield* RunDir.writeJsonAtomic(join(stageDir, file), results)
              }).pipe(Effect.provide(evaluatorLayer), Effect.mapError(fail(name)))
          }),
          {
            evaluator: ctx.wiring.choice("evaluator"),
            verifier: ctx.wiring.choice("verifier"),
            judge: ctx.wiring.choice("judge"),
            evaluated,
            splits: ctx.evalSplits,
            ...options.settings
          }
        )
        return { results: yield* readResults(join(ctx.runDir, name, file)).pipe(Effect.mapError(fail(name))) }
      })
  })
