/**
 * IEEE half (F16) and bfloat16 (BF16) conversions to and from float32, over raw little-endian bit patterns.
 * Decoding is exact; encoding rounds to nearest, ties to even, keeping NaN a NaN and saturating to ±Infinity.
 */

let f16Table: Float32Array | undefined

/** The float32 value of every F16 bit pattern, `[65536]`, built once. */
const f16Values = (): Float32Array => {
  if (f16Table !== undefined) return f16Table
  const table = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1
    const exp = (h >> 10) & 0x1f
    const frac = h & 0x3ff
    table[h] =
      exp === 0
        ? sign * frac * 2 ** -24
        : exp === 0x1f
          ? frac === 0
            ? sign * Infinity
            : NaN
          : sign * (1 + frac / 1024) * 2 ** (exp - 15)
  }
  f16Table = table
  return table
}

/** Decode `count` F16 values from `src` (little-endian bytes) into `dst` at `dstOffset`. */
export const decodeF16 = (src: Uint8Array, dst: Float32Array, dstOffset: number, count: number): void => {
  const table = f16Values()
  for (let i = 0; i < count; i++) dst[dstOffset + i] = table[src[2 * i]! | (src[2 * i + 1]! << 8)]!
}

/** Decode `count` BF16 values (the top 16 bits of a float32) from `src` into `dst` at `dstOffset`. */
export const decodeBf16 = (src: Uint8Array, dst: Float32Array, dstOffset: number, count: number): void => {
  const bits = new Uint32Array(dst.buffer, dst.byteOffset + 4 * dstOffset, count)
  for (let i = 0; i < count; i++) bits[i] = ((src[2 * i]! | (src[2 * i + 1]! << 8)) << 16) >>> 0
}

/** Decode `count` F64 values (rounded to float32) from `src` into `dst` at `dstOffset`. */
export const decodeF64 = (src: Uint8Array, dst: Float32Array, dstOffset: number, count: number): void => {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength)
  for (let i = 0; i < count; i++) dst[dstOffset + i] = view.getFloat64(8 * i, true)
}

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** The BF16 bit pattern nearest to `x` (ties to even). */
export const toBf16Bits = (x: number): number => {
  f32[0] = x
  const bits = u32[0]!
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff // quiet NaN
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1)
  return (rounded >>> 16) & 0xffff
}

/** The F16 bit pattern nearest to `x` (ties to even, overflow to ±Infinity, gradual underflow). */
export const toF16Bits = (x: number): number => {
  f32[0] = x
  const bits = u32[0]!
  const sign = (bits >>> 16) & 0x8000
  const exp = (bits >>> 23) & 0xff
  const mant = bits & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign // rounds to ±0
    const m = mant | 0x800000
    const shift = 14 - e
    const half = 1 << (shift - 1)
    const rest = m & ((1 << shift) - 1)
    let out = m >>> shift
    if (rest > half || (rest === half && (out & 1) === 1)) out++
    return sign | out
  }
  let out = (e << 10) | (mant >>> 13)
  const rest = mant & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out++ // may carry into the exponent: still correct
  return sign | out
}
