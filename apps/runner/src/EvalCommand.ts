/**
 * `realm eval <checkpoint>`: evaluate one checkpoint on a problems file, assisted (teacher routes shown) and/or
 * autonomous, with the evaluator/verifier/judge slots of a pipeline config; prints the results table and writes the
 * results JSON (the pipeline's `eval/results.json` format). `realm eval --endpoint URL --model NAME` evaluates a
 * served model (`realm serve`, vLLM, SGLang) the same way.
 */
import { dirname, resolve } from "node:path"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Table } from "@realm-lm/evaluator"
import { EvalJob, PipelineConfig } from "@realm-lm/pipeline"
import * as ConfigFile from "./ConfigFile.ts"
import * as Flags from "./internal/flags.ts"
import * as ModelDir from "./ModelDir.ts"
import * as ProgressBar from "./ProgressBar.ts"

const modesOf = { assisted: ["assisted"], autonomous: ["autonomous"], both: ["assisted", "autonomous"] } as const

/** The checkpoint directory, or the endpoint of `--endpoint`/`--model`/`--concurrency`/`--api-key-env`. */
const targetOf = (flags: {
  readonly checkpoint: Option.Option<string>
  readonly endpoint: Option.Option<string>
  readonly model: Option.Option<string>
  readonly concurrency: Option.Option<number>
  readonly apiKeyEnv: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const endpointOnly = (
      [
        ["--model", flags.model],
        ["--concurrency", flags.concurrency],
        ["--api-key-env", flags.apiKeyEnv]
      ] as const
    )
      .filter(([, v]) => Option.isSome(v as Option.Option<unknown>))
      .map(([name]) => name)
    if (Option.isNone(flags.endpoint)) {
      if (endpointOnly.length > 0)
        return yield* new EvalJob.EvalTargetInvalid({ detail: `${endpointOnly.join(", ")}: only with --endpoint URL` })
      if (Option.isNone(flags.checkpoint))
        return yield* new EvalJob.EvalTargetInvalid({
          detail: "nothing to evaluate: give a checkpoint directory, or --endpoint URL --model NAME for a served model"
        })
      return { checkpoint: yield* ModelDir.resolve(flags.checkpoint.value) }
    }
    if (Option.isSome(flags.checkpoint)) {
      return yield* new EvalJob.EvalTargetInvalid({
        detail: `give either a checkpoint directory (${flags.checkpoint.value}) or --endpoint, not both`
      })
    }
    if (Option.isNone(flags.model)) {
      return yield* new EvalJob.EvalTargetInvalid({
        detail:
          "--endpoint needs --model NAME: the model id the server serves (GET <endpoint>/models lists it; realm serve prints it)"
      })
    }
    return {
      endpoint: {
        baseUrl: flags.endpoint.value,
        model: flags.model.value,
        ...Flags.given("concurrency", flags.concurrency),
        ...Flags.given("apiKeyEnv", flags.apiKeyEnv)
      }
    }
  })

/** `realm eval`. */
export const evalCommand = Command.make(
  "eval",
  {
    checkpoint: Argument.Directory("checkpoint", { mustExist: false }).pipe(
      Argument.withDescription(
        "Hugging Face model directory (e.g. runs/demo/sft/final) or a run's method directory (runs/demo/sft); omit with --endpoint"
      ),
      Argument.optional
    ),
    endpoint: Flags.optional(
      Flag.String("endpoint"),
      "evaluate a served model instead: OpenAI-compatible API root up to /v1, e.g. http://127.0.0.1:8000/v1 (realm serve, vLLM, SGLang); needs --model"
    ),
    model: Flags.optional(
      Flag.String("model"),
      "with --endpoint: the model id the server serves (its GET /v1/models lists it)"
    ),
    concurrency: Flags.optional(Flag.Int("concurrency"), "with --endpoint: requests in flight at once (default 8)"),
    apiKeyEnv: Flags.optional(
      Flag.String("api-key-env"),
      "with --endpoint: environment variable with the API key, sent as a Bearer token"
    ),
    problems: Flag.File("problems").pipe(
      Flag.withDescription("JSONL of Problem records, e.g. runs/demo/problems/test.jsonl")
    ),
    routes: Flags.optional(
      Flag.File("routes"),
      "corpus JSONL with the same problems' teacher routes (needed for assisted mode), e.g. runs/demo/routes-test/corpus/corpus.jsonl"
    ),
    mode: Flags.optional(
      Flag.Literals("mode", ["assisted", "autonomous", "both"]),
      "default: both when --routes is given, else autonomous"
    ),
    config: Flags.optional(
      Flag.File("config"),
      "pipeline config whose evaluator/verifier/judge slots to use (default: built-ins)"
    ),
    samples: Flags.optional(Flag.Int("samples"), "completions per problem, k (overrides evaluator.with.samples)"),
    method: Flags.optional(
      Flag.String("method"),
      "method label in the table (default: the checkpoint directory's name; sft for runs/x/sft/final)"
    ),
    out: Flags.optional(
      Flag.File("out"),
      "results JSON (default <checkpoint>/eval-<split>.json; with --endpoint eval-<model>-<split>.json)"
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const config = (yield* ConfigFile.loadGiven(flags.config, PipelineConfig.PipelineConfig)) ?? {}
      const target = yield* targetOf(flags)
      const bar = yield* ProgressBar.make()
      const outcome = yield* EvalJob.run({
        ...target,
        problems: flags.problems,
        ...Flags.given("routes", flags.routes),
        ...Flags.given(
          "modes",
          Option.map(flags.mode, (mode) => modesOf[mode])
        ),
        ...Flags.given("samples", flags.samples),
        ...Flags.given("method", flags.method),
        ...Flags.given("out", flags.out),
        config,
        baseDir: Option.isSome(flags.config) ? dirname(resolve(flags.config.value)) : process.cwd(),
        onStart: (plan) =>
          Effect.andThen(
            Console.error(
              `evaluating ${plan.method} on ${plan.problems} ${plan.split} problems (${plan.task}): ${plan.modes.join(", ")}`
            ),
            bar.update({ label: "eval", done: 0, total: plan.modes.length })
          ),
        onEvaluated: (done, total, r) =>
          bar.update({
            label: "eval",
            done,
            total,
            detail: `${r.method} ${r.split} ${r.mode}: ${(100 * r.accuracy.value).toFixed(1)}%`
          })
      })
      yield* bar.finish
      yield* Console.log(`\nResults (accuracy %, 95% bootstrap CI) in ${outcome.file}\n`)
      yield* Console.log(Table.markdown(outcome.results))
    })
).pipe(
  Command.withDescription(
    "Evaluate a checkpoint (or a served model, --endpoint) on a problems file, assisted and/or autonomous, outside a full pipeline"
  )
)
