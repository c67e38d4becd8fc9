/**
 * The generation KV cache, owned by JavaScript and fed to the decode graph zero-copy every step: per layer keys
 * `[B, kv, d, C]` (transposed, so scores are one MatMul) and values `[B, kv, C, d]`, plus an additive slot mask
 * `[B, C]`. The graph returns only the new token's keys/values, written here in place; growing the capacity or
 * dropping finished rows re-lays the cache out once, never per step.
 */
import { State } from "@realm-lm/graph"
import type { ModelConfig } from "../ModelConfig.ts"

/** Additive mask value of an empty slot (matches `Model.maskValue`). */
const empty = -1e9

/** A cache for `batch` rows and `capacity` slots. */
export class KvCache {
  readonly batch: number
  readonly capacity: number
  readonly layers: number
  readonly kvHeads: number
  readonly headDim: number
  /** Per layer `[B, kv, d, C]`. */
  readonly keys: ReadonlyArray<Float32Array>
  /** Per layer `[B, kv, C, d]`. */
  readonly values: ReadonlyArray<Float32Array>
  /** `[B, C]`: 0 for a filled slot, -1e9 otherwise. */
  readonly mask: Float32Array
  /** The arrays wrapped once as ORT tensors with the decode graph's shapes. */
  readonly keyTensors: ReadonlyArray<State.DeviceTensor>
  readonly valueTensors: ReadonlyArray<State.DeviceTensor>
  readonly maskTensor: State.DeviceTensor

  constructor(config: Pick<ModelConfig, "numLayers" | "numKvHeads" | "headDim">, batch: number, capacity: number) {
    this.batch = batch
    this.capacity = capacity
    this.layers = config.numLayers
    this.kvHeads = config.numKvHeads
    this.headDim = config.headDim
    const size = batch * this.kvHeads * this.headDim * capacity
    this.keys = Array.from({ length: this.layers }, () => new Float32Array(size))
    this.values = Array.from({ length: this.layers }, () => new Float32Array(size))
    this.mask = new Float32Array(batch * capacity).fill(empty)
    this.keyTensors = this.keys.map((k) => State.wrap(k, [batch, this.kvHeads, this.headDim, capacity]))
    this.valueTensors = this.values.map((v) => State.wrap(v, [batch, this.kvHeads, capacity, this.headDim]))
    this.maskTensor = State.wrap(this.mask, [batch, capacity])
  }

  /**
   * Copy slots `[0, length)` of prefill row `src` (keys/values `[Bp, kv, length, d]` per layer) into row `row`, and
   * mark the last `filled` of them valid (the prompt is left-padded to `length`).
   */
  fillFromPrefill(
    row: number,
    src: number,
    keys: ReadonlyArray<Float32Array>,
    values: ReadonlyArray<Float32Array>,
    length: number,
    filled: number
  ): void {
    const { kvHeads: kv, headDim: d, capacity: c } = this
    for (let l = 0; l < this.layers; l++) {
      const kIn = keys[l]!
      const vIn = values[l]!
      const kOut = this.keys[l]!
      const vOut = this.values[l]!
      for (let h = 0; h < kv; h++) {
        const inBase = (src * kv + h) * length * d
        const kBase = (row * kv + h) * d * c
        for (let t = 0; t < length; t++) {
          for (let j = 0; j < d; j++) kOut[kBase + j * c + t] = kIn[inBase + t * d + j]!
        }
        vOut.set(vIn.subarray(inBase, inBase + length * d), (row * kv + h) * c * d)
      }
    }
    const m = this.mask.subarray(row * c, (row + 1) * c)
    m.fill(empty)
    m.fill(0, length - filled, length)
  }

  /** Write the new token's keys/values (`[layers · B, kv, d]`, rows aligned with this cache) at `slot` and mark it valid. */
  write(slot: number, keys: Float32Array, values: Float32Array): void {
    const { kvHeads: kv, headDim: d, capacity: c, batch: b } = this
    const per = b * kv * d
    for (let l = 0; l < this.layers; l++) {
      const kIn = keys.subarray(l * per, (l + 1) * per)
      const vIn = values.subarray(l * per, (l + 1) * per)
      const kOut = this.keys[l]!
      const vOut = this.values[l]!
      for (let bh = 0; bh < b * kv; bh++) {
        const kBase = bh * d * c + slot
        const vBase = (bh * c + slot) * d
        for (let j = 0; j < d; j++) {
          kOut[kBase + j * c] = kIn[bh * d + j]!
          vOut[vBase + j] = vIn[bh * d + j]!
        }
      }
    }
    for (let r = 0; r < b; r++) this.mask[r * c + slot] = 0
  }

  /**
   * A re-laid-out copy: rows `rows` (indices into this cache; -1 = an empty padding row) in a cache of `batch` rows
   * and `capacity` ≥ this capacity slots. Used to grow the capacity and to drop finished rows.
   */
  relayout(rows: ReadonlyArray<number>, batch: number, capacity: number): KvCache {
    const next = new KvCache(
      { numLayers: this.layers, numKvHeads: this.kvHeads, headDim: this.headDim },
      batch,
      capacity
    )
    const { kvHeads: kv, headDim: d, capacity: c } = this
    rows.forEach((src, row) => {
      if (src < 0) return
      for (let l = 0; l < this.layers; l++) {
        const kIn = this.keys[l]!
        const vIn = this.values[l]!
        for (let h = 0; h < kv; h++) {
          for (let j = 0; j < d; j++) {
            const from = ((src * kv + h) * d + j) * c
            next.keys[l]!.set(kIn.subarray(from, from + c), ((row * kv + h) * d + j) * capacity)
          }
          const from = (src * kv + h) * c * d
          next.values[l]!.set(vIn.subarray(from, from + c * d), (row * kv + h) * capacity * d)
        }
      }
      next.mask.set(this.mask.subarray(src * c, (src + 1) * c), row * capacity)
    })
    return next
  }
}
