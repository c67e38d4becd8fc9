import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import * as fc from "fast-check"
import { Rng } from "@realm-lm/core"
import * as BuiltinTokenizer from "../src/BuiltinTokenizer.ts"
import * as Tokenizer from "../src/Tokenizer.ts"
import { tempDir } from "./support.ts"

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.provide(effect, NodeServices.layer)

/** A deterministic toy corpus: short arithmetic word problems. */
const corpus = (n: number): Array<string> => {
  const rng = Rng.Rng.make("builtin-tokenizer-corpus")
  const names = ["Lily", "Tom", "Ana", "Bob", "Zoë"]
  const things = ["apples", "pears", "coins", "books"]
  return Array.from({ length: n }, () => {
    const a = rng.int(100),
      b = rng.int(100)
    return `${rng.pick(names)} has ${a} ${rng.pick(things)} and gets ${b} more. How many now? ${a} + ${b} = ${a + b}.\n`
  })
}

const probes = [
  "Lily has 12 apples and gets 7 more.",
  "  leading spaces, trailing spaces   ",
  "tabs\tand\nnew\n\nlines\r\n",
  "Zoë’s café — naïve ☕ 😀 日本語",
  "<|im_start|>user\nWhat is 3+4?<|im_end|>\n<|im_start|>assistant\n",
  "x<|endoftext|>y<|endoftext|>",
  "can't won't I'm you're they've we'll he'd",
  "1234567890 3.14159 -42",
  "",
  "\u0000\u0001 control"
]

describe("BuiltinTokenizer", () => {
  const tok = BuiltinTokenizer.train(corpus(400), { ...BuiltinTokenizer.defaultTrainConfig, vocabSize: 300 })

  it("trains to the requested size, deterministically, with specials first and single-digit tokens", () => {
    assert.strictEqual(tok.tokens.length, 300)
    assert.deepStrictEqual(tok.tokens.slice(0, 3), ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    assert.deepStrictEqual(
      BuiltinTokenizer.train(corpus(400), { ...BuiltinTokenizer.defaultTrainConfig, vocabSize: 300 }),
      tok
    )
    assert.isFalse(
      tok.tokens.some((t) => /\d\d/.test(t)),
      "digits are never merged together"
    )
    assert.isTrue(tok.tokens.includes("Ġapples"), "frequent words become single tokens")
    const bytesOnly = BuiltinTokenizer.train(corpus(10), { ...BuiltinTokenizer.defaultTrainConfig, vocabSize: 259 })
    assert.strictEqual(bytesOnly.merges.length, 0)
    assert.strictEqual(BuiltinTokenizer.encode(bytesOnly, "hé").length, 3) // h + two UTF-8 bytes
  })

  it("decode inverts encode for any text (property) and special strings map to their ids", () => {
    for (const p of probes)
      assert.strictEqual(BuiltinTokenizer.decode(tok, BuiltinTokenizer.encode(tok, p)), p, JSON.stringify(p))
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 60 }),
        (s) => BuiltinTokenizer.decode(tok, BuiltinTokenizer.encode(tok, s)) === s
      ),
      { seed: 3, numRuns: 300 }
    )
    const ids = BuiltinTokenizer.encode(tok, "a<|im_end|>b")
    assert.include(ids, 2)
    assert.strictEqual(BuiltinTokenizer.decode(tok, ids, { skipSpecialTokens: true }), "ab")
    const sample = corpus(1)[0]!
    assert.isBelow(
      BuiltinTokenizer.encode(tok, sample).length,
      0.6 * new TextEncoder().encode(sample).length,
      "merges compress"
    )
  })

  it.effect("transformers.js loads the written files and tokenizes exactly like the built-in encoder", () =>
    run(
      Effect.gen(function* () {
        const dir = tempDir()
        yield* BuiltinTokenizer.save(dir, tok, 256)
        const hf = yield* Tokenizer.load(dir)
        assert.strictEqual(hf.vocabSize, 300)
        assert.deepStrictEqual([hf.bosTokenId, hf.eosTokenId, hf.padTokenId], [0, 2, 0])
        const texts = [...probes, ...corpus(30)]
        for (const text of texts) {
          const ours = BuiltinTokenizer.encode(tok, text)
          assert.deepStrictEqual(hf.encode(text), ours, JSON.stringify(text))
          assert.strictEqual(hf.decode(ours), text, JSON.stringify(text))
        }
        const prompt = yield* hf.applyChatTemplate([
          { role: "system", content: "Be brief." },
          { role: "user", content: "2+2?" }
        ])
        assert.strictEqual(
          prompt,
          "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
        )
        assert.deepStrictEqual(yield* BuiltinTokenizer.read(dir), tok)
      })
    )
  )

  it("TrainConfig rejects a vocabulary too small for bytes and specials, and duplicate specials", () => {
    const decode = Schema.decodeUnknownResult(BuiltinTokenizer.TrainConfig)
    assert.isTrue(Result.isFailure(decode({ vocabSize: 257, minFrequency: 2, specialTokens: ["<a>", "<b>"] })))
    assert.isTrue(Result.isFailure(decode({ vocabSize: 300, minFrequency: 2, specialTokens: ["<a>", "<a>"] })))
    assert.isTrue(Result.isSuccess(decode({ vocabSize: 258, minFrequency: 1, specialTokens: ["<a>", "<b>"] })))
  })

  it.effect("read rejects a tokenizer.json it did not write", () =>
    run(
      Effect.gen(function* () {
        const dir = tempDir()
        yield* BuiltinTokenizer.save(dir, tok)
        const { writeFileSync, readFileSync } = yield* Effect.promise(() => import("node:fs"))
        const json = JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")) as { pre_tokenizer: unknown }
        json.pre_tokenizer = { type: "Whitespace" }
        writeFileSync(`${dir}/tokenizer.json`, JSON.stringify(json))
        const error = yield* Effect.flip(BuiltinTokenizer.read(dir))
        assert.strictEqual(error._tag, "NotABuiltinTokenizer")
      })
    )
  )
})
