/**
 * The resume key: keys a later version added at their defaults (`sft.warmStart.emphasis: 1`, `drills: 0`,
 * `rl.routeTraces: false`) leave the hash a checkpoint was written with unchanged, so runs checkpointed before them
 * resume; set, they change it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Hash } from "@realm-lm/core/node"
import * as TrainerConfig from "../src/TrainerConfig.ts"
import { compatibleConfig } from "../src/internal/run.ts"

const hashOf = (sft: object, phase: "sft" | "rft" = "sft") =>
  Hash.hashJson({ phase, config: compatibleConfig(TrainerConfig.decodeSync({ sft }), phase), corpus: "c" })

describe("the resume key", () => {
  it("is the hash of a checkpoint written before warmStart.emphasis and drills existed", () => {
    // Computed at ba9797b (before both keys) for the same config and corpus hash.
    assert.strictEqual(
      hashOf({ warmStart: { ratio: 0.25, redraw: true } }),
      "55b304a0313109f8f6b9b3a7e025d607c65da2d9e4bfcf2ea67f9e599a8ce462"
    )
  })

  it("changes when emphasis or drills are set", () => {
    const base = hashOf({ warmStart: { ratio: 0.25, redraw: true } })
    assert.notStrictEqual(hashOf({ warmStart: { ratio: 0.25, redraw: true, emphasis: 20 } }), base)
    assert.notStrictEqual(hashOf({ warmStart: { ratio: 0.25, redraw: true, drills: 100 } }), base)
  })

  const rlHash = (rl: object) =>
    Hash.hashJson({ phase: "rl", config: compatibleConfig(TrainerConfig.decodeSync({ rl }), "rl"), corpus: "c" })
  const rl = { steps: 10, groupSize: 4, batchSize: 16 }

  it("is the hash of an RL checkpoint written before rl.routeTraces existed, and changes when it is set", () => {
    // Computed at 5d9d90c (before the key) for the same config and corpus hash.
    const before = "1323673803b582840db69a415b794893f71d98913848f9709a0d7abb21696392"
    assert.strictEqual(rlHash(rl), before)
    assert.strictEqual(rlHash({ ...rl, routeTraces: false }), before)
    assert.notStrictEqual(rlHash({ ...rl, routeTraces: true }), before)
  })
})
