/**
 * Test helper: run a float64 finite-difference gradient check and fail with the worst entries.
 */
import { assert } from "vitest"
import { Effect } from "effect"

import * as GradCheck from "../../src/GradCheck.ts"
import type { Graph, Tensor } from "../../src/Graph.ts"

/** Default float64 tolerances: |analytic − numeric| ≤ 1e-7 + 1e-6·max(|analytic|, |numeric|), h = 1e-6. */
export const expectGradient = (build: (g: Graph) => Tensor, options: GradCheck.CheckOptions = {}) =>
  Effect.gen(function* () {
    const report = yield* GradCheck.check(build, options)
    const detail = report.failures
      .slice(0, 5)
      .map((e) => `${e.name}[${e.index}] analytic ${e.analytic} numeric ${e.numeric}`)
      .join("; ")
    assert.isAbove(report.checked, 0, "elements checked")
    assert.strictEqual(report.failures.length, 0, `gradient mismatch: ${detail}`)
    return report
  })

/** Uniform(lo, hi) samples for inputs that must be positive etc. */
export const uniformIn =
  (lo: number, hi: number) =>
  (_: string, rng: { float(): number }): number =>
    lo + (hi - lo) * rng.float()

/** Int32 data. */
export const ints = (...v: Array<number>): Int32Array => Int32Array.from(v)
