/**
 * Warm starts drawn afresh per epoch (`sft.warmStart.redraw`, `internal/warmRedraw.ts`): plain examples stay, each
 * epoch's warm slots hold that epoch's draw, epoch 0 is the fixed draw, a too-long redraw keeps epoch 0's example,
 * an epoch read before it was drawn is a defect, and `Sft.examples` draws differ by epoch and repeat per seed.
 */
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { assert, describe, it } from "vitest"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import type * as Data from "../src/internal/data.ts"
import type { TextExample } from "../src/internal/data.ts"
import type { Engine } from "../src/internal/engine.ts"
import * as Supervised from "../src/internal/supervised.ts"
import * as WarmRedraw from "../src/internal/warmRedraw.ts"
import * as Toy from "./fixtures/toy.ts"

/** Tokenization by character code: all `tokenize` needs of an engine. */
const charEngine = {
  encodePrompt: (prompt: TextExample["prompt"]) =>
    Effect.succeed([...(prompt.messages[0]?.content ?? "")].map((c) => c.charCodeAt(0))),
  encodeCompletion: (text: string) => [...text].map((c) => c.charCodeAt(0))
} as unknown as Engine

const text = (completion: string, kind: "plain" | "warm"): TextExample => ({
  problemId: "p",
  prompt: {
    problemId: "p",
    messages: [{ role: "user", content: "q" }],
    guidance: { mode: "autonomous", strength: 0, routeIds: [] }
  },
  completion,
  kind
})

const completionOf = (t: Supervised.Tokenized): string => String.fromCharCode(...t.completion)

describe("WarmRedraw", () => {
  const setUp = (draw: (epoch: number) => Array<TextExample>) =>
    Effect.runSync(
      Effect.gen(function* () {
        const tokenized = yield* Supervised.tokenize(
          charEngine,
          [text("p0", "plain"), text("p1", "plain"), text("w0a", "warm"), text("w0b", "warm")],
          8
        )
        const plain = tokenized.examples.filter((e) => e.kind === "plain")
        const warm = tokenized.examples.filter((e) => e.kind === "warm")
        return WarmRedraw.make(charEngine, plain, warm, (epoch) => Effect.succeed(draw(epoch)), 8)
      })
    )

  it("keeps the plain examples and fills the warm slots from each epoch's draw", () => {
    const r = setUp((e) => [text(`w${e}a`, "warm"), text(`w${e}b`, "warm")])
    assert.strictEqual(r.source.count, 4)
    Effect.runSync(r.prepare([1, 2]))
    assert.deepStrictEqual(
      [0, 1, 2, 3].map((i) => completionOf(r.source.at(0, i))),
      ["p0", "p1", "w0a", "w0b"]
    )
    assert.deepStrictEqual(
      [0, 1, 2, 3].map((i) => completionOf(r.source.at(2, i))),
      ["p0", "p1", "w2a", "w2b"]
    )
    Effect.runSync(r.prepare([3]))
    assert.throws(() => r.source.at(1, 2), /epoch 1 read before/)
    assert.strictEqual(completionOf(r.source.at(0, 3)), "w0b")
  })

  it("a redrawn example longer than the largest bucket keeps epoch 0's example in its slot", () => {
    const r = setUp((e) => [text(`w${e}-much-too-long`, "warm"), text(`w${e}b`, "warm")])
    Effect.runSync(r.prepare([1]))
    assert.deepStrictEqual(
      [2, 3].map((i) => completionOf(r.source.at(1, i))),
      ["w1b", "w0b"]
    )
  })

  it("epochsAhead names every epoch the next batch reads", () => {
    assert.deepStrictEqual(Supervised.epochsAhead({ epoch: 0, index: 0 }, 10, 10), [0])
    assert.deepStrictEqual(Supervised.epochsAhead({ epoch: 0, index: 5 }, 10, 6), [0, 1])
    assert.deepStrictEqual(Supervised.epochsAhead({ epoch: 3, index: 1 }, 4, 9), [3, 4, 5])
    assert.deepStrictEqual(Supervised.epochsAhead({ epoch: 2, index: 4 }, 10, 1), [2])
  })

  it("Sft.examples: epoch 0's draw is the training set's warm starts, later epochs draw other routes, each draw repeats", () => {
    const config = TrainerConfig.decodeSync({
      seed: 5,
      sft: { heldOutFraction: 0, warmStart: { ratio: 1, minRoutes: 1, maxRoutes: 2, redraw: true } }
    })
    const corpus: Data.Corpus = { path: "toy", records: Toy.records(Toy.problems(30)), pairs: [] }
    const run = () => Effect.runSync(Sft.examples(Toy.verifier, corpus, config))
    const { train, warmDraw } = run()
    const warm = train.filter((e) => e.kind === "warm")
    const key = (es: ReadonlyArray<TextExample>) =>
      es.map((e) => `${JSON.stringify(e.prompt.messages)}→${e.completion}`)
    assert.strictEqual(warm.length, 30)
    assert.lengthOf(key(Effect.runSync(warmDraw(1))), 30)
    assert.notDeepEqual(key(Effect.runSync(warmDraw(1))), key(warm))
    assert.deepStrictEqual(key(Effect.runSync(warmDraw(1))), key(Effect.runSync(run().warmDraw(1))))
    assert.notDeepEqual(key(Effect.runSync(warmDraw(2))), key(Effect.runSync(warmDraw(1))))
    assert.notStrictEqual(Rng.Rng.make(5, "sft", "warm-start", 1).seed(), Rng.Rng.make(5, "sft", "warm-start").seed())
  })
})
