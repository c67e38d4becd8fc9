import { assert, describe, it } from "vitest"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { Rng } from "@realm-lm/core"
import * as Sampling from "../src/Sampling.ts"

const logits = [2.0, 0.5, 3.0, -1.0, 3.0, 1.0]
const softmax = (xs: ReadonlyArray<number>, t = 1) => {
  const m = Math.max(...xs)
  const e = xs.map((x) => Math.exp((x - m) / t))
  const z = e.reduce((a, b) => a + b, 0)
  return e.map((x) => x / z)
}

describe("Sampling", () => {
  it("argmax returns the first of tied maxima (llama2.c convention)", () => {
    assert.strictEqual(Sampling.argmax(logits), 2)
    assert.strictEqual(Sampling.sample(logits, Sampling.greedy, 0.999), 2)
  })

  it("logSoftmax normalises, is stable for huge logits, and logProb agrees with it", () => {
    const lp = Sampling.logSoftmax([1000, 1001, 999])
    assert.isBelow(Math.abs(Array.from(lp).reduce((s, x) => s + Math.exp(x), 0) - 1), 5e-13)
    assert.isBelow(Math.abs(lp[1]! - -Math.log(1 + Math.exp(-1) + Math.exp(-2))), 5e-13)
    assert.isBelow(Math.abs(Sampling.logProb([1000, 1001, 999], 2) - lp[2]!), 5e-13)
  })

  it("without filters the candidates are every token in id order with softmax(logits / T)", () => {
    const c = Sampling.candidates(logits, { temperature: 0.7, topK: 0, topP: 1 })
    assert.deepStrictEqual(Array.from(c.ids), [0, 1, 2, 3, 4, 5])
    softmax(logits, 0.7).forEach((p, i) => assert.isBelow(Math.abs(c.probs[i]! - p), 5e-13))
  })

  it("top-k keeps the k most probable (ties by lower id) and renormalises", () => {
    const c = Sampling.candidates(logits, { temperature: 1, topK: 3, topP: 1 })
    assert.deepStrictEqual(Array.from(c.ids), [2, 4, 0])
    const p = softmax([3, 3, 2])
    p.forEach((x, i) => assert.isBelow(Math.abs(c.probs[i]! - x), 5e-13))
  })

  it("top-p keeps the smallest most-probable prefix whose mass exceeds p", () => {
    const p = softmax(logits)
    const sorted = [2, 4, 0, 5, 1, 3]
    const c = Sampling.candidates(logits, { temperature: 1, topK: 0, topP: 0.8 })
    // p[2] + p[4] = 0.77…, + p[0] = 0.91… > 0.8: three tokens.
    assert.isBelow(p[2]! + p[4]!, 0.8)
    assert.deepStrictEqual(Array.from(c.ids), sorted.slice(0, 3))
    assert.isBelow(Math.abs(Array.from(c.probs).reduce((a, b) => a + b, 0) - 1), 5e-13)
  })

  it("sample walks the cumulative distribution with the coin", () => {
    const config = { temperature: 1, topK: 0, topP: 1 }
    const p = softmax(logits)
    assert.strictEqual(Sampling.sample(logits, config, 0), 0)
    assert.strictEqual(Sampling.sample(logits, config, p[0]! - 1e-9), 0)
    assert.strictEqual(Sampling.sample(logits, config, p[0]! + 1e-9), 1)
    assert.strictEqual(Sampling.sample(logits, config, 1 - 1e-12), 5)
  })

  it("draw with a core Rng matches the filtered distribution (chi-square, 60k draws)", () => {
    const config = { temperature: 1.3, topK: 5, topP: 0.9 }
    const { ids, probs } = Sampling.candidates(logits, config)
    const rng = Rng.Rng.make("sampling-chi2")
    const n = 60_000
    const counts = new Map<number, number>()
    for (let i = 0; i < n; i++) {
      const t = Sampling.draw(logits, config, rng)
      counts.set(t, (counts.get(t) ?? 0) + 1)
    }
    assert.isTrue([...counts.keys()].every((t) => ids.includes(t)))
    let chi2 = 0
    ids.forEach((t, i) => (chi2 += ((counts.get(t) ?? 0) - n * probs[i]!) ** 2 / (n * probs[i]!)))
    assert.isBelow(chi2, 20.5) // p = 0.001 at 4 degrees of freedom
  })

  it("every sample is a candidate and candidates always sum to 1 (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: 0.05, max: 4, noNaN: true }),
        fc.nat(45),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (xs, temperature, topK, topP, coin) => {
          const config = { temperature, topK, topP }
          const c = Sampling.candidates(xs, config)
          const t = Sampling.sample(xs, config, coin)
          return (
            c.ids.includes(t) &&
            Math.abs(c.probs.reduce((a, b) => a + b, 0) - 1) < 1e-9 &&
            (topK === 0 || c.ids.length <= topK)
          )
        }
      ),
      { seed: 11, numRuns: 500 }
    )
  })

  it("SamplingConfig rejects negative temperature, topP outside (0, 1] and fractional topK", () => {
    const decode = Schema.decodeUnknownResult(Sampling.SamplingConfig)
    assert.isTrue(Result.isSuccess(decode({ temperature: 0.8, topK: 40, topP: 0.95 })))
    for (const bad of [
      { temperature: -1, topK: 0, topP: 1 },
      { temperature: 1, topK: 0, topP: 0 },
      { temperature: 1, topK: 0, topP: 1.5 },
      { temperature: 1, topK: 2.5, topP: 1 }
    ]) {
      assert.isTrue(Result.isFailure(decode(bad)))
    }
  })
})
