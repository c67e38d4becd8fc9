import { describe, expect, it } from "vitest"
import { bucketFor, bucketize, makeBatch } from "../src/Batching.ts"

describe("Batching", () => {
  it("shifts targets by one and masks the loss to completion tokens only", () => {
    const b = makeBatch([{ prompt: [1, 2, 3], completion: [4, 5] }], 6, 0)
    expect([...b.inputs]).toEqual([1, 2, 3, 4, 0, 0])
    expect([...b.targets]).toEqual([2, 3, 4, 5, 0, 0])
    expect([...b.lossMask]).toEqual([0, 0, 1, 1, 0, 0])
    expect(b.lossTokens).toBe(2)
  })

  it("truncates the prompt from the left, keeping the completion", () => {
    const b = makeBatch([{ prompt: [1, 2, 3, 4, 5], completion: [6, 7] }], 4, 0)
    expect([...b.inputs]).toEqual([3, 4, 5, 6])
    expect([...b.targets]).toEqual([4, 5, 6, 7])
    expect([...b.lossMask]).toEqual([0, 0, 1, 1])
  })

  it("assigns examples to the smallest bucket that fits and reports ones that fit none", () => {
    expect(bucketFor(9, [32, 8, 16])).toBe(16)
    const { byBucket, tooLong } = bucketize([
      { prompt: [1, 2], completion: [3] },
      { prompt: Array.from({ length: 20 }, () => 1), completion: [2] },
      { prompt: Array.from({ length: 40 }, () => 1), completion: [2] }
    ], [8, 32])
    expect([...byBucket.entries()]).toEqual([[8, [0]], [32, [1]]])
    expect(tooLong).toEqual([2])
  })
})
