/**
 * The README's "train a tiny model" example, run by the suite; a second test keeps the README's code block
 * identical to the region between the markers below.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"

// README-EXAMPLE-START
import { Rng } from "@realm-lm/core"
import { Executor, Init, Loss, Nn, Ops, Trainer } from "@realm-lm/graph"
import type { Graph } from "@realm-lm/graph"
import { Effect } from "effect"

// A 2-layer MLP that learns whether the two coordinates share a sign.
const model = (g: Graph.Graph, b: { readonly batch: number }) => {
  const x = g.input("x", "float32", [b.batch, 2]) // [batch, 2]
  const y = g.input("y", "int32", [b.batch]) // [batch] class ids
  const h = Ops.tanh(Nn.linear(x, g.param("w1", [2, 32], { init: Init.normal(0.5) }), g.param("b1", [32])))
  const logits = Nn.linear(h, g.param("w2", [32, 2], { init: Init.normal(0.2) })) // [batch, 2]
  return { loss: Loss.crossEntropy(logits, y) }
}

const batch = (rng: Rng.Rng, n: number) => {
  const x = Float32Array.from({ length: 2 * n }, () => 2 * rng.float() - 1)
  const y = Int32Array.from({ length: n }, (_, i) => (x[2 * i]! * x[2 * i + 1]! > 0 ? 1 : 0))
  return { x, y }
}

export const program = Effect.gen(function* () {
  const executor = yield* Executor.make({ device: "cpu" })
  const trainer = yield* Trainer.make(executor, model, { optimizer: { kind: "adamw" }, clipNorm: 1 }, { batch: 64 })
  yield* trainer.initialize(Rng.Rng.make(1))
  const rng = Rng.Rng.make(2)
  const losses: Array<number> = []
  for (let step = 1; step <= 300; step++) {
    const lr = 0.03 * Math.min(1, step / 20) // warm-up schedule in TypeScript
    losses.push((yield* trainer.step(batch(rng, 64), { lr })).loss)
  }
  const weights = yield* executor.read(["w1", "b1", "w2"]) // typed arrays, e.g. for a checkpoint
  return { first: losses[0]!, last: losses.at(-1) as number, weights }
})
// README-EXAMPLE-END

describe("README example", () => {
  it.effect("trains the tiny model: loss falls below a third of its start", () =>
    Effect.gen(function* () {
      const { first, last, weights } = yield* program
      assert.isAbove(first, 0.6)
      assert.isBelow(last, first / 3)
      assert.strictEqual(weights["w1"]?.length, 64)
    }).pipe(Effect.scoped)
  )

  it("the README shows exactly this code", () => {
    const source = readFileSync(import.meta.filename, "utf8")
    const region = source.slice(
      source.indexOf("// README-EXAMPLE-START\n") + 24,
      source.indexOf("// README-EXAMPLE-END")
    )
    const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8")
    const block = readme.slice(readme.indexOf("```ts\n", readme.indexOf("## Example")) + 6)
    assert.strictEqual(
      block.slice(0, block.indexOf("```")),
      region + "\n// Effect.runPromise(Effect.scoped(program)).then(console.log)\n"
    )
  })
})
