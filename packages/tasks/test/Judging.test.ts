import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { TaskSource } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import type { Problem } from "@realm-lm/core"
import { Effect, Layer, Stream } from "effect"
import { asOptions, rates } from "../bench/outputStyles.ts"
import * as Answer from "../src/Answer.ts"
import * as Benchmarks from "../src/Benchmarks.ts"

// The issue-16 targets on the first problems of every shared benchmark (bench/judging.ts measures all of them).
const dir = Benchmarks.benchmarksDir()
const reason = dir === undefined ? ` (${SharedData.missingReason("benchmarks/")})` : ""
const perDataset = 120

const load = (name: Benchmarks.Name) =>
  Effect.gen(function* () {
    const source = yield* TaskSource.TaskSource
    return yield* Stream.runCollect(source.problems(name === "folio" ? "validation" : "test"))
  }).pipe(Effect.provide(Benchmarks.layer(name, { limit: perDataset }).pipe(Layer.provide(NodeServices.layer))))

const check = (name: string, problems: ReadonlyArray<Problem.Problem>) => {
  const r = rates(problems, Answer.judge)
  const failing = JSON.stringify(r.failingStyles)
  assert.isAtLeast(
    r.recognised / r.correctOutputs,
    0.98,
    `${name}: recognised ${r.recognised}/${r.correctOutputs} ${failing}`
  )
  assert.isAtLeast(r.rejected / r.wrongOutputs, 0.99, `${name}: rejected ${r.rejected}/${r.wrongOutputs} ${failing}`)
}

describe("Judging rates on the shared benchmarks", () => {
  for (const name of Benchmarks.names) {
    it.effect.skipIf(dir === undefined)(
      `${name}: >= 98% of correct outputs recognised, >= 99% of wrong ones rejected${reason}`,
      () =>
        Effect.gen(function* () {
          const problems = yield* load(name)
          check(name, problems)
          if (name === "folio" || name === "strategyqa") check(`${name} (options)`, problems.map(asOptions))
        })
    )
  }
})
