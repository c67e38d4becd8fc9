/**
 * `sft.difficulties`, `rft.difficulties` and `rl.difficulties`: each phase trains only on corpus problems of the
 * listed difficulties (SftExample lines are kept), and a list that matches no problem fails before the model is
 * loaded, naming the key and the difficulties the corpus holds.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import type { CorpusRecord } from "@realm-lm/core"
import * as Rft from "../src/Rft.ts"
import * as Rl from "../src/Rl.ts"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import * as Data from "../src/internal/data.ts"
import * as Toy from "./fixtures/toy.ts"

const layers = Layer.mergeAll(NodeServices.layer, Toy.verifierLayer, Toy.judgeLayer, Toy.rescuingCurriculum)

/** Toy records whose problem `i` has difficulty `1 + (i % 3)`. */
const leveled = (n: number): Array<CorpusRecord.CorpusRecord> =>
  Toy.records(Toy.problems(n)).map((r, i) => ({ ...r, problem: { ...r.problem, difficulty: 1 + (i % 3) } }))

const pair: CorpusRecord.SftExample = {
  problemId: "pair-0",
  prompt: "Q: 1+1\nSolve.",
  completion: "Answer: 2"
}

describe("Data.withDifficulties", () => {
  const corpus: Data.Corpus = { path: "corpus.jsonl", records: leveled(9), pairs: [pair] }

  it.effect("keeps the records of the listed difficulties and every SftExample line", () =>
    Effect.gen(function* () {
      const kept = yield* Data.withDifficulties(corpus, [1, 3], "sft.difficulties")
      assert.deepStrictEqual(
        kept.records.map((r) => r.problem.difficulty),
        [1, 3, 1, 3, 1, 3]
      )
      assert.deepStrictEqual(kept.pairs, [pair])
    })
  )

  it.effect("no list keeps the corpus as it is", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Data.withDifficulties(corpus, undefined, "rl.difficulties"), corpus)
    })
  )

  it.effect("a list that matches nothing names the key and the difficulties the corpus holds", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Data.withDifficulties(corpus, [5], "rl.difficulties"))
      assert.include(error.message, "corpus.jsonl: rl.difficulties is [5], but none of the corpus' 9 problems")
      assert.include(error.message, "(it holds 1, 2, 3)")
      assert.include(error.message, "set rl.difficulties to difficulties the corpus holds")
    })
  )
})

describe("phases train on their difficulties only", () => {
  /** A phase run on `records` from a model directory that does not exist; the error it fails with. */
  const failure = <E extends { readonly _tag: string; readonly message: string }, R>(
    records: ReadonlyArray<CorpusRecord.CorpusRecord>,
    run: (request: { init: string; corpus: string; outDir: string; resume: boolean }) => Effect.Effect<unknown, E, R>
  ) =>
    Effect.gen(function* () {
      const dir = Toy.tempDir()
      const corpus = Toy.writeCorpus(join(dir, "corpus.jsonl"), records)
      return yield* Effect.flip(run({ init: join(dir, "missing"), corpus, outDir: join(dir, "out"), resume: false }))
    })

  it.effect("SFT, RFT and RL each fail on a difficulty the corpus lacks, naming their own key", () =>
    Effect.gen(function* () {
      const config = TrainerConfig.decodeSync({
        sft: { steps: 2, difficulties: [4] },
        rft: { difficulties: [4] },
        rl: { steps: 2, difficulties: [4] }
      })
      const errors = [
        ["sft.difficulties", yield* failure(leveled(6), (r) => Sft.train(r, config))],
        ["rft.difficulties", yield* failure(leveled(6), (r) => Rft.train(r, config))],
        ["rl.difficulties", yield* failure(leveled(6), (r) => Rl.train(r, config))]
      ] as const
      for (const [key, error] of errors) {
        assert.strictEqual(error._tag, "TrainingDataError", key)
        assert.include(error.message, `${key} is [4], but none of the corpus' 6 problems`)
      }
    }).pipe(Effect.provide(layers))
  )

  it.effect("SFT sees only the listed difficulties: positives elsewhere do not count", () =>
    Effect.gen(function* () {
      // Level 2 keeps only its negative routes; SFT restricted to it has nothing to imitate, though levels 1 and 3 do.
      const records = leveled(6).map((r) =>
        r.problem.difficulty === 2 ? { ...r, routes: r.routes.filter((x) => x.label === "negative") } : r
      )
      const config = TrainerConfig.decodeSync({ sft: { steps: 2, heldOutFraction: 0, difficulties: [2] } })
      const error = yield* failure(records, (r) => Sft.train(r, config))
      assert.strictEqual(error._tag, "TrainingDataError")
      assert.include(error.message, "none of its 2 routes over 2 problems reached the gold answer")
    }).pipe(Effect.provide(layers))
  )

  it("an empty list is a config error", () => {
    assert.throws(() => TrainerConfig.decodeSync({ rl: { difficulties: [] } }), /difficulties/)
  })

  it("rft.train.difficulties, which would do nothing, is a config error pointing at rft.difficulties", () => {
    assert.throws(
      () => TrainerConfig.decodeSync({ rft: { train: { difficulties: [5] } } }),
      /set rft\.difficulties[\s\S]*\["rft"\]\["train"\]\["difficulties"\]/
    )
  })
})
