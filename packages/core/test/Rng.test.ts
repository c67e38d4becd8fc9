import { assert, describe, it } from "vitest"
import { Rng } from "../src/Rng.ts"

describe("Rng", () => {
  it("implements xoshiro128** exactly (reference vector from the authors' C code, state {1,2,3,4})", () => {
    const rng = Rng.restore({ seed: [0, 0, 0, 0], state: [1, 2, 3, 4] })
    const out = Array.from({ length: 8 }, () => rng.nextUint32())
    assert.deepStrictEqual(out, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849])
  })

  it("gives the same stream for the same seed path and different streams for different paths", () => {
    const a = Rng.make(42, "corpus")
    const b = Rng.make(42, "corpus")
    const c = Rng.make(42, "corpus2")
    const d = Rng.make(43, "corpus")
    const draw = (r: Rng) => Array.from({ length: 16 }, () => r.nextUint32())
    const da = draw(a)
    assert.deepStrictEqual(draw(b), da)
    assert.notDeepEqual(draw(c), da)
    assert.notDeepEqual(draw(d), da)
  })

  it("is pinned: seed 7 gives these values on every machine (golden)", () => {
    const rng = Rng.make(7)
    const first = [rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]
    // Computed once by this implementation; a change here means every seeded artifact changes.
    assert.deepStrictEqual(first, GOLDEN_SEED_7)
  })

  it("split does not advance the parent and is independent of what the parent drew", () => {
    const parent = Rng.make(1)
    const child1 = parent.split("eaai", 3, "p-17").nextUint32()
    parent.nextUint32()
    parent.nextUint32()
    const child2 = parent.split("eaai", 3, "p-17").nextUint32()
    assert.strictEqual(child2, child1)
  })

  it("split streams are statistically independent (correlation and bit balance over 200k draws)", () => {
    const root = Rng.make(2026)
    const n = 200_000
    const x = root.split("a")
    const y = root.split("b")
    let sx = 0,
      sy = 0,
      sxy = 0,
      sxx = 0,
      syy = 0
    let agreeingBits = 0
    for (let i = 0; i < n; i++) {
      const ux = x.nextUint32()
      const uy = y.nextUint32()
      const fx = ux / 2 ** 32
      const fy = uy / 2 ** 32
      sx += fx
      sy += fy
      sxy += fx * fy
      sxx += fx * fx
      syy += fy * fy
      agreeingBits += 32 - popcount((ux ^ uy) >>> 0)
    }
    const cov = sxy / n - (sx / n) * (sy / n)
    const corr = cov / Math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2))
    // Under independence corr ~ N(0, 1/n): |corr| < 5/sqrt(n) = 0.011.
    assert.isBelow(Math.abs(corr), 5 / Math.sqrt(n))
    // Each bit agrees with probability 1/2: 32n trials, sd = sqrt(32n)/2.
    assert.isBelow(Math.abs(agreeingBits - 16 * n), (5 * Math.sqrt(32 * n)) / 2)
  })

  it("nearby seeds give unrelated first draws (no seed-0/seed-1 artifacts)", () => {
    const firsts = new Set<number>()
    for (let s = 0; s < 10_000; s++) firsts.add(Rng.make(s).nextUint32())
    assert.strictEqual(firsts.size, 10_000)
  })

  it("int(n) is uniform (chi-square over 10 buckets) and float() is in [0, 1)", () => {
    const rng = Rng.make("uniform")
    const counts = Array.from({ length: 10 }, () => 0)
    const n = 100_000
    for (let i = 0; i < n; i++) counts[rng.int(10)]!++
    const chi2 = counts.reduce((acc, c) => acc + (c - n / 10) ** 2 / (n / 10), 0)
    assert.isBelow(chi2, 27.9) // p = 0.001 at 9 degrees of freedom
    for (let i = 0; i < 10_000; i++) {
      const f = rng.float()
      assert.isTrue(f >= 0 && f < 1)
    }
  })

  it("shuffle is a permutation and uniform over positions", () => {
    const rng = Rng.make(5)
    const firstPosition = Array.from({ length: 4 }, () => 0)
    for (let i = 0; i < 40_000; i++) {
      const s = rng.shuffle([0, 1, 2, 3])
      assert.deepStrictEqual(s.toSorted(), [0, 1, 2, 3])
      firstPosition[s[0]!]!++
    }
    for (const c of firstPosition) assert.isBelow(Math.abs(c - 10_000), 500)
  })

  it("state() and restore() continue the stream exactly", () => {
    const rng = Rng.make(99, "resume")
    for (let i = 0; i < 37; i++) rng.nextUint32()
    const saved = JSON.parse(JSON.stringify(rng.state()))
    const expected = Array.from({ length: 10 }, () => rng.nextUint32())
    const restored = Rng.restore(saved)
    assert.deepStrictEqual(
      Array.from({ length: 10 }, () => restored.nextUint32()),
      expected
    )
    assert.strictEqual(restored.split("x").nextUint32(), Rng.make(99, "resume", "x").nextUint32())
  })

  it("rejects invalid ranges with a clear message", () => {
    assert.throws(() => Rng.make(1).int(0), /n must be an integer/)
    assert.throws(() => Rng.make(1).pick([]), /empty/)
  })
})

const popcount = (v: number): number => {
  let c = 0
  while (v) {
    v &= v - 1
    c++
  }
  return c
}

const GOLDEN_SEED_7 = [4211830840, 785125756, 3896104709]
