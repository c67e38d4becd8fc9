import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import * as Llama2c from "../src/Llama2c.ts"
import * as Tok from "../src/Llama2cTokenizer.ts"
import * as ReferenceModel from "../src/ReferenceModel.ts"
import * as Weights from "../src/Weights.ts"
import { stories260KHeader, tempDir } from "./support.ts"

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.provide(effect, NodeServices.layer)
const stories = SharedData.sharedDataFile("stories260K", "stories260K.bin")
const dir = stories === undefined ? "" : join(stories, "..")
const storiesIt = it.effect.skipIf(stories === undefined)
const storiesName = (name: string) =>
  stories === undefined ? `${name} (${SharedData.missingReason("stories260K")})` : name

/** llama2.c's xorshift64* `random_f32` (run.c), to replay its sampler's coins. Test-only: the library uses core Rng. */
const runCCoins = (seed: bigint) => {
  let state = seed
  const mask = (1n << 64n) - 1n
  return () => {
    state ^= state >> 12n
    state = (state ^ (state << 25n)) & mask
    state ^= state >> 27n
    const u32 = Number(((state * 0x2545f4914f6cdd1dn) & mask) >> 32n)
    return (u32 >>> 8) / 16777216
  }
}

const load = () =>
  run(
    Effect.gen(function* () {
      const { config, weights, header } = yield* Llama2c.read(join(dir, "stories260K.bin"))
      const tok = yield* Tok.read(join(dir, "tok512.bin"), config.vocabSize)
      return { config, weights, header, tok, model: ReferenceModel.make(config, weights) }
    })
  )

describe("Llama2c: stories260K against llama2.c's recorded outputs", () => {
  const reference = () =>
    JSON.parse(readFileSync(join(dir, "reference", "derived_greedy_tokens_logits.json"), "utf8")) as {
      greedy_tokens_from_bos: Array<number>
      logits_pos0_to_3: Array<Array<number>>
      argmax_pos0_to_3: Array<number>
    }

  storiesIt(storiesName("reads the header as SOURCES.md documents it (tied, GQA 8/4, 260,032 parameters)"), () =>
    Effect.gen(function* () {
      const { config, header, weights } = yield* load()
      assert.deepStrictEqual(header, stories260KHeader)
      assert.isTrue(config.tieWordEmbeddings)
      assert.strictEqual(config.headDim, 8)
      assert.strictEqual(Weights.count(weights), 260_032)
    })
  )

  storiesIt(storiesName("greedy from BOS reproduces run.c -t 0 -n 200 and -n 256 byte for byte"), () =>
    Effect.gen(function* () {
      const { model, tok } = yield* load()
      const g = ReferenceModel.generate(model, [Tok.bos], { maxNewTokens: 256, stopTokens: [Tok.bos] })
      const tokens = [Tok.bos, ...g.tokens]
      assert.deepStrictEqual(tokens, reference().greedy_tokens_from_bos)
      const n200 = Tok.runCOutput(tok, tokens.slice(0, 201))
      assert.deepStrictEqual(Buffer.from(n200), readFileSync(join(dir, "reference", "greedy_t0_n200.expected.txt")))
      const n256 = Buffer.concat([Tok.runCOutput(tok, tokens), Buffer.from("\n")])
      assert.deepStrictEqual(n256, readFileSync(join(dir, "reference", "greedy_t0_n256.expected.txt")))
    })
  )

  storiesIt(storiesName("logits at positions 0-3 match the derived reference within 1e-4"), () =>
    Effect.gen(function* () {
      const { model } = yield* load()
      const ref = reference()
      const logits = ReferenceModel.logits(model, ref.greedy_tokens_from_bos.slice(0, 4))
      for (let p = 0; p < 4; p++) {
        const row = ref.logits_pos0_to_3[p]!
        row.forEach((x, v) => assert.approximately(logits[p * 512 + v]!, x, 1e-4, `pos ${p} token ${v}`))
      }
    })
  )

  storiesIt(storiesName("temperature 1, top-p 0.9 with run.c's seed 133742 reproduces its sampled story"), () =>
    Effect.gen(function* () {
      const { model, tok } = yield* load()
      const s = ReferenceModel.generate(model, [Tok.bos], {
        maxNewTokens: 256,
        stopTokens: [Tok.bos],
        sampling: { temperature: 1, topK: 0, topP: 0.9 },
        coin: runCCoins(133742n)
      })
      const out = Buffer.concat([Tok.runCOutput(tok, [Tok.bos, ...s.tokens]), Buffer.from("\n")])
      assert.deepStrictEqual(out, readFileSync(join(dir, "reference", "sample_t1.0_p0.9_s133742_n256.expected.txt")))
    })
  )

  storiesIt(storiesName("rejects the Q8 version-2 file with a hint"), () =>
    run(
      Effect.gen(function* () {
        const error = yield* Effect.flip(Llama2c.read(join(dir, "stories260K_q8.bin")))
        assert.strictEqual(error._tag, "Llama2cFormatError")
        assert.include(error.message, "version 2")
      })
    )
  )
})

