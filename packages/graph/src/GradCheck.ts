/**
 * Gradient checking: compares autodiff gradients with central finite differences, evaluating the graph
 * in float64 on ONNX Runtime's CPU provider. Useful for any new op, composite or model built on this
 * package. A non-scalar output is reduced to a scalar with a fixed random projection Σ(y ⊙ R).
 */
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { grad } from "./Autodiff.ts"
import type { EmbeddingGrad } from "./Autodiff.ts"
import * as Executor from "./Executor.ts"
import type { Tensor, TensorData } from "./Graph.ts"
import * as Graph from "./Graph.ts"
import * as O from "./Ops.ts"
import * as Session from "./Session.ts"

/** Options for `check`. */
export interface CheckOptions {
  /** Seed for input values, the projection and the sampled elements (default 1). */
  readonly seed?: number
  /** Values for data inputs (indices, masks) and, optionally, float inputs or params. */
  readonly feeds?: Readonly<Record<string, TensorData>>
  /** Draws a random value for float element `name[i]` (default standard normal, resampled if |x| < 0.1). */
  readonly sample?: (name: string, rng: Rng.Rng) => number
  /** Finite-difference step (default 1e-6). */
  readonly h?: number
  /** Absolute tolerance (default 1e-7). */
  readonly atol?: number
  /** Relative tolerance (default 1e-6). */
  readonly rtol?: number
  /** At most this many elements per tensor are checked, chosen at random (default 24). */
  readonly maxPerTensor?: number
  /** Embedding gradient formulation to check. */
  readonly embedding?: EmbeddingGrad
}

/** One checked element. */
export interface Entry {
  readonly name: string
  readonly index: number
  readonly analytic: number
  readonly numeric: number
}

/** Outcome of a check. */
export interface Report {
  readonly ok: boolean
  readonly checked: number
  readonly maxAbsError: number
  readonly failures: ReadonlyArray<Entry>
  readonly worst: Entry | undefined
}

const defaultSample = (_name: string, rng: Rng.Rng): number => {
  for (;;) {
    const v = rng.normal()
    if (Math.abs(v) >= 0.1) return v
  }
}

/** Build the float64 graph: the user's output projected to a scalar, optionally with gradients. */
const buildGraph = (
  build: (g: Graph.Graph) => Tensor,
  seed: number,
  withGrads: boolean,
  embedding: EmbeddingGrad | undefined
) => {
  const g = Graph.make(withGrads ? "gradcheck_grads" : "gradcheck_loss", { float: "float64" })
  const y = build(g)
  if (y.dtype !== "float64")
    throw new Graph.InvalidGraph({
      detail: `GradCheck: output must be float64, got ${y.toString()}`,
      fix: "build with g.float and number literals"
    })
  const rng = Rng.Rng.make(seed, "projection")
  const loss =
    y.rank === 0
      ? y
      : O.reduceSum(
          O.mul(
            y,
            g.constant(
              Float64Array.from({ length: y.size }, () => rng.normal()),
              y.shape
            )
          )
        )
  g.output("loss", loss)
  const wrt = g.inputs.filter((t) => t.dtype === "float64")
  if (withGrads)
    grad(loss, wrt, embedding === undefined ? {} : { embedding }).forEach((d, i) =>
      g.output(`grad::${wrt[i]!.name}`, d)
    )
  return { g, wrt }
}

/**
 * Check d(output)/d(every float64 param and float64 input) of `build` by central differences.
 * Runs on the CPU in float64; `build` must use `g.float` (float64 here) for its float tensors.
 */
export const check = (build: (g: Graph.Graph) => Tensor, options: CheckOptions = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const seed = options.seed ?? 1
      const h = options.h ?? 1e-6
      const atol = options.atol ?? 1e-7
      const rtol = options.rtol ?? 1e-6
      const sample = options.sample ?? defaultSample
      const exec = yield* Executor.make({ device: "cpu", intraOpThreads: 1, graphOptimization: "basic" })
      const lossGraph = buildGraph(build, seed, false, options.embedding)
      const gradGraph = buildGraph(build, seed, true, options.embedding)
      const rng = Rng.Rng.make(seed, "values")
      const feeds: Record<string, TensorData> = {}
      for (const t of lossGraph.g.inputs) {
        const given = options.feeds?.[t.name]
        if (given !== undefined)
          feeds[t.name] = t.dtype === "float64" ? Float64Array.from(given as Float64Array) : given
        else if (t.dtype === "float64") feeds[t.name] = Float64Array.from({ length: t.size }, () => sample(t.name, rng))
        else
          return yield* new Session.FeedMismatch({
            graph: "gradcheck",
            input: t.name,
            detail: `${t.toString()} needs a value`,
            fix: "pass it in options.feeds"
          })
      }
      const lossSession = yield* exec.compile(lossGraph.g)
      const gradSession = yield* exec.compile(gradGraph.g)
      const analytic = yield* gradSession.run(feeds)
      const entries: Array<Entry> = []
      const pick = Rng.Rng.make(seed, "pick")
      for (const t of lossGraph.wrt) {
        const data = feeds[t.name] as Float64Array
        const dA = analytic[`grad::${t.name}`]!.data as Float64Array
        const max = options.maxPerTensor ?? 24
        const indices =
          t.size <= max
            ? Array.from({ length: t.size }, (_, i) => i)
            : pick.shuffle(Array.from({ length: t.size }, (_, i) => i)).slice(0, max)
        for (const i of indices) {
          const x0 = data[i]!
          data[i] = x0 + h
          const up = Session.scalar((yield* lossSession.run(feeds))["loss"])
          data[i] = x0 - h
          const down = Session.scalar((yield* lossSession.run(feeds))["loss"])
          data[i] = x0
          entries.push({ name: t.name, index: i, analytic: dA[i]!, numeric: (up - down) / (2 * h) })
        }
      }
      const err = (e: Entry) => Math.abs(e.analytic - e.numeric)
      const failures = entries.filter(
        (e) => !(err(e) <= atol + rtol * Math.max(Math.abs(e.analytic), Math.abs(e.numeric)))
      )
      const worst = entries.reduce<Entry | undefined>((w, e) => (w === undefined || err(e) > err(w) ? e : w), undefined)
      return {
        ok: failures.length === 0 && entries.length > 0,
        checked: entries.length,
        maxAbsError: worst === undefined ? 0 : err(worst),
        failures,
        worst
      } satisfies Report
    })
  )
