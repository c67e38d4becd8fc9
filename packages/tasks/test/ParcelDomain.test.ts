import { assert, describe, it } from "@effect/vitest"
import { StepProgram as Format, TaskSource } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { ConfigProvider, Effect, Result, Schema, Stream } from "effect"

import * as Generated from "../src/internal/generated.ts"
import * as ParcelDomain from "../src/ParcelDomain.ts"
import * as StepProgram from "../src/StepProgram.ts"

const config = ParcelDomain.decodeConfig({ levels: [1, 2, 3, 4, 5] })
const gen = (split: Problem.Split, n: number, c = config): Array<Problem.Problem> =>
  Array.from({ length: n }, (_, i) => Result.getOrThrow(ParcelDomain.generate(c, split, i)))

const combos = (problems: ReadonlyArray<Problem.Problem>) =>
  new Set(problems.map((p) => p.metadata.combination as string))

describe("ParcelDomain", () => {
  const train = gen("train", 1500)
  const heldout = gen("heldout", 400)

  it("is deterministic in the seed and changes with it", () => {
    assert.deepStrictEqual(gen("train", 20), train.slice(0, 20))
    const other = gen("train", 20, ParcelDomain.decodeConfig({ levels: [1, 2, 3, 4, 5], seed: 1 }))
    assert.notDeepEqual(
      other.map((p) => p.question),
      train.slice(0, 20).map((p) => p.question)
    )
  })

  it("gold answers and steps are the solver's: re-evaluating the stored program reproduces them", () => {
    for (const p of [...train.slice(0, 300), ...heldout.slice(0, 100)]) {
      const program = Schema.decodeUnknownSync(Format.StepProgram)(p.metadata.program)
      const solved = StepProgram.solve(program)
      assert.strictEqual(String(solved.answer), p.gold)
      assert.deepStrictEqual(solved.steps, p.goldSteps)
      assert.isTrue(Number.isInteger(Number(p.gold)))
    }
  })

  it("keeps level 1 compact and learnable: short questions and steps, small integers, no exceptions", () => {
    const level1 = train.filter((p) => p.difficulty === 1)
    assert.isAbove(level1.length, 200)
    for (const p of level1) {
      assert.isAtMost(p.question.length, 60)
      assert.isAtMost(p.goldSteps?.length ?? NaN, 3)
      assert.isBelow(Number(p.gold), 40)
      assert.strictEqual(p.metadata.exceptions, 0)
      for (const step of p.goldSteps ?? []) assert.isAtMost(step.length, 24)
    }
  })

  it("makes the difficulty knobs real: more rules, more exceptions and bigger numbers at each level", () => {
    const stats = [1, 2, 3, 4, 5].map((level) => {
      const ps = train.filter((p) => p.difficulty === level)
      const mean = (f: (p: Problem.Problem) => number) => ps.reduce((s, p) => s + f(p), 0) / ps.length
      return {
        steps: mean((p) => p.goldSteps?.length ?? 0),
        exceptions: mean((p) => p.metadata.exceptions as number),
        gold: mean((p) => Number(p.gold))
      }
    })
    for (let i = 1; i < stats.length; i++) {
      assert.isAbove(stats[i]!.steps, stats[i - 1]!.steps)
      assert.isAbove(stats[i]!.gold, stats[i - 1]!.gold)
      assert.isAtLeast(stats[i]!.exceptions, stats[i - 1]!.exceptions)
    }
    assert.isAtLeast(stats[4]!.exceptions, 2)
    assert.isAbove(stats[4]!.steps, 8)
  })

  it("holds out rule combinations: no held-out combination in train/validation/test, every held-out rule seen in train", () => {
    const seen = new Set([...combos(train), ...combos(gen("validation", 300)), ...combos(gen("test", 300))])
    const held = combos(heldout)
    assert.isAbove(held.size, 40)
    for (const combo of held) {
      assert.isFalse(seen.has(combo))
      assert.isAtLeast(combo.split("+").length, 2)
    }
    // The definition is a fixed hash of the combination, the same for every seed.
    for (const combo of [...held].slice(0, 10)) assert.isTrue(Generated.isHeldout("parcel", combo.split("+"), 15))
    for (const combo of [...seen].slice(0, 50)) assert.isFalse(Generated.isHeldout("parcel", combo.split("+"), 15))
    const trainRules = new Set(train.flatMap((p) => (p.metadata.combination as string).split("+")))
    for (const combo of held) for (const rule of combo.split("+")) assert.isTrue(trainRules.has(rule))
    assert.isTrue(heldout.every((p) => p.difficulty >= 2))
  })

  it("never puts the same question in two of train/validation/test", () => {
    const trainQ = new Set(train.map((p) => p.question))
    for (const p of [...gen("validation", 300), ...gen("test", 300)]) assert.isFalse(trainQ.has(p.question))
  })

  it.effect(
    "evaluation splits hold each question once; train may repeat; a split too small for its count fails naming the fix",
    () =>
      Effect.gen(function* () {
        // Levels 1-2 with 10% of the question hash space give test only a few dozen distinct questions.
        const small = ParcelDomain.decodeConfig({
          levels: [1, 2],
          counts: { train: 300, validation: 0, test: 60, heldout: 60, transfer: 0 }
        })
        const test = yield* Stream.runCollect(ParcelDomain.problems(small, "test"))
        assert.strictEqual(test.length, 60)
        assert.strictEqual(new Set(test.map((p) => p.question)).size, 60)
        assert.strictEqual(new Set(test.map((p) => p.id)).size, 60)
        const held = yield* Stream.runCollect(ParcelDomain.problems(small, "heldout"))
        assert.strictEqual(new Set(held.map((p) => p.question)).size, 60)
        const trained = yield* Stream.runCollect(ParcelDomain.problems(small, "train"))
        assert.strictEqual(trained.length, 300)
        assert.isBelow(new Set(trained.map((p) => p.question)).size, 300, "train repeats level-1 questions")
        const tooMany = ParcelDomain.decodeConfig({ levels: [1], counts: { test: 30 } })
        const error = yield* Effect.flip(Stream.runCollect(ParcelDomain.problems(tooMany, "test")))
        assert.match(
          error.message,
          /found only 7 distinct test questions at levels \[1\] in 1200 draws, but counts\.test asks 30: lower counts\.test, raise testPercent/
        )
        // The same stream value run again gives the same problems (each run has its own memory of questions).
        const stream = ParcelDomain.problems(small, "test")
        assert.deepStrictEqual(yield* Stream.runCollect(stream), yield* Stream.runCollect(stream))
        // Raw draws may repeat when asked to.
        const repeats = yield* Stream.runCollect(
          ParcelDomain.problems(
            ParcelDomain.decodeConfig({ levels: [1], counts: { test: 30 }, distinct: false }),
            "test"
          )
        )
        assert.strictEqual(repeats.length, 30)
      })
  )

  it("builds the transfer split under tariff T2, with its own rulebook and question prefix", () => {
    for (const p of gen("transfer", 50)) {
      assert.isTrue(p.question.startsWith("Parcel T2:"))
      assert.strictEqual(p.metadata.tariff, "T2")
      assert.include(p.rulebook, "Parcel tariff T2")
    }
    assert.include(train[0]?.rulebook, "Parcel tariff T1")
  })

  it("levelLimits bound one level's quantities and leave the other levels' problems as they were", () => {
    const limited = ParcelDomain.decodeConfig({
      levels: [1, 2, 3, 4, 5],
      levelLimits: { "5": { countMax: 3, insuredMax: 400 } }
    })
    const parcels = (p: Problem.Problem) => Number(/(\d+) parcels/.exec(p.question)?.[1] ?? "1")
    const insured = (p: Problem.Problem) => Number(/insured (\d+)/.exec(p.question)?.[1] ?? "0")
    const level5 = (ps: ReadonlyArray<Problem.Problem>) => ps.filter((p) => p.difficulty === 5)
    const bounded = gen("train", 600, limited)
    assert.isAbove(level5(bounded).length, 100)
    for (const p of level5(bounded)) {
      assert.isAtMost(parcels(p), 3, p.question)
      assert.isAtMost(insured(p), 400, p.question)
      assert.notInclude(p.goldSteps!.join("\n"), "bulk", p.question)
    }
    const plain = train.slice(0, 600)
    assert.isTrue(
      level5(plain).some((p) => parcels(p) > 3),
      "without limits level 5 has more parcels"
    )
    assert.deepStrictEqual(
      bounded.filter((p) => p.difficulty !== 5).map((p) => p.question),
      plain.filter((p) => p.difficulty !== 5).map((p) => p.question),
      "the other levels draw the same problems"
    )
    assert.throws(() => ParcelDomain.decodeConfig({ levelLimits: { "5": { countMax: 0 } } }), /countMax/)
  })

  it("rejects bad configs with the field path", () => {
    assert.throws(() => ParcelDomain.decodeConfig({ levels: [6] }), /levels/)
    assert.throws(() => ParcelDomain.decodeConfig({ heldoutPercent: 0 }), /heldoutPercent/)
    assert.throws(() => ParcelDomain.decodeConfig({ validationPercent: 50, testPercent: 50 }), /testPercent/)
  })

  it.effect("serves a TaskSource from config (tasks.parcel) and streams each split", () =>
    Effect.gen(function* () {
      const source = yield* TaskSource.TaskSource
      const problems = yield* Stream.runCollect(source.problems("test"))
      assert.strictEqual(problems.length, 7)
      assert.isTrue(problems.every((p) => p.split === "test" && p.id.startsWith("parcel/test/")))
    }).pipe(
      Effect.provide(ParcelDomain.layer),
      Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ tasks: { parcel: { counts: { test: 7 } } } })))
    )
  )
})