describe("Llama2c conversion", () => {
  it("permuteRotary turns adjacent-pair RoPE into transformers' rotate_half (same q·k for every position pair)", () => {
    const heads = 2,
      headDim = 8,
      cols = 5
    const rng = Rng.Rng.make("permute")
    const wq = Float32Array.from({ length: heads * headDim * cols }, () => rng.normal())
    const wk = Float32Array.from({ length: heads * headDim * cols }, () => rng.normal())
    const x = Float64Array.from({ length: cols }, () => rng.normal())
    const y = Float64Array.from({ length: cols }, () => rng.normal())
    const mv = (w: Float32Array, v: Float64Array) =>
      Float64Array.from({ length: heads * headDim }, (_, r) => v.reduce((s, vi, c) => s + w[r * cols + c]! * vi, 0))
    const freq = (i: number) => 1 / 10000 ** ((2 * i) / headDim)
    const pairs = (v: Float64Array, pos: number) => {
      // llama2.c: rotate (2i, 2i+1)
      const o = Float64Array.from(v)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < headDim / 2; i++) {
          const a = v[h * headDim + 2 * i]!,
            b = v[h * headDim + 2 * i + 1]!,
            t = pos * freq(i)
          o[h * headDim + 2 * i] = a * Math.cos(t) - b * Math.sin(t)
          o[h * headDim + 2 * i + 1] = a * Math.sin(t) + b * Math.cos(t)
        }
      return o
    }
    const halves = (v: Float64Array, pos: number) => {
      // transformers: rotate (i, i + d/2)
      const o = Float64Array.from(v)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < headDim / 2; i++) {
          const a = v[h * headDim + i]!,
            b = v[h * headDim + i + headDim / 2]!,
            t = pos * freq(i)
          o[h * headDim + i] = a * Math.cos(t) - b * Math.sin(t)
          o[h * headDim + i + headDim / 2] = a * Math.sin(t) + b * Math.cos(t)
        }
      return o
    }
    const dot = (a: Float64Array, b: Float64Array, h: number) => {
      let s = 0
      for (let i = 0; i < headDim; i++) s += a[h * headDim + i]! * b[h * headDim + i]!
      return s
    }
    const pq = Llama2c.permuteRotary(wq, heads, headDim, cols)
    const pk = Llama2c.permuteRotary(wk, heads, headDim, cols)
    for (const [pi, pj] of [
      [0, 0],
      [3, 1],
      [17, 9]
    ] as const) {
      for (let h = 0; h < heads; h++) {
        const original = dot(pairs(mv(wq, x), pi), pairs(mv(wk, y), pj), h)
        const converted = dot(halves(mv(pq, x), pi), halves(mv(pk, y), pj), h)
        assert.approximately(converted, original, 1e-9)
      }
    }
  })

  const legacyFile = (header: ReadonlyArray<number>, floats: number) => {
    const bytes = new Uint8Array(28 + 4 * floats)
    const view = new DataView(bytes.buffer)
    header.forEach((v, i) => view.setInt32(4 * i, v, true))
    return bytes
  }
  const small = [8, 12, 1, 2, 1, -16, 4] // untied (negative vocab), GQA 2/1, head size 4
  const smallFloats =
    (Llama2c.expectedSize({ dim: 8, hiddenDim: 12, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: -16, seqLen: 4 }) -
      28) /
    4

  it.effect("reads an untied legacy file (negative vocab_size) with a separate classifier", () =>
    run(
      Effect.gen(function* () {
        const bytes = legacyFile(small, smallFloats)
        const floats = new Float32Array(bytes.buffer, 28)
        floats[floats.length - 1] = 7 // last wcls element
        const path = join(tempDir(), "untied.bin")
        writeFileSync(path, bytes)
        const { config, weights } = yield* Llama2c.read(path)
        assert.isFalse(config.tieWordEmbeddings)
        assert.strictEqual(config.numKvHeads, 1)
        const head = weights.get("lm_head.weight")
        assert.deepStrictEqual(head?.shape, [16, 8])
        assert.strictEqual(head?.data[head.data.length - 1], 7)
      })
    )
  )

  it.effect("rejects truncated, oversized and implausible files", () =>
    run(
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [Uint8Array, string]> = [
          [legacyFile(small, smallFloats).subarray(0, 100), "truncated"],
          [legacyFile(small, smallFloats + 3), "implies"],
          [legacyFile([8, 12, 1, 3, 1, 16, 4], smallFloats), "implausible"],
          [new Uint8Array(10), "shorter"]
        ]
        for (const [bytes, fragment] of cases) {
          const path = join(tempDir(), "bad.bin")
          writeFileSync(path, bytes)
          const error = yield* Effect.flip(Llama2c.read(path))
          assert.strictEqual(error._tag, "Llama2cFormatError")
          assert.include(error.message, fragment)
        }
      })
    )
  )
})
