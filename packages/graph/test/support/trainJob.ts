/**
 * A worker job for the Worker tests: trains the sign-agreement MLP for `steps` steps and reports each
 * step's loss as progress; fails on purpose when `fail` is set.
 */
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { threadId } from "node:worker_threads"
import * as Executor from "../../src/Executor.ts"
import type { Graph } from "../../src/Graph.ts"
import * as Init from "../../src/Init.ts"
import * as Loss from "../../src/Loss.ts"
import * as Nn from "../../src/Nn.ts"
import * as O from "../../src/Ops.ts"
import * as Trainer from "../../src/Trainer.ts"
import * as Worker from "../../src/Worker.ts"

const model = (g: Graph, b: { readonly batch: number }) => {
  const x = g.input("x", "float32", [b.batch, 2])
  const y = g.input("y", "int32", [b.batch])
  const h = O.tanh(Nn.linear(x, g.param("w1", [2, 16], { init: Init.normal(0.5) }), g.param("b1", [16])))
  return { loss: Loss.crossEntropy(Nn.linear(h, g.param("w2", [16, 2], { init: Init.normal(0.2) })), y) }
}

export default Worker.defineJob(
  (
    input: { readonly steps: number; readonly fail?: boolean },
    progress: (p: { step: number; loss: number; thread: number }) => void
  ) =>
    Effect.gen(function* () {
      const exec = yield* Executor.make()
      const trainer = yield* Trainer.make(
        exec,
        model,
        { optimizer: { kind: input.fail === true ? "bogus" : "adamw" } as never },
        { batch: 32 }
      )
      yield* trainer.initialize(Rng.Rng.make(1))
      const rng = Rng.Rng.make(2)
      let loss = 0
      for (let step = 1; step <= input.steps; step++) {
        const x = Float32Array.from({ length: 64 }, () => 2 * rng.float() - 1)
        const y = Int32Array.from({ length: 32 }, (_, i) => (x[2 * i]! * x[2 * i + 1]! > 0 ? 1 : 0))
        loss = (yield* trainer.step({ x, y }, { lr: 0.03 })).loss
        progress({ step, loss, thread: threadId })
      }
      return { loss, w1: (yield* exec.read(["w1"]))["w1"] }
    })
)
