import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { SharedData } from "@realm-lm/core/node"
import * as Tok from "../src/Llama2cTokenizer.ts"
import * as Tokenizer from "../src/Tokenizer.ts"
import { tempDir } from "./support.ts"
import { readVocabTests } from "./vocabTests.ts"

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.provide(effect, NodeServices.layer)
const tok512 = SharedData.sharedDataFile("stories260K", "tok512.bin")
const llama2 = SharedData.sharedDataFile("llama2c-tokenizer", "tokenizer.bin")
const spmTests = SharedData.sharedDataFile("tokenizers", "llamacpp-vocab-tests", "ggml-vocab-llama-spm.gguf.inp")
const named = (name: string, file: string | undefined, what: string) =>
  file === undefined ? `${name} (${SharedData.missingReason(what)})` : name

/**
 * A test of the tokenizer in `file` (`size` pieces): skipped when `file` or any of `needs` is missing, and then named
 * with the missing shared data `what`.
 */
const tokenizerIt = (
  name: string,
  tokenizer: { readonly file: string | undefined; readonly size: number; readonly what: string },
  body: (tok: Tok.Llama2cTokenizer) => Effect.Effect<void, unknown, NodeServices.NodeServices>,
  needs: ReadonlyArray<string | undefined> = []
) =>
  it.effect.skipIf(tokenizer.file === undefined || needs.includes(undefined))(
    named(name, tokenizer.file, tokenizer.what),
    () => run(Effect.flatMap(Tok.read(tokenizer.file as string, tokenizer.size), body))
  )
const tok512Tokenizer = { file: tok512, size: 512, what: "stories260K/tok512.bin" }
const llama2Tokenizer = { file: llama2, size: 32000, what: "llama2c-tokenizer/tokenizer.bin" }

