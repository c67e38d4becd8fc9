/**
 * Reading metrics.jsonl, the one parser the trainer's resume and pipeline's reports share: blank, torn and foreign
 * lines are skipped, nulls (non-finite values) stay null and are left out of a metric's points, file order is kept.
 */
import { assert, describe, it } from "vitest"
import * as Metrics from "../src/Metrics.ts"

const text = [
  `{"phase":"rl","step":1,"reward_mean":0.25,"kl":null}`,
  "",
  `{"phase":"rl","step":2,"reward_mean":0.5,"kl":0.01}`,
  `["not","a","line"]`,
  `{"phase":"rl","note":"no step"}`,
  `{"phase":"rl","step":2,"reward_mean":0.75}`,
  `{"phase":"rl","step":3,"rew`
].join("\n")

describe("Metrics reading", () => {
  it("parse keeps whole metrics lines in file order and skips blank, torn and foreign lines", () => {
    assert.deepStrictEqual(
      Metrics.parse(text).map((l) => [l.step, l["reward_mean"]]),
      [
        [1, 0.25],
        [2, 0.5],
        [2, 0.75]
      ]
    )
    assert.isNull(Metrics.parse(text)[0]?.["kl"])
  })

  it("parseLine returns undefined for anything but an object with a numeric step", () => {
    for (const bad of ["", "  ", "{", "null", "3", `{"step":"1"}`, "[1]"]) assert.isUndefined(Metrics.parseLine(bad))
    assert.deepStrictEqual(Metrics.parseLine(`{"phase":"sft","step":0,"loss":2}`), { phase: "sft", step: 0, loss: 2 })
  })

  it("points lists one metric's finite values with their steps, repeated steps included", () => {
    const lines = Metrics.parse(text)
    assert.deepStrictEqual(Metrics.points(lines, "reward_mean"), [
      { step: 1, value: 0.25 },
      { step: 2, value: 0.5 },
      { step: 2, value: 0.75 }
    ])
    assert.deepStrictEqual(Metrics.points(lines, "kl"), [{ step: 2, value: 0.01 }])
    assert.deepStrictEqual(Metrics.points(lines, "missing"), [])
  })
})
