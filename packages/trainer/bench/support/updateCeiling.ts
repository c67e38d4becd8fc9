/**
 * What an RL update computes and what the machine can do, for the trainer benches: the update's floating-point
 * operations at its micro-batch shapes (decoder forward and backward over every padded position, the LM head over the
 * scored ones) and a same-run MatMul ceiling (ONNX Runtime on the same executor, the same threads).
 */
import { Graph, Ops } from "@realm-lm/graph"
import type { Executor } from "@realm-lm/graph"
import type { ModelConfig } from "@realm-lm/lm"
import { Effect } from "effect"

/** A micro-batch's shape: rows × length, and the positions per row the head runs on when scored. */
export interface MicroShape {
  readonly rows: number
  readonly length: number
  readonly window: number | null
}

/**
 * Floating-point operations of one update over `micro`: 3 × the forward of every decoder layer (projections, MLP and
 * the full `length × length` attention scores and mix, as the graph computes them) plus the head, 2·hidden·vocab per
 * scored position, 4 times with a chunked head (forward, the backward's recomputed logits, two gradient products)
 * and 3 times without. Norms, softmax and elementwise work are not counted.
 */
export const updateFlops = (
  config: ModelConfig.ModelConfig,
  micro: ReadonlyArray<MicroShape>,
  chunkedHead: boolean
): number => {
  const d = config.hiddenSize
  const kv = config.numKvHeads * config.headDim
  const q = config.numHeads * config.headDim
  let total = 0
  for (const m of micro) {
    const n = m.rows * m.length
    const projections = 2 * n * (2 * d * q + 2 * d * kv + 3 * d * config.intermediateSize)
    const attention = 2 * 2 * m.rows * config.numHeads * m.length * m.length * config.headDim
    const scored = m.rows * (m.window ?? m.length)
    total +=
      3 * config.numLayers * (projections + attention) + (chunkedHead ? 4 : 3) * 2 * scored * d * config.vocabSize
  }
  return total
}

/**
 * GFLOP/s of a chain of `k` MatMuls `[n, d] × [d, d]` on `executor`, median of `reps` runs after one warm-up: what
 * ONNX Runtime's CPU MatMul reaches at this width and thread count.
 */
export const matmulCeiling = (executor: Executor.ExecutorShape, n: number, d: number, k = 8, reps = 3) =>
  Effect.scoped(
    Effect.gen(function* () {
      const g = Graph.make("ceiling")
      let x = g.input("x", "float32", [n, d])
      const w = g.input("w", "float32", [d, d])
      for (let i = 0; i < k; i++) x = Ops.matmul(x, w)
      g.output("y", Ops.reduceSum(x))
      const session = yield* executor.compile(g)
      const xs = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i) * 0.01)
      const ws = Float32Array.from({ length: d * d }, (_, i) => Math.cos(i) / Math.sqrt(d))
      const times: Array<number> = []
      for (let r = 0; r <= reps; r++) {
        const t0 = performance.now()
        yield* session.run({ x: xs, w: ws })
        if (r > 0) times.push(performance.now() - t0)
      }
      times.sort((a, b) => a - b)
      return (2 * n * d * d * k) / (times[Math.floor(times.length / 2)]! / 1000) / 1e9
    })
  )
