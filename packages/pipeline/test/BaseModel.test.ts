/**
 * `model.pretrain`: a tiny parcel pipeline whose from-scratch base is pre-trained on arithmetic before any method.
 * The base checkpoint is the pre-training's SFT result and records what it saw, its tokenizer learned both domains,
 * the pre-training corpus holds arithmetic problems only, the base stage's hash follows the pre-training section,
 * and pre-training on the pipeline's own task source is refused before any base work.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { beforeAll } from "vitest"
import { Effect, Stream } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CorpusRecord } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { BuiltinTokenizer } from "@realm-lm/lm"
import * as BaseModel from "../src/BaseModel.ts"
import * as Pipeline from "../src/Pipeline.ts"
import type { PipelineConfig } from "../src/PipelineConfig.ts"

const root = mkdtempSync(join(tmpdir(), "realm-basemodel-"))
const fixtures = join(import.meta.dirname, "fixtures")
const arithmeticProblems = 24

/** The tiny experiment's shapes; a handful of parcel problems, no methods, the test split evaluated (nothing to evaluate). */
const plain: PipelineConfig = {
  run: { seed: 0, runDir: join(root, "plain") },
  methods: [],
  evaluation: { splits: ["test"] },
  tasks: {
    use: "parcel",
    with: {
      levels: [1, 2],
      testPercent: 30,
      validationPercent: 10,
      heldoutPercent: 25,
      counts: { train: 16, validation: 0, test: 2, heldout: 0, transfer: 0 }
    }
  },
  teacher: { use: "rule" },
  corpus: { routesPerProblem: 3, negativesPerProblem: 1 },
  model: {
    scratch: { vocabSize: 320, hiddenSize: 32, intermediateSize: 64, layers: 1, heads: 2, kvHeads: 1, maxContext: 512 }
  },
  verifier: { use: "mrpv", with: { style: "compact" } },
  trainer: {
    use: "onnx",
    with: {
      generation: { maxNewTokens: 48, maxPromptTokens: 400 },
      batching: { buckets: [64, 128, 256, 448], microBatch: 16 },
      checkpoint: { every: 0, onnx: "never" },
      log: { tensorboard: false },
      // The pipeline's own SFT settings; pre-training must not take them.
      sft: { steps: 50, batchSize: 4, warmStart: { ratio: 1 } }
    }
  },
  evaluator: { use: "default", with: { samples: 1, maxNewTokens: 8 } }
}

const pretrain = {
  tasks: {
    use: "arithmetic",
    with: { levels: [1, 2], counts: { train: arithmeticProblems, validation: 0, test: 0, heldout: 0 } }
  },
  sft: { epochs: 1, batchSize: 8, lr: { peak: 0.002 }, heldOutFraction: 0, evalEvery: 0 }
}

const pretrained = (sft: Record<string, unknown> = pretrain.sft): PipelineConfig => ({
  ...plain,
  run: { seed: 0, runDir: join(root, "pretrained") },
  model: { scratch: (plain.model as { scratch: Record<string, unknown> }).scratch, pretrain: { ...pretrain, sft } }
})

const runDir = join(root, "pretrained")
const outcomes: Array<[string, string]> = []
const hooks: Pipeline.Hooks = { stage: (name, outcome) => Effect.sync(() => void outcomes.push([name, outcome])) }
const run = (config: PipelineConfig) => Pipeline.run(config, root, hooks).pipe(Effect.provide(NodeServices.layer))
const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>
const records = (file: string) =>
  Effect.runPromise(
    Stream.runCollect(Jsonl.read(file, CorpusRecord.CorpusRecord)).pipe(Effect.provide(NodeServices.layer))
  )

beforeAll(async () => {
  await Effect.runPromise(run(plain))
  await Effect.runPromise(run(pretrained()))
}, 300_000)

