/**
 * The generation engine against ReferenceModel.generate: greedy and seeded sampling token for token with mixed
 * prompt lengths (left padding), cache growth and row compaction; run.c's stories260K outputs byte for byte;
 * log-prob semantics, stop criteria, prefix sharing and request validation.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import * as Generator from "../src/Generator.ts"
import * as Llama2c from "../src/Llama2c.ts"
import * as Tok from "../src/Llama2cTokenizer.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as ReferenceModel from "../src/ReferenceModel.ts"
import * as Sampling from "../src/Sampling.ts"
import { tinyFixtures } from "./fixtures/make-tiny.ts"
import { executorWith, fixtureDir, generateOne } from "./support.ts"

const stories = SharedData.sharedDataFile("stories260K", "stories260K.bin")
const storiesDir = stories === undefined ? "" : join(stories, "..")
const storiesName = (name: string) =>
  stories === undefined ? `${name} (${SharedData.missingReason("stories260K")})` : name
const prompts = [[1, 5, 9], [1], [1, 7, 3, 30, 12, 12, 5, 0, 19, 4, 31], [3, 4]]
/** Small buckets so a 30-token generation grows the cache twice and compacts finished rows. */
const smallBuckets = { promptBuckets: [4, 8, 16], capacityBuckets: [8, 16, 32], batchBuckets: [1, 2, 4] }

/** A stand-in decoder for stop strings: each id as a letter. */
const decode = (ids: ReadonlyArray<number>) => ids.map((t) => String.fromCharCode(65 + (t % 26))).join("")

/** A fixture model on a CPU executor, with its generator (engine `settings`) and its reference model. */
const fixture = (dir: string, settings?: Generator.GeneratorConfig) =>
  Effect.gen(function* () {
    const { config, weights } = yield* Pretrained.load(fixtureDir(dir))
    const gen = yield* Generator.make(yield* executorWith(weights), config, settings)
    return { config, gen, ref: ReferenceModel.make(config, weights) }
  })

