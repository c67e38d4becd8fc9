/**
 * Seeded, splittable pseudo-random numbers for every source of randomness in the project. xoshiro128** over
 * 32-bit integer arithmetic (`Math.imul`, `>>>`), so the same seed gives the same stream on every machine and
 * JS engine. Child streams are derived from a seed *path* (`split("eaai", step, problemId)`), not by consuming
 * the parent, so a decision for (step, problem) does not depend on what else was drawn.
 */

/** A key in a seed path: numbers are hashed by value (integers exactly), strings by UTF-16 code units. */
export type SeedKey = string | number

/** Serializable generator state: the 128-bit seed path hash and the current xoshiro state words. */
export interface RngState {
  readonly seed: readonly [number, number, number, number]
  readonly state: readonly [number, number, number, number]
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0

/** MurmurHash3's 32-bit finalizer: a bijective avalanche mix. */
const fmix32 = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Absorb one key into a 128-bit seed: type tag, length, then each 32-bit word, mixed across all four lanes. */
const absorb = (seed: readonly [number, number, number, number], key: SeedKey): [number, number, number, number] => {
  const words: Array<number> = []
  if (typeof key === "number") {
    if (Number.isInteger(key) && Math.abs(key) <= Number.MAX_SAFE_INTEGER) {
      words.push(1, key >>> 0, Math.floor(key / 2 ** 32) >>> 0)
    } else {
      const view = new DataView(new ArrayBuffer(8))
      view.setFloat64(0, key, true)
      words.push(2, view.getUint32(0, true), view.getUint32(4, true))
    }
  } else {
    words.push(3, key.length)
    for (let i = 0; i < key.length; i++) words.push(key.charCodeAt(i))
  }
  let [a, b, c, d] = seed
  for (const w of words) {
    a = fmix32((a ^ w) + 0x9e3779b9)
    b = fmix32((b + Math.imul(a, 0x85ebca6b)) ^ w)
    c = fmix32(c ^ Math.imul(b, 0xc2b2ae35) ^ rotl(w, 13))
    d = fmix32((d + c) ^ Math.imul(w, 0x27d4eb2f))
  }
  return [a, b, c, d]
}

const ROOT: readonly [number, number, number, number] = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344]

/** A deterministic random stream. Not cryptographic. */
export class Rng {
  private readonly seedWords: readonly [number, number, number, number]
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  private constructor(
    seedWords: readonly [number, number, number, number],
    state?: readonly [number, number, number, number]
  ) {
    this.seedWords = seedWords
    const init =
      state ??
      (seedWords.map((w, i) => fmix32(w ^ (0x9e3779b9 * (i + 1)))) as unknown as readonly [
        number,
        number,
        number,
        number
      ])
    ;[this.s0, this.s1, this.s2, this.s3] = init
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1 // xoshiro's one forbidden state
    if (state === undefined) for (let i = 0; i < 8; i++) this.nextUint32() // decorrelate nearby seeds
  }

  /** A stream from a seed and optional path keys: `Rng.make(42, "corpus")`. */
  static make(seed: SeedKey, ...path: ReadonlyArray<SeedKey>): Rng {
    return new Rng([seed, ...path].reduce<[number, number, number, number]>((s, k) => absorb(s, k), [...ROOT]))
  }

  /** Restore a stream exactly where `state()` captured it. */
  static restore(state: RngState): Rng {
    return new Rng(state.seed, state.state)
  }

  /** An independent child stream for a sub-path; does not advance this stream. */
  split(...path: ReadonlyArray<SeedKey>): Rng {
    return new Rng(path.reduce<[number, number, number, number]>((s, k) => absorb(s, k), [...this.seedWords]))
  }

  /** Capture the state for checkpoints. */
  state(): RngState {
    return { seed: this.seedWords, state: [this.s0, this.s1, this.s2, this.s3] }
  }

  /** Uniform 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 = (this.s2 ^ t) >>> 0
    this.s3 = rotl(this.s3 >>> 0, 11)
    this.s0 >>>= 0
    this.s1 >>>= 0
    return result
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextUint32() >>> 5 // 27 bits
    const lo = this.nextUint32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32)
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`)
    const limit = 2 ** 32 - (2 ** 32 % n)
    for (;;) {
      const x = this.nextUint32()
      if (x < limit) return x % n
    }
  }

  /** Uniform integer in [min, max] inclusive. */
  intBetween(min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p
  }

  /** Standard normal sample (Box-Muller). */
  normal(): number {
    let u = 0
    while (u === 0) u = this.float()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float())
  }

  /** One element chosen uniformly. */
  pick<A>(items: ReadonlyArray<A>): A {
    if (items.length === 0) throw new RangeError("Rng.pick: empty array")
    return items[this.int(items.length)]!
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<A>(items: ReadonlyArray<A>): Array<A> {
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = out[i]!
      out[i] = out[j]!
      out[j] = tmp
    }
    return out
  }

  /** Index drawn from unnormalised non-negative weights. */
  weighted(weights: ReadonlyArray<number>): number {
    let total = 0
    for (const w of weights) total += w
    if (!(total > 0)) throw new RangeError("Rng.weighted: weights must have a positive sum")
    let r = this.float() * total
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!
      if (r < 0) return i
    }
    return weights.length - 1
  }

  /** A 31-bit non-negative integer, handy as a seed for a sub-component. */
  seed(): number {
    return this.nextUint32() >>> 1
  }
}
