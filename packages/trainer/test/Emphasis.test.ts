/**
 * `sft.warmStart.emphasis`: the tokens of the ranges a verifier marks weigh more in the SFT loss. Ranges are matched
 * to tokens by encoding piece by piece (widened over the whitespace before them); a tokenizer whose tokens straddle
 * a range's edge leaves the example unweighted. End to end, the marked toy verifier's verdict tokens change the loss,
 * and a verifier that marks nothing, or a config with no warm starts, is refused with the key to change.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import * as Emphasis from "../src/internal/emphasis.ts"
import type { Engine } from "../src/internal/engine.ts"
import * as Supervised from "../src/internal/supervised.ts"
import * as Toy from "./fixtures/toy.ts"

/** One token per character. */
const chars = (text: string) => [...text].map((c) => c.charCodeAt(0))
/** One token per word with the spaces before it (`" correct"`), as byte-level BPE pre-tokenizers split. */
const words = (text: string) =>
  (text.match(/\s*\S+|\s+$/g) ?? []).map((w) => w.length * 1000 + w.charCodeAt(w.length - 1))

describe("Emphasis.tokenWeights", () => {
  const text = "Answer: 7\nRoute A: answer 7 vs 7, correct\nRoute B: answer 5 vs 7, wrong at step 2"
  const spans = ["correct", "wrong"].map((w) => ({ start: text.indexOf(w), end: text.indexOf(w) + w.length }))

  it("weighs exactly the characters of each range with a character tokenizer", () => {
    const weights = Emphasis.tokenWeights(chars, text, chars(text), spans, 10)!
    assert.lengthOf(weights, text.length)
    const heavy = [...text].filter((_, i) => weights[i] === 10).join("")
    // The whitespace before each range is widened into it.
    assert.strictEqual(heavy, " correct wrong")
    assert.isTrue(weights.every((w) => w === 1 || w === 10))
  })

  it("weighs the word tokens that carry a leading space", () => {
    const weights = Emphasis.tokenWeights(words, text, words(text), spans, 4)!
    const tokens = text.match(/\s*\S+/g)!
    assert.lengthOf(weights, tokens.length)
    assert.deepStrictEqual(
      tokens.filter((_, i) => weights[i] === 4),
      [" correct", " wrong"]
    )
  })

  it("returns undefined when a token straddles a range's edge", () => {
    // "correct," is one token here, so the range "correct" ends inside it.
    const glued = "Route A: answer 7 vs 7, correct, then more"
    const span = { start: glued.indexOf("correct"), end: glued.indexOf("correct") + 7 }
    assert.isUndefined(Emphasis.tokenWeights(words, glued, words(glued), [span], 4))
  })

  it("sorts ranges, clips them to the text and drops empty ones", () => {
    const weights = Emphasis.tokenWeights(
      chars,
      "ab cd",
      chars("ab cd"),
      [
        { start: 3, end: 99 },
        { start: 0, end: 0 }
      ],
      2
    )!
    assert.deepStrictEqual(weights, [1, 1, 2, 2, 2])
  })
})

describe("Supervised.tokenize with emphasis", () => {
  /** Characters as tokens, then EOS (0). */
  const engine = {
    encodePrompt: () => Effect.succeed([1]),
    encodeCompletion: (text: string) => [...[...text].map((c) => c.charCodeAt(0)), 0]
  } as unknown as Engine
  const completion = "A ok B no 7"
  const example = {
    problemId: "p",
    prompt: { problemId: "p", messages: [], guidance: { mode: "assisted" as const, strength: 1, routeIds: [] } },
    completion,
    kind: "warm" as const,
    emphasis: [
      { start: 2, end: 4 },
      { start: 7, end: 9 }
    ]
  }

  it.effect("weighs exactly the marked tokens (with the space before each) and leaves EOS at 1", () =>
    Effect.gen(function* () {
      const set = yield* Supervised.tokenize(engine, [example], 100, 6)
      const weights = set.examples[0]?.weights ?? []
      assert.lengthOf(weights, completion.length + 1)
      assert.strictEqual([...completion].filter((_, i) => weights[i] === 6).join(""), " ok no")
      assert.strictEqual(weights.at(-1), 1, "EOS")
      assert.strictEqual(set.unaligned, 0)
      // Weight 1 leaves examples unweighted.
      assert.isUndefined((yield* Supervised.tokenize(engine, [example], 100, 1)).examples[0]?.weights)
    })
  )
})

/** The toy verifier with its verdict words (`ok` / `no`) marked. */
const markingVerifier = Toy.verifierLayerWith({
  example: (request) =>
    Effect.map(Toy.verifier.example(request), (ex) => ({
      ...ex,
      emphasis: [...ex.completion.matchAll(/\b(ok|no)\b/g)].map((m) => ({ start: m.index, end: m.index + 2 }))
    }))
})

const sftConfig = (emphasis: number) => Toy.warmStartConfig({ steps: 2 }, { ratio: 1, emphasis })

describe("SFT with sft.warmStart.emphasis", () => {
  it.effect(
    "weighs the marked tokens: every warm start aligns, and the first loss differs from the unweighted one",
    () =>
      Effect.gen(function* () {
        const { dir, corpus } = yield* Toy.modelAndCorpus(16)
        const run = (emphasis: number, out: string) =>
          Toy.sftMetrics(dir, corpus, out, sftConfig(emphasis)).pipe(Effect.provide(markingVerifier))
        const plain = yield* run(1, "plain")
        const weighted = yield* run(8, "weighted")
        assert.strictEqual(weighted[0]?.["emphasis_unaligned"], 0)
        assert.isUndefined(plain[0]?.["emphasis_unaligned"], "no emphasis, no count")
        assert.isAbove(Math.abs((weighted[0]?.["loss"] as number) - (plain[0]?.["loss"] as number)), 1e-4)
      }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, Toy.judgeLayer, Toy.rescuingCurriculum)))
  )

  it.effect("a verifier that marks nothing is refused before the model loads, naming the key", () =>
    Toy.assertSftRefused(sftConfig(8), "sft.warmStart.emphasis is 8, but the verifier marks no decision")
  )

  it("emphasis without warm starts is a config error", () => {
    assert.throws(
      () => TrainerConfig.decodeSync({ sft: { warmStart: { emphasis: 8 } } }),
      /emphasis \(8\) weighs tokens of warm starts and drills, but ratio and drills are 0/
    )
    assert.doesNotThrow(() => TrainerConfig.decodeSync({ sft: { warmStart: { drills: 10, emphasis: 8 } } }))
    assert.throws(
      () => TrainerConfig.decodeSync({ sft: { warmStart: { ratio: 0.25, emphasis: 0 } } }),
      /\["sft"\]\["warmStart"\]\["emphasis"\]/
    )
  })
})