describe("Generator against ReferenceModel", () => {
  for (const f of tinyFixtures) {
    it.effect(
      `${f.dir}: greedy equals the reference token for token, log-probs within 1e-4, across growth and compaction`,
      () =>
        Effect.gen(function* () {
          const { gen, ref } = yield* fixture(f.dir, smallBuckets)
          const maxNew = [30, 3, 30, 12]
          const out = yield* gen.generate(
            prompts.map((prompt, i) => ({ prompt, maxNewTokens: maxNew[i]! })),
            { maxNewTokens: 1, stopTokens: [] }
          )
          prompts.forEach((p, i) => {
            const expected = ReferenceModel.generate(ref, p, { maxNewTokens: maxNew[i]! })
            const got = out[i]![0]!
            assert.deepStrictEqual(got.tokens, expected.tokens, `prompt ${i}`)
            got.logProbs.forEach((lp, k) => assert.approximately(lp, expected.logProbs[k]!, 1e-4))
            assert.strictEqual(got.finishReason, "length")
            assert.isTrue(got.samplingLogProbs.every((x) => x === 0))
          })
        }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
    )
  }

  it.effect("seeded sampling equals the reference driven by the same Rng stream, whatever the batch around it", () =>
    Effect.gen(function* () {
      const { gen, ref } = yield* fixture("tiny-llama", smallBuckets)
      const sampling = { temperature: 0.8, topK: 20, topP: 0.95 }
      const rng = Rng.Rng.make(7, "gen-test")
      const options = { maxNewTokens: 24, sampling, stopTokens: [] }
      const alone = yield* gen.generate([{ prompt: prompts[2]!, rng, samples: 3 }], options)
      const crowd = yield* gen.generate(
        [
          { prompt: [1, 2], rng: Rng.Rng.make(1) },
          { prompt: prompts[2]!, rng, samples: 3 }
        ],
        options
      )
      // Same tokens; log-probs agree to float32 rounding (GEMM blocking differs with the batch size).
      assert.deepStrictEqual(
        crowd[1]?.map((c) => c.tokens),
        alone[0]?.map((c) => c.tokens)
      )
      crowd[1]?.forEach((c, j) =>
        c.logProbs.forEach((lp, k) => assert.approximately(lp, alone[0]![j]!.logProbs[k]!, 1e-5))
      )
      for (let j = 0; j < 3; j++) {
        const expected = ReferenceModel.generate(ref, prompts[2]!, {
          maxNewTokens: 24,
          sampling,
          rng: rng.split("sample", j)
        })
        assert.deepStrictEqual(alone[0]?.[j]?.tokens, expected.tokens, `sample ${j}`)
      }
      assert.notDeepEqual(alone[0]?.[0]?.tokens, alone[0]?.[1]?.tokens, "samples of one prompt differ")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.effect(
    "logProbs are under the raw distribution (temperature 1); samplingLogProbs under the tempered, filtered one",
    () =>
      Effect.gen(function* () {
        const { config, gen, ref } = yield* fixture("tiny-qwen2")
        const sampling = { temperature: 0.7, topK: 5, topP: 0.9 }
        const c = yield* generateOne(gen, { prompt: [1, 4] }, { maxNewTokens: 10, sampling, seed: 3, stopTokens: [] })
        const logits = ReferenceModel.logits(ref, [1, 4, ...c.tokens])
        c.tokens.forEach((t, k) => {
          const row = logits.subarray((k + 1) * config.vocabSize, (k + 2) * config.vocabSize)
          assert.approximately(c.logProbs[k]!, Sampling.logProb(row, t), 1e-4)
          const cand = Sampling.candidates(row, sampling)
          const at = Array.from(cand.ids).indexOf(t)
          assert.isAtLeast(at, 0, "the sampled token is a candidate")
          assert.approximately(c.samplingLogProbs[k]!, Math.log(cand.probs[at]!), 1e-4)
        })
        assert.isTrue(c.samplingLogProbs.some((x, k) => Math.abs(x - c.logProbs[k]!) > 1e-3))
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})

describe("Generator stop criteria and validation", () => {
  it.effect(
    "stops at stop tokens (eos), stop strings (stop), max tokens and the context (length), like the reference",
    () =>
      Effect.gen(function* () {
        const { gen, ref } = yield* fixture("tiny-llama", smallBuckets)
        const free = ReferenceModel.generate(ref, [1, 5], { maxNewTokens: 20 })
        const stopAt = free.tokens[6]!
        const eos = yield* generateOne(gen, { prompt: [1, 5] }, { maxNewTokens: 20, stopTokens: [stopAt] })
        assert.deepStrictEqual(eos.tokens, free.tokens.slice(0, free.tokens.indexOf(stopAt) + 1))
        assert.strictEqual(eos.finishReason, "eos")
        // Stop once "<letters of tokens 3..4>" appears.
        const target = decode(free.tokens.slice(3, 5))
        const stop = yield* generateOne(
          gen,
          { prompt: [1, 5] },
          { maxNewTokens: 20, stopTokens: [], stopStrings: [target], decode }
        )
        assert.strictEqual(stop.finishReason, "stop")
        assert.isTrue(decode(stop.tokens).endsWith(target) || decode(stop.tokens).includes(target))
        assert.deepStrictEqual(stop.tokens, free.tokens.slice(0, stop.tokens.length))
        assert.isAtMost(stop.tokens.length, 5)
        // Context: the fixture holds 128 positions; a 120-token prompt can add 9 tokens (the last is never fed back).
        const long = Array.from({ length: 120 }, (_, i) => (i * 7) % 48)
        const ctx = yield* generateOne(gen, { prompt: long }, { maxNewTokens: 50, stopTokens: [] })
        assert.deepStrictEqual(ctx.tokens, ReferenceModel.generate(ref, long, { maxNewTokens: 50 }).tokens)
        assert.strictEqual(ctx.tokens.length, 9)
        assert.strictEqual(ctx.finishReason, "length")
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.effect(
    "per-request sampling and stop strings share one batch; onToken streams every token; an aborted request stops early",
    () =>
      Effect.gen(function* () {
        const { gen, ref } = yield* fixture("tiny-llama", smallBuckets)
        const sampling = { temperature: 0.9, topK: 0, topP: 0.9 }
        const rng = Rng.Rng.make(11, "per-request")
        const free = ReferenceModel.generate(ref, [1, 5], { maxNewTokens: 20 })
        const target = decode(free.tokens.slice(2, 4))
        const seen: Array<[number, number, string | undefined]> = []
        const controller = new AbortController()
        let abortedAt = -1
        const out = yield* gen.generate(
          [
            { prompt: [1, 5], stopStrings: [target] },
            {
              prompt: [1, 7, 3],
              sampling,
              rng,
              samples: 2,
              onToken: (j, tokens, finished) => seen.push([j, tokens.length, finished])
            },
            {
              prompt: [2, 9],
              signal: controller.signal,
              onToken: (_, tokens) => {
                if (tokens.length === 3) {
                  abortedAt = 3
                  controller.abort()
                }
              }
            }
          ],
          { maxNewTokens: 20, stopTokens: [], decode }
        )
        // Greedy with its own stop string, as alone.
        const alone = yield* generateOne(
          gen,
          { prompt: [1, 5] },
          { maxNewTokens: 20, stopTokens: [], stopStrings: [target], decode }
        )
        assert.deepStrictEqual(out[0]?.[0]?.tokens, alone.tokens)
        assert.strictEqual(out[0]?.[0]?.finishReason, "stop")
        // Sampled with its own settings, as the reference with the same streams.
        for (let j = 0; j < 2; j++) {
          const expected = ReferenceModel.generate(ref, [1, 7, 3], {
            maxNewTokens: 20,
            sampling,
            rng: rng.split("sample", j)
          })
          assert.deepStrictEqual(out[1]?.[j]?.tokens, expected.tokens, `sample ${j}`)
          const mine = seen.filter(([k]) => k === j)
          assert.deepStrictEqual(
            mine.map(([, n]) => n),
            Array.from({ length: 20 }, (_, k) => k + 1),
            "one call per token, in order"
          )
          assert.deepStrictEqual(
            mine.map(([, , f]) => f),
            [...Array.from({ length: 19 }, () => undefined), "length"],
            "the finish reason comes with the last token"
          )
        }
        assert.strictEqual(abortedAt, 3)
        // A listener that throws ends its own sample only.
        const [[thrown], [calm]] = (yield* gen.generate(
          [
            {
              prompt: [1, 5],
              onToken: (_, tokens) => {
                if (tokens.length === 2) throw new Error("listener bug")
              }
            },
            { prompt: [1, 5] }
          ],
          { maxNewTokens: 10, stopTokens: [] }
        )) as [[Generator.Completion], [Generator.Completion]]
        assert.strictEqual(thrown.tokens.length, 2)
        assert.strictEqual(calm.tokens.length, 10)
        assert.strictEqual(out[2]?.[0]?.tokens.length, 3, "the aborted request stopped at the next step")
        assert.strictEqual(out[2]?.[0]?.finishReason, "length")
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.effect("rejects bad requests with InvalidGenerateRequest before any work", () =>
    Effect.gen(function* () {
      const { gen } = yield* fixture("tiny-llama")
      const fail = (requests: ReadonlyArray<Generator.Request>, options: Generator.GenerateOptions) =>
        Effect.flip(gen.generate(requests, options))
      assert.match((yield* fail([{ prompt: [] }], { maxNewTokens: 2 })).message, /prompt is empty/)
      assert.match((yield* fail([{ prompt: [1, 48] }], { maxNewTokens: 2 })).message, /outside \[0, 48\)/)
      assert.match(
        (yield* fail([{ prompt: [1] }], { maxNewTokens: 2, sampling: Sampling.pure })).message,
        /needs randomness/
      )
      assert.match((yield* fail([{ prompt: [1] }], { maxNewTokens: 2, stopStrings: ["x"] })).message, /need a decoder/)
      assert.match((yield* fail([{ prompt: [1] }], { maxNewTokens: 0 })).message, /maxNewTokens/)
      assert.match(
        (yield* fail([{ prompt: [1], sampling: { temperature: 1, topK: 0, topP: 0 } }], { maxNewTokens: 2, seed: 1 }))
          .message,
        /0 < topP <= 1/
      )
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})

describe("Generator on stories260K (llama2.c)", () => {
  const load = () =>
    Effect.gen(function* () {
      const { config, weights } = yield* Llama2c.read(stories as string)
      const tok = yield* Tok.read(join(storiesDir, "tok512.bin"), config.vocabSize)
      const gen = yield* Generator.make(yield* executorWith(weights), config)
      return { gen, tok }
    })

  it.effect.skipIf(stories === undefined)(
    storiesName("greedy from BOS reproduces run.c -t 0 -n 200 and -n 256 byte for byte"),
    () =>
      Effect.gen(function* () {
        const { gen, tok } = yield* load()
        const c = yield* generateOne(gen, { prompt: [Tok.bos] }, { maxNewTokens: 256, stopTokens: [Tok.bos] })
        const tokens = [Tok.bos, ...c.tokens]
        assert.deepStrictEqual(
          Buffer.from(Tok.runCOutput(tok, tokens.slice(0, 201))),
          readFileSync(join(storiesDir, "reference", "greedy_t0_n200.expected.txt"))
        )
        assert.deepStrictEqual(
          Buffer.concat([Tok.runCOutput(tok, tokens), Buffer.from("\n")]),
          readFileSync(join(storiesDir, "reference", "greedy_t0_n256.expected.txt"))
        )
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )

  it.effect.skipIf(stories === undefined)(
    storiesName("top-p 0.9 with run.c's xorshift coins (seed 133742) reproduces its sampled story"),
    () =>
      Effect.gen(function* () {
        const { gen, tok } = yield* load()
        // run.c's random_f32: xorshift64* from the seed, 24 bits per coin.
        let state = 133742n
        const mask = (1n << 64n) - 1n
        const coin = () => {
          state ^= state >> 12n
          state = (state ^ (state << 25n)) & mask
          state ^= state >> 27n
          return (Number(((state * 0x2545f4914f6cdd1dn) & mask) >> 32n) >>> 8) / 16777216
        }
        const c = yield* generateOne(
          gen,
          { prompt: [Tok.bos], coin },
          { maxNewTokens: 256, stopTokens: [Tok.bos], sampling: { temperature: 1, topK: 0, topP: 0.9 } }
        )
        const out = Buffer.concat([Tok.runCOutput(tok, [Tok.bos, ...c.tokens]), Buffer.from("\n")])
        assert.deepStrictEqual(
          out,
          readFileSync(join(storiesDir, "reference", "sample_t1.0_p0.9_s133742_n256.expected.txt"))
        )
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))
  )
})
