/**
 * The ONNX decoder against the independent plain-TypeScript ReferenceModel: logits within 1e-4 relative on the
 * committed fixtures, on configs covering every architectural option, and on stories260K; and the weight layout
 * (Hugging Face `[out, in]` parameters read only through Gemm transB, Gather and norm products).
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Rng } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import { Graph, Onnx } from "@realm-lm/graph"
import * as Llama2c from "../src/Llama2c.ts"
import * as Model from "../src/Model.ts"
import type * as ModelConfig from "../src/ModelConfig.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as ReferenceModel from "../src/ReferenceModel.ts"
import * as Scoring from "../src/Scoring.ts"
import * as Weights from "../src/Weights.ts"
import { goldenTokens, tinyFixtures } from "./fixtures/make-tiny.ts"
import { executorWith, fixtureDir, maxRelError, tinyConfig } from "./support.ts"

const stories = SharedData.sharedDataFile("stories260K", "stories260K.bin")

/** Logits `[rows, length, vocab]` of the ONNX sequence forward for equally long token rows. */
const onnxLogits = (
  config: ModelConfig.ModelConfig,
  weights: Weights.Weights,
  rows: ReadonlyArray<ReadonlyArray<number>>
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const exec = yield* executorWith(weights)
      const length = rows[0]!.length
      const g = Graph.make("logits")
      g.output("logits", Model.sequenceLogits(config, g.input("input_ids", "int32", [rows.length, length])))
      const session = yield* exec.compile(g)
      const out = yield* session.run({ input_ids: Int32Array.from(rows.flat()) })
      return out["logits"]?.data as Float32Array
    })
  )

/** Check every row against ReferenceModel.logits; returns the worst relative error. */
const compare = (
  config: ModelConfig.ModelConfig,
  weights: Weights.Weights,
  rows: ReadonlyArray<ReadonlyArray<number>>
) =>
  Effect.gen(function* () {
    const got = yield* onnxLogits(config, weights, rows)
    const ref = ReferenceModel.make(config, weights)
    const per = rows[0]!.length * config.vocabSize
    return Math.max(
      ...rows.map((row, r) => maxRelError(got.subarray(r * per, (r + 1) * per), ReferenceModel.logits(ref, row)))
    )
  })

describe("Model: ONNX forward against ReferenceModel", () => {
  it.effect(
    "committed fixtures (Llama untied GQA; Qwen2 tied with q/k/v biases, BF16) agree within 1e-4 relative",
    () =>
      Effect.gen(function* () {
        for (const f of tinyFixtures) {
          const { config, weights } = yield* Pretrained.load(fixtureDir(f.dir))
          const err = yield* compare(config, weights, [goldenTokens, goldenTokens.toReversed()])
          assert.isBelow(err, 1e-4, f.dir)
        }
      }).pipe(Effect.provide(NodeServices.layer))
  )

  const variants: ReadonlyArray<readonly [string, ModelConfig.ModelConfig]> = [
    [
      "Llama 3 rope_scaling llama3",
      tinyConfig({
        ropeScaling: {
          type: "llama3",
          factor: 8,
          lowFreqFactor: 1,
          highFreqFactor: 4,
          originalMaxPositionEmbeddings: 16
        },
        ropeTheta: 500000
      })
    ],
    ["linear rope_scaling", tinyConfig({ ropeScaling: { type: "linear", factor: 4 } })],
    ["Llama attention_bias, MHA", tinyConfig({ qkvBias: true, oBias: true, numKvHeads: 4 })],
    ["Mistral, one kv head", tinyConfig({ architecture: "MistralForCausalLM", numKvHeads: 1 })],
    [
      "Qwen2, tied, biases",
      tinyConfig({ architecture: "Qwen2ForCausalLM", qkvBias: true, tieWordEmbeddings: true, ropeTheta: 1e6 })
    ]
  ]
  for (const [name, config] of variants) {
    it.effect(`${name}: agrees within 1e-4 relative`, () =>
      Effect.gen(function* () {
        const weights = Weights.init(config, Rng.Rng.make("model-test", name), { std: 0.3 })
        for (const [n, t] of weights)
          if (n.endsWith(".bias")) t.data.forEach((_, i) => (t.data[i] = 0.2 * Math.sin(i + 1)))
        const rows = [
          [1, 7, 3, 30, 12, 12, 5, 0, 19, 4, 31, 2],
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        ]
        assert.isBelow(yield* compare(config, weights, rows), 1e-4)
      })
    )
  }

  it.effect.skipIf(stories === undefined)(
    `stories260K: 64 positions agree within 1e-4 relative${stories === undefined ? ` (${SharedData.missingReason("stories260K")})` : ""}`,
    () =>
      Effect.gen(function* () {
        const { config, weights } = yield* Llama2c.read(stories as string)
        const ref = ReferenceModel.generate(ReferenceModel.make(config, weights), [1], { maxNewTokens: 63 })
        assert.isBelow(yield* compare(config, weights, [[1, ...ref.tokens]]), 1e-4)
      }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("Model: weight layout", () => {
  const config = tinyConfig({ architecture: "Qwen2ForCausalLM", qkvBias: true, tieWordEmbeddings: false })
  const graphs: ReadonlyArray<readonly [string, Graph.Graph]> = [
    ["prefill", Model.prefillGraph(config, { batch: 2, length: 8 })],
    ["decode", Model.decodeGraph(config, { batch: 4, capacity: 16 })],
    ["score", Scoring.scoreGraph(config, { batch: 2, length: 8 })]
  ]
  for (const [name, g] of graphs) {
    it(`${name}: parameters are inputs with Hugging Face names and shapes, read only by Gemm(transB), Gather and norm/bias products`, () => {
      assert.deepStrictEqual(
        g.params.map((p) => [p.name, [...p.shape]]),
        Weights.spec(config).map((p) => [p.name, [...p.shape]])
      )
      const params = new Set(g.params.map((p) => p.name))
      const uses: Array<string> = []
      for (const node of Onnx.flatten(g.nodes)) {
        node.inputs.forEach((t, i) => {
          if (t === undefined || !params.has(t.name)) return
          const transB = node.attrs["transB"]
          if (node.op === "Gemm" && i === 1)
            assert.deepStrictEqual(transB, { i: 1 }, `${t.name} must be used transposed in place`)
          uses.push(`${node.op}:${i}`)
        })
      }
      assert.includeMembers(["Gemm:1", "Gemm:2", "Gather:0", "Mul:1"], [...new Set(uses)])
      assert.notInclude(uses.join(), "Transpose")
    })
  }
})