describe("a pre-trained base (model.pretrain)", () => {
  it("the base checkpoint is the pre-training's SFT result, trained away from the scratch init", () => {
    const ref = readJson(join(runDir, "base", "result.json")) as {
      path: string
      kind: string
      step: number
      metrics: Record<string, number>
    }
    assert.strictEqual(ref.kind, "base")
    assert.strictEqual(ref.path, join(runDir, "base", "pretrain", "sft", "final"))
    assert.isTrue(existsSync(join(ref.path, "model.safetensors")))
    assert.isTrue(ref.step > 0)
    const init = readFileSync(join(runDir, "base", "model", "model.safetensors"))
    assert.isFalse(
      readFileSync(join(ref.path, "model.safetensors")).equals(init),
      "the pre-trained weights equal the random init"
    )
  })

  it("its metrics and pretrain.json record the pre-training: task source, problems, steps; pretrain.sft replaced the pipeline's sft", () => {
    const ref = readJson(join(runDir, "base", "result.json")) as { step: number; metrics: Record<string, number> }
    assert.strictEqual(ref.metrics["pretrained"], 1)
    assert.strictEqual(ref.metrics["pretrain_problems"], arithmeticProblems)
    assert.strictEqual(ref.metrics["pretrain_records"], arithmeticProblems)
    // One epoch of one route per problem in batches of 8 (no held-out problems): not the pipeline's 50 steps.
    assert.strictEqual(ref.metrics["pretrain_steps"], arithmeticProblems / 8)
    assert.strictEqual(ref.step, arithmeticProblems / 8)
    assert.isTrue((ref.metrics["parameters"] ?? 0) > 0)
    assert.isTrue(Number.isFinite(ref.metrics["pretrain_loss"]))
    const seen = readJson(join(runDir, "base", "pretrain.json")) as unknown as BaseModel.Summary
    assert.deepStrictEqual(seen.tasks, pretrain.tasks)
    assert.strictEqual(seen.problems, arithmeticProblems)
    assert.strictEqual(seen.steps, arithmeticProblems / 8)
    assert.strictEqual(seen.teacher, "rule")
    assert.deepStrictEqual((seen.trainer.with as { sft: unknown }).sft, {
      ...pretrain.sft,
      prompt: "verifier",
      warmStart: { ratio: 0 }
    })
  })

  it("the pre-training corpus holds the arithmetic problems only, with positive routes; the parcel corpus never entered it", async () => {
    const pre = await records(join(runDir, "base", "pretrain", "corpus", "corpus.jsonl"))
    const parcel = await records(join(runDir, "corpus", "corpus.jsonl"))
    assert.strictEqual(pre.length, arithmeticProblems)
    assert.isTrue(pre.every((r) => r.problem.domain === "arith" && r.problem.id.startsWith("arith/train/")))
    assert.isTrue(pre.every((r) => r.routes.length > 0 && r.routes.every((route) => route.label === "positive")))
    const parcelQuestions = new Set(parcel.map((r) => r.problem.question))
    assert.isTrue(parcel.length > 0 && pre.every((r) => !parcelQuestions.has(r.problem.question)))
    const metrics = readJson(join(runDir, "base", "result.json")).metrics as Record<string, number>
    assert.strictEqual(metrics["pretrain_train_examples"], arithmeticProblems)
  })

  it("the tokenizer learned both domains: arithmetic prompts take fewer tokens than with the parcel-only scratch tokenizer, parcel ones about as many", async () => {
    const read = (dir: string) => Effect.runPromise(BuiltinTokenizer.read(dir).pipe(Effect.provide(NodeServices.layer)))
    const both = await read(join(runDir, "base", "model"))
    const parcelOnly = await read(join(root, "plain", "base", "model"))
    const final = await read(join(runDir, "base", "pretrain", "sft", "final"))
    assert.deepStrictEqual(final.tokens, both.tokens)
    const count = (tok: BuiltinTokenizer.BuiltinTokenizer, texts: ReadonlyArray<string>) =>
      texts.reduce((n, t) => n + BuiltinTokenizer.encode(tok, t).length, 0)
    const arithmetic = (await records(join(runDir, "base", "pretrain", "corpus", "corpus.jsonl"))).map(
      (r) => `Q: ${r.problem.question}\nSolve.`
    )
    const parcel = (await records(join(runDir, "corpus", "corpus.jsonl"))).map(
      (r) => `Q: ${r.problem.question}\nSolve.`
    )
    assert.isTrue(
      count(both, arithmetic) < 0.9 * count(parcelOnly, arithmetic),
      `${count(both, arithmetic)} vs ${count(parcelOnly, arithmetic)}`
    )
    assert.isTrue(
      count(both, parcel) < 1.25 * count(parcelOnly, parcel),
      `${count(both, parcel)} vs ${count(parcelOnly, parcel)}`
    )
  })

  it("the base stage's hash follows model.pretrain: unchanged (or other RL settings) it is skipped, a changed pretrain.sft re-runs it", async () => {
    const base = () => outcomes.filter(([name, o]) => name === "base" && o !== "start")
    outcomes.length = 0
    await Effect.runPromise(run(pretrained()))
    assert.deepStrictEqual(base(), [["base", "skipped"]])
    outcomes.length = 0
    const trainer = plain.trainer as { use: string; with: Record<string, unknown> }
    await Effect.runPromise(
      run({ ...pretrained(), trainer: { use: trainer.use, with: { ...trainer.with, rl: { steps: 3 } } } })
    )
    assert.deepStrictEqual(base(), [["base", "skipped"]])
    outcomes.length = 0
    await Effect.runPromise(run(pretrained({ ...pretrain.sft, batchSize: 12 })))
    assert.deepStrictEqual(base(), [["base", "ran"]])
    assert.strictEqual(
      (readJson(join(runDir, "base", "result.json")).metrics as Record<string, number>)["pretrain_steps"],
      arithmeticProblems / 12
    )
  }, 120_000)

  it.effect(
    "pre-training on the pipeline's own task source is refused, naming model.pretrain.tasks, before any base work",
    () =>
      Effect.gen(function* () {
        const dir = join(root, "same")
        const config: PipelineConfig = {
          ...plain,
          run: { seed: 0, runDir: dir },
          tasks: { use: "arithmetic", with: { levels: [1], counts: { train: 4, validation: 0, test: 2, heldout: 0 } } },
          model: { scratch: {}, pretrain: { tasks: { use: "arithmetic", with: { levels: [2, 3] } } } }
        }
        const error = yield* Effect.flip(Pipeline.run(config, root))
        assert.instanceOf(error, Pipeline.PipelineInvalid)
        assert.include(
          (error as Pipeline.PipelineInvalid).message,
          'model.pretrain.tasks: "arithmetic" is the pipeline\'s own task source'
        )
        assert.isFalse(existsSync(join(dir, "base")))
        // The default pre-training source is arithmetic too.
        const problems = yield* BaseModel.check({ ...config, model: { scratch: {}, pretrain: {} } }, root)
        assert.deepStrictEqual(
          problems.map((p) => p.path),
          ["model.pretrain.tasks"]
        )
      }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("check reports bad pre-training settings with their paths, and nothing without model.pretrain", () =>
    Effect.gen(function* () {
      const with_ = (p: Record<string, unknown>): PipelineConfig => ({ ...plain, model: { scratch: {}, pretrain: p } })
      assert.deepStrictEqual(yield* BaseModel.check(plain, root), [])
      assert.deepStrictEqual(yield* BaseModel.check(with_(pretrain), root), [])
      const paths = (p: Record<string, unknown>) =>
        Effect.map(BaseModel.check(with_(p), root), (ps) => ps.map((x) => x.path))
      assert.deepStrictEqual(yield* paths({ tasks: { use: "nope" } }), ["model.pretrain.tasks.use"])
      assert.deepStrictEqual(yield* paths({ tasks: { use: "arithmetic", with: { levels: [9] } } }), [
        "model.pretrain.tasks.with"
      ])
      assert.deepStrictEqual(yield* paths({ sft: { warmStart: { ratio: 0.5 } } }), ["model.pretrain.sft.warmStart"])
      assert.deepStrictEqual(yield* paths({ sft: { prompt: "question" } }), ["model.pretrain.sft.prompt"])
      assert.deepStrictEqual(yield* paths({ sft: { epochs: 0 } }), ["model.pretrain.sft"])
      // How a trainer pre-trains is its own (Implementation.pretrain); one declaring none cannot.
      const own = yield* BaseModel.check(
        { ...with_(pretrain), trainer: { use: join(fixtures, "plain-trainer.ts") } },
        root
      )
      assert.deepStrictEqual(
        own.map((x) => x.path),
        ["model.pretrain"]
      )
      assert.include(own[0]?.detail, "declares no pretrain")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
