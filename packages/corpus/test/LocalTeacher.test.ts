/**
 * The local-model teacher on a tiny random model written here with `@realm-lm/lm`: problems in flight together are
 * generated in one batch, the corpus builder keeps `batchProblems` problems in flight, and a problem's routes do not
 * depend on which problems shared its batch (each has its own seed); a model that does not load keeps the loader's
 * typed error as the failure's cause.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Rng, Teacher } from "@realm-lm/core"
import { BuiltinTokenizer, ModelConfig, Pretrained, Weights } from "@realm-lm/lm"
import { Effect, Layer, Predicate, Schema, Stream } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Corpus from "../src/Corpus.ts"
import * as LocalTeacher from "../src/LocalTeacher.ts"
import { fixtureProblems, judgeLayer } from "./support.ts"

const problems = fixtureProblems.slice(0, 6)

/** A random-weight Llama-style model with a byte-level tokenizer trained on the problems' texts. */
const tinyModel = (dir: string) =>
  Effect.gen(function* () {
    const tok = BuiltinTokenizer.train(
      problems.flatMap((p) => [p.question, p.rulebook ?? "", `Step 1: x\nAnswer: ${p.gold}`]),
      { ...BuiltinTokenizer.defaultTrainConfig, vocabSize: 300 }
    )
    const config = yield* ModelConfig.llama({
      vocabSize: tok.tokens.length,
      hiddenSize: 16,
      intermediateSize: 32,
      numLayers: 1,
      numHeads: 2,
      numKvHeads: 1,
      headDim: 8,
      maxContext: 1024,
      bosTokenId: 0,
      eosTokenIds: [tok.ids.get("<|im_end|>") as number],
      padTokenId: 0
    })
    yield* Pretrained.save(dir, config, Weights.init(config, Rng.Rng.make(1, "tiny"), { std: 0.05 }))
    yield* BuiltinTokenizer.save(dir, tok, 1024)
    return dir
  })

const teacherOf = (model: string, batchProblems: number) =>
  LocalTeacher.layer(
    Schema.decodeUnknownSync(LocalTeacher.LocalTeacherConfig)({ model, maxNewTokens: 6, batchProblems })
  )

describe("LocalTeacher", () => {
  const dir = mkdtempSync(join(tmpdir(), "realm-local-teacher-"))

  it.effect("asks the corpus builder for batchProblems problems in flight, and routes do not depend on the batch", () =>
    Effect.gen(function* () {
      const model = yield* tinyModel(join(dir, "model"))
      const routesWith = (batchProblems: number) =>
        Effect.gen(function* () {
          const teacher = yield* Teacher.Teacher
          assert.strictEqual(teacher.concurrency, batchProblems)
          return yield* Effect.forEach(
            problems,
            (problem, i) => teacher.routes({ problem, count: 2, negatives: 0, seed: 100 + i }),
            { concurrency: "unbounded" }
          )
        }).pipe(Effect.provide(teacherOf(model, batchProblems)))
      const alone = yield* routesWith(1)
      const together = yield* routesWith(6)
      assert.strictEqual(together.length, problems.length)
      assert.isTrue(together.every((r) => r.length === 2))
      assert.deepStrictEqual(
        together.map((r) => r.map((x) => x.raw ?? x.steps.join("\n"))),
        alone.map((r) => r.map((x) => x.raw ?? x.steps.join("\n")))
      )
    }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, judgeLayer)))
  )

  // Live clock: the teacher waits a few real milliseconds for the other problems in flight to join a batch.
  it.live("a corpus build over the local teacher runs its problems batched and completes", () =>
    Effect.gen(function* () {
      const model = join(dir, "model")
      const runDir = join(dir, "run")
      const config = yield* Corpus.decodeConfig({
        runDir,
        routesPerProblem: 2,
        negativesPerProblem: 0,
        minNegatives: 0,
        minPositives: 0,
        balanceAttempts: 0
      })
      assert.isUndefined(config.concurrency)
      const summary = yield* Corpus.build(config, {
        problems: Stream.fromIterable(problems),
        total: problems.length
      }).pipe(Effect.provide(teacherOf(model, 4)))
      assert.strictEqual(summary.status, "complete")
      assert.strictEqual(summary.records, problems.length)
      const lines = readFileSync(join(runDir, "corpus", "corpus.jsonl"), "utf8")
        .trim()
        .split("\n")
      assert.strictEqual(lines.length, problems.length)
    }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, judgeLayer)))
  )

  it.effect(
    "a model directory that does not load fails with LocalTeacherUnavailable, its cause the loader's own typed error",
    () =>
      Effect.gen(function* () {
        const missing = join(dir, "no-such-model")
        const error = yield* Effect.flip(Effect.scoped(Layer.build(teacherOf(missing, 1))))
        assert.instanceOf(error, LocalTeacher.LocalTeacherUnavailable)
        assert.isTrue(Predicate.hasProperty(error.cause, "_tag"), `cause: ${String(error.cause)}`)
        assert.include(error.message, missing)
      }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, judgeLayer)))
  )
})