describe("Llama2cTokenizer", () => {
  tokenizerIt("tok512: parses 512 pieces with run.c's special ids and byte pieces", tok512Tokenizer, (tok) =>
    Effect.sync(() => {
      assert.strictEqual(tok.maxTokenLength, 7)
      assert.strictEqual(new TextDecoder().decode(tok.pieces[1]), "\n<s>\n")
      assert.strictEqual(new TextDecoder().decode(tok.pieces[2]), "\n</s>\n")
      assert.strictEqual(new TextDecoder().decode(tok.pieces[3]), "<0x00>")
      assert.strictEqual(new TextDecoder().decode(tok.pieces[258]), "<0xFF>")
    })
  )

  tokenizerIt(
    "tok512: encode matches the reference ids and decode inverts it, byte fallback included",
    tok512Tokenizer,
    (tok) =>
      Effect.sync(() => {
        assert.deepStrictEqual(Tok.encode(tok, "Once upon a time"), [1, 403, 407, 261, 378])
        assert.deepStrictEqual(Tok.encode(tok, ""), [1])
        assert.deepStrictEqual(Tok.encode(tok, "", { bos: false, eos: true }), [2])
        for (const text of [
          "Once upon a time, Lily saw a big dog.",
          "naïve café ☕ 😀",
          "Tabs\tand\nnewlines  spaced",
          "{}[]<>|~"
        ]) {
          const ids = Tok.encode(tok, text)
          assert.strictEqual(Tok.decode(tok, ids), text, text)
        }
        // "é" is a piece (id 485); "ü" is not, so it falls back to its UTF-8 bytes C3 BC, ids 0xC3 + 3 and 0xBC + 3.
        assert.deepStrictEqual(Tok.encode(tok, "é", { bos: false }), [410, 485])
        assert.deepStrictEqual(Tok.encode(tok, "ü", { bos: false }), [410, 0xc3 + 3, 0xbc + 3])
        // run.c prints no lone non-printable byte; decode keeps them so UTF-8 survives.
        assert.deepStrictEqual(Tok.printable(Uint8Array.of(0xc3)), new Uint8Array(0))
        assert.deepStrictEqual(Tok.printable(Uint8Array.of(0x0a)), Uint8Array.of(0x0a))
      })
  )

  tokenizerIt("Llama 2 tokenizer.bin: reproduces llama2.c test.c's five prompt encodings", llama2Tokenizer, (tok) =>
    Effect.sync(() => {
      const cases = JSON.parse(
        readFileSync(
          SharedData.sharedDataFile("llama2c-tokenizer", "encode_tests_from_llama2c_test_c.json") as string,
          "utf8"
        )
      ) as {
        cases: Array<{ prompt: string; expected_tokens: Array<number> }>
      }
      assert.strictEqual(cases.cases.length, 5)
      for (const c of cases.cases) assert.deepStrictEqual(Tok.encode(tok, c.prompt), c.expected_tokens, c.prompt)
    })
  )

  tokenizerIt(
    "Llama 2 tokenizer.bin: all 46 llama.cpp llama-spm vectors (no BOS)",
    { ...llama2Tokenizer, what: "llama2c-tokenizer and llamacpp-vocab-tests" },
    (tok) =>
      Effect.sync(() => {
        const vectors = readVocabTests("llama-spm")
        assert.strictEqual(vectors.length, 46)
        for (const v of vectors)
          assert.deepStrictEqual(Tok.encode(tok, v.text, { bos: false }), v.ids, JSON.stringify(v.text))
      }),
    [spmTests]
  )

  for (const [label, tokenizer] of [
    ["tok512", tok512Tokenizer],
    ["Llama 2 tokenizer.bin", llama2Tokenizer]
  ] as const) {
    tokenizerIt(
      `${label} as tokenizer.json: transformers.js encodes like run.c and decodes back`,
      { ...tokenizer, what: `${label} and llamacpp-vocab-tests` },
      (tok) =>
        Effect.gen(function* () {
          const dir = tempDir()
          yield* Tok.saveHuggingFace(dir, tok)
          const hf = yield* Tokenizer.load(dir)
          assert.deepStrictEqual([hf.bosTokenId, hf.eosTokenId, hf.vocabSize], [1, 2, tokenizer.size])
          const texts = [
            ...readVocabTests("llama-spm").map((v) => v.text),
            "Once upon a time",
            'Lily said, "Let\'s go!"\n\nThe end.',
            "naïve café ☕ 😀"
          ]
          for (const text of texts) {
            const ids = Tok.encode(tok, text, { bos: false })
            assert.deepStrictEqual(hf.encode(text), ids, JSON.stringify(text))
            assert.strictEqual(hf.decode(ids), text, JSON.stringify(text))
          }
          assert.deepStrictEqual(
            hf.encode("Once upon a time", { addSpecialTokens: true }),
            Tok.encode(tok, "Once upon a time")
          )
        }),
      [spmTests]
    )
  }

  it.effect("rejects truncated and inconsistent tokenizer files", () =>
    Effect.gen(function* () {
      const entry = (score: number, piece: string) => {
        const p = new TextEncoder().encode(piece)
        const b = new Uint8Array(8 + p.length)
        new DataView(b.buffer).setFloat32(0, score, true)
        new DataView(b.buffer).setInt32(4, p.length, true)
        b.set(p, 8)
        return b
      }
      const header = new Uint8Array(4)
      new DataView(header.buffer).setInt32(0, 4, true)
      const good = new Uint8Array([...header, ...entry(0, "a"), ...entry(-1, "ab")])
      const ok = yield* Tok.parse(good, "good")
      assert.strictEqual(ok.pieces.length, 2)
      const cases: ReadonlyArray<readonly [Uint8Array, number | undefined, string]> = [
        [good.subarray(0, good.length - 1), undefined, "invalid length"],
        [good, 3, "holds 2 tokens"],
        [new Uint8Array([...header, ...entry(0, "toolong")]), undefined, "invalid length"],
        [new Uint8Array([0, 0, 0, 0]), undefined, "max_token_length"]
      ]
      for (const [bytes, vocab, fragment] of cases) {
        const error = yield* Effect.flip(Tok.parse(bytes, "bad", vocab))
        assert.include(error.message, fragment)
      }
    })
  )
})
