import { assert, describe, it } from "vitest"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { Rng } from "@realm-lm/core"
import * as Sampling from "../src/Sampling.ts"
import { candidatesByDefinition } from "./samplingDefinition.ts"

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

  it("candidates equal sorting the whole vocabulary, bit for bit, with ties and at real-vocabulary sizes (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          // Few distinct values: many ties, also across the thresholds the fast path cuts at.
          fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: 300 }),
          fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 1, maxLength: 300 }),
          // A vocabulary of real size: near-flat (a random model) or peaked (a trained one).
          fc
            .record({ seed: fc.nat(), n: fc.integer({ min: 20000, max: 60000 }), scale: fc.constantFrom(0.1, 3, 12) })
            .map(({ seed, n, scale }) => {
              const rng = Rng.Rng.make(seed, "logits")
              return Array.from({ length: n }, () => rng.normal() * scale)
            })
        ),
        fc.double({ min: 0.05, max: 4, noNaN: true }),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 100, max: 70000 })),
        fc.oneof(fc.constant(1), fc.double({ min: 0.01, max: 1, maxExcluded: true, noNaN: true })),
        (xs, temperature, topK, topP) => {
          const config = { temperature, topK, topP }
          const got = Sampling.candidates(xs, config)
          const want = candidatesByDefinition(xs, config)
          assert.deepStrictEqual(Array.from(got.ids), Array.from(want.ids))
          assert.deepStrictEqual(Array.from(got.probs), Array.from(want.probs))
        }
      ),
      { seed: 12, numRuns: 300 }
    )
  })

  it("choose gives, bit for bit, the token, logProb and sampling log-prob of candidates + the coin walk (property)", () => {
    const composed = (xs: ReadonlyArray<number>, config: Sampling.SamplingConfig, coin: number) => {
      if (config.temperature === 0) {
        const token = Sampling.argmax(xs)
        return { token, logProb: Sampling.logProb(xs, token), samplingLogProb: 0 }
      }
      const { ids, probs } = Sampling.candidates(xs, config)
      let k = ids.length - 1
      let cdf = 0
      for (let i = 0; i < ids.length; i++) {
        cdf += probs[i]!
        if (coin < cdf) {
          k = i
          break
        }
      }
      return { token: ids[k]!, logProb: Sampling.logProb(xs, ids[k]!), samplingLogProb: Math.log(probs[k]!) }
    }
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: 200 }),
          fc.array(fc.double({ min: -40, max: 40, noNaN: true }), { minLength: 1, maxLength: 200 })
        ),
        fc.oneof(fc.constant(1), fc.constant(0), fc.double({ min: 0.05, max: 4, noNaN: true })),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
        fc.oneof(fc.constant(1), fc.double({ min: 0.01, max: 1, maxExcluded: true, noNaN: true })),
        // Coins at the top end reach the rounding case (coin ≥ the summed probabilities).
        fc.oneof(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constant(1 - Number.EPSILON / 2)),
        (xs, temperature, topK, topP, coin) => {
          const config = { temperature, topK, topP }
          assert.deepStrictEqual(Sampling.choose(xs, config, coin), composed(xs, config, coin))
        }
      ),
      { seed: 13, numRuns: 2000 }
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
