import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as TextStream from "../src/TextStream.ts"

/**
 * A toy detokeniser: each id below 9 is one character of `alphabet`; 9 then 10 is "é" (a two-byte character), and a
 * 9 or 10 alone decodes as U+FFFD, as a lone UTF-8 lead or continuation byte does.
 */
const alphabet = "ab STOP\n!"
const decode = (ids: ReadonlyArray<number>): string => {
  let out = ""
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    if (id === 9 && ids[i + 1] === 10) {
      out += "é"
      i++
    } else out += id >= 9 ? "\uFFFD" : alphabet[id]
  }
  return out
}
const ids = (text: string) => [...text].map((c) => alphabet.indexOf(c))

describe("TextStream", () => {
  it("holds back a possible stop sequence until it is settled, and never sends the stop", () => {
    const s = TextStream.make(decode, ["STOP"])
    const tokens = ids("ab STa STOP!")
    const deltas = tokens.map((_, k) => s.update(tokens.slice(0, k + 1), false))
    assert.deepStrictEqual(deltas, ["a", "b", " ", "", "", "STa", " ", "", "", "", "", ""])
    assert.strictEqual(deltas.join(""), "ab STa ")
    assert.strictEqual(s.text(), "ab STa ")
  })

  it("holds back an incomplete UTF-8 character (U+FFFD) until its second token arrives", () => {
    const s = TextStream.make(decode, [])
    assert.strictEqual(s.update([0], false), "a")
    assert.strictEqual(s.update([0, 9], false), "")
    assert.strictEqual(s.update([0, 9, 10], false), "é")
    assert.strictEqual(s.text(), "aé")
  })

  it("flushes held text when the completion finishes without the stop", () => {
    const s = TextStream.make(decode, ["STOP"])
    assert.strictEqual(s.update(ids("aST"), false), "a")
    assert.strictEqual(s.update(ids("aST"), true), "ST")
  })

  it("the deltas always add up to the final text, which ends before the first stop, split characters included (property)", () => {
    const stops = ["STOP", "!", "b\n"]
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10 }), { maxLength: 40 }), (tokens) => {
        const s = TextStream.make(decode, stops)
        const sent = tokens.map((_, k) => s.update(tokens.slice(0, k + 1), k === tokens.length - 1)).join("")
        const full = decode(tokens)
        const cut = TextStream.stopIndex(full, stops)
        const expected = cut >= 0 ? full.slice(0, cut) : full
        return tokens.length === 0 || (sent === expected && s.text() === expected)
      }),
      { seed: 5, numRuns: 500 }
    )
  })

  it("heldForStops is the longest suffix that starts a stop sequence", () => {
    assert.strictEqual(TextStream.heldForStops("xx S", ["STOP"]), 1)
    assert.strictEqual(TextStream.heldForStops("xx STO", ["STOP", "TOAST"]), 3)
    assert.strictEqual(TextStream.heldForStops("xx", ["STOP"]), 0)
  })
})
