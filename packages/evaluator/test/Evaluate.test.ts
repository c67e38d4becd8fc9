/**
 * A damaged checkpoint fails evaluation with an `EvaluatorError` naming what is wrong, instead of scoring 0%:
 * NaN weights (no hash record) and a model file that no longer matches its `trainer_state.json` record.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Rng, Verifier } from "@realm-lm/core"
import { Hash } from "@realm-lm/core/node"
import type { Evaluator, Problem } from "@realm-lm/core"
import { ModelConfig, Pretrained, Safetensors, Weights } from "@realm-lm/lm"
import { EvaluatorConfig, evaluate } from "../src/Evaluate.ts"

const unused = () => Effect.die("the verifier is not reached: loading fails first")
const verifierLayer = Layer.succeed(
  Verifier.Verifier,
  Verifier.Verifier.of({ prompt: unused, example: unused, score: unused })
)

const problem: Problem.Problem = {
  id: "p/test/0",
  domain: "p",
  question: "1 + 1?",
  gold: "2",
  answerType: "number",
  difficulty: 1,
  split: "test",
  metadata: {}
}

const request = (checkpoint: string): Evaluator.EvalRequest => ({
  method: "SFT",
  checkpoint,
  task: "p",
  split: "test",
  problems: [problem],
  routes: new Map(),
  mode: "autonomous"
})

/** A tiny checkpoint directory, `edit`ed before saving. */
const checkpoint = (edit: (w: Weights.Weights) => void) =>
  Effect.gen(function* () {
    const config = yield* ModelConfig.llama({
      vocabSize: 16,
      hiddenSize: 8,
      intermediateSize: 12,
      numLayers: 1,
      numHeads: 2,
      numKvHeads: 1,
      headDim: 4,
      maxContext: 32,
      bosTokenId: 0,
      eosTokenIds: [1],
      padTokenId: null
    })
    const weights = Weights.init(config, Rng.Rng.make("eval"))
    edit(weights)
    const dir = mkdtempSync(join(tmpdir(), "realm-eval-"))
    yield* Pretrained.save(dir, config, weights)
    return { dir, weights }
  })

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices | Verifier.Verifier>) =>
  Effect.provide(effect, Layer.merge(NodeServices.layer, verifierLayer))

describe("evaluate on a damaged checkpoint", () => {
  const config = Schema.decodeUnknownSync(EvaluatorConfig)({})

  it.effect("NaN weights fail with an EvaluatorError naming the tensor", () =>
    run(
      Effect.gen(function* () {
        const { dir } = yield* checkpoint((w) => void (Weights.get(w, Weights.embedTokens).data[9] = Number.NaN))
        const error = yield* Effect.flip(evaluate(config, request(dir)))
        assert.strictEqual(error._tag, "EvaluatorError")
        assert.match(error.message, /cannot load the checkpoint: .*model\.embed_tokens\.weight holds NaN at \[1, 1\]/)
      })
    )
  )

  it.effect("a model file that differs from its trainer_state.json record fails with an EvaluatorError naming it", () =>
    run(
      Effect.gen(function* () {
        const { dir, weights } = yield* checkpoint(() => {})
        const files = yield* Effect.forEach(readdirSync(dir).toSorted(), (f) => Hash.hashFile(join(dir, f), f))
        writeFileSync(join(dir, Pretrained.stateFile), JSON.stringify({ version: 1, files }))
        const scaled = new Map(
          [...weights].map(([name, t]) => [
            name,
            Weights.tensor(
              t.shape,
              t.data.map((x) => 2 * x)
            )
          ])
        )
        yield* Safetensors.write(join(dir, Pretrained.singleFile), scaled)
        const error = yield* Effect.flip(evaluate(config, request(dir)))
        assert.strictEqual(error._tag, "EvaluatorError")
        assert.match(error.message, /model\.safetensors changed after training wrote it/)
      })
    )
  )
})
