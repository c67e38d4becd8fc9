/**
 * A teacher that is a local model: any Hugging Face model directory `@realm-lm/lm` loads (for example a model an
 * earlier realm run trained, or a bigger instruct model) writes routes from the same rulebook-guided prompt the
 * HTTP teacher sends, sampled on ONNX Runtime with per-problem seeds. Routes are labelled by the corpus builder.
 */
import { basename } from "node:path"
import { AnswerJudge, ConfigDecode, Rng, Teacher } from "@realm-lm/core"
import { Policy, PromptText } from "@realm-lm/lm"
import { Effect, Layer, Schema } from "effect"
import * as Batcher from "./internal/batcher.ts"
import { guidedMessages, routeFromText } from "./Prompts.ts"

const { PositiveInt, withDefault } = ConfigDecode

/** Local-model teacher settings (`teacher: { use: local, with: ... }`). */
export const LocalTeacherConfig = Schema.Struct({
  /** Hugging Face model directory with `config.json`, safetensors and tokenizer files. */
  model: Schema.NonEmptyString,
  /** Sampling temperature (> 0: K routes of one problem should differ). Default 0.8. */
  temperature: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(withDefault(0.8)),
  /** Most tokens per route. Default 256. */
  maxNewTokens: PositiveInt.pipe(withDefault(256)),
  /** System prompt replacing the default teacher instructions. */
  system: Schema.optionalKey(Schema.String),
  /** Expert hints added to the guided prompt. */
  hints: Schema.optionalKey(Schema.String),
  /**
   * Most problems whose routes are generated together in one batched call (each with its K samples). The corpus
   * builder keeps this many problems in flight unless its `concurrency` is set. Default 16.
   */
  batchProblems: PositiveInt.pipe(withDefault(16)),
  /** `@realm-lm/lm` Policy settings (device, threads, generation buckets). Default `{}`. */
  policy: Schema.Unknown.pipe(withDefault({}))
})
export type LocalTeacherConfig = typeof LocalTeacherConfig.Type

/** The model directory cannot be used as a teacher. */
export class LocalTeacherUnavailable extends Schema.TaggedError<LocalTeacherUnavailable>()("LocalTeacherUnavailable", {
  model: Schema.String,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `local teacher ${this.model}: ${this.detail}`
  }
}

/**
 * The teacher for a config; the model stays loaded until the layer's scope closes. Needs an `AnswerJudge`.
 * Requests of problems in flight together are generated in one batched call (up to `batchProblems` problems, their
 * K samples each), as the evaluator batches its problems; each problem keeps its own seed, so its routes do not
 * depend on which problems shared its batch. The corpus builder keeps `batchProblems` problems in flight unless its
 * `concurrency` is set.
 */
export const make = (config: LocalTeacherConfig) =>
  Effect.gen(function* () {
    const judge = yield* AnswerJudge.AnswerJudge
    const policy = yield* Policy.load(config.model, config.policy as Policy.PolicyConfig).pipe(
      Effect.mapError((e) => new LocalTeacherUnavailable({ model: config.model, detail: e.message, cause: e }))
    )
    const tokenizer = policy.tokenizer
    if (tokenizer === undefined) {
      return yield* new LocalTeacherUnavailable({
        model: config.model,
        detail: "no tokenizer.json next to config.json; a teacher writes text"
      })
    }
    const name = `local:${basename(config.model)}`
    const failure = (problemId: string, e: { readonly _tag: string; readonly message: string }) =>
      new Teacher.TeacherError({
        teacher: name,
        problemId,
        reason: "unavailable",
        detail: `${e._tag}: ${e.message}`,
        cause: e
      })
    const generate = yield* Batcher.make(
      (batch: ReadonlyArray<{ readonly request: Teacher.RouteRequest; readonly prompt: ReadonlyArray<number> }>) =>
        policy.generate(
          batch.map((p) => ({
            prompt: p.prompt,
            samples: p.request.count,
            rng: Rng.Rng.make(p.request.seed, "local-teacher")
          })),
          { maxNewTokens: config.maxNewTokens, sampling: { temperature: config.temperature, topK: 0, topP: 1 } }
        ),
      { max: config.batchProblems, gatherMs: 5 }
    )
    return Teacher.Teacher.of({
      name,
      concurrency: config.batchProblems,
      routes: (request) =>
        Effect.gen(function* () {
          const prompt = yield* PromptText.encodeMessages(
            tokenizer,
            guidedMessages(request.problem, { system: config.system, hints: config.hints })
          )
          const completions = yield* generate({ request, prompt })
          return completions.map((c) => routeFromText(judge, request.problem, c.text ?? ""))
        }).pipe(Effect.mapError((e) => failure(request.problem.id, e)))
    })
  })

/** The local teacher as a layer (needs an `AnswerJudge` and the platform's FileSystem and Path). */
export const layer = (config: LocalTeacherConfig) => Layer.effect(Teacher.Teacher, make(config))
