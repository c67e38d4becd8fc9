/**
 * Byte-for-byte stability of the exported ONNX model: a seeded tiny Llama, encoded by graph and patched to symbolic
 * batch/sequence dimensions, with and without external data, produces the same bytes as the hand-written writer lm
 * used before the shared protobuf writer (SHA-256 recorded from that writer).
 */
import { createHash } from "node:crypto"
import { assert, describe, it } from "vitest"
import { Rng } from "@realm-lm/core"
import * as Export from "../src/Export.ts"
import * as Weights from "../src/Weights.ts"
import { tinyConfig } from "./support.ts"

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

describe("Export.onnxModel bytes", () => {
  const config = tinyConfig({ numLayers: 3, vocabSize: 300 })
  const weights = Weights.init(config, Rng.Rng.make("export-bytes"), { std: 0.3 })

  it("the patched model with weights inline encodes to the recorded bytes", () => {
    const { model, externalData } = Export.onnxModel(config, weights)
    assert.isUndefined(externalData)
    assert.isTrue(Buffer.from(model).includes("past_sequence_length")) // the symbolic-shape patch ran
    assert.deepStrictEqual(
      [model.length, sha256(model)],
      [80986, "3f375fce759f9424aeae1705c09c5fe969c9129f9ec9135c3d61c7a62f8493d3"]
    )
  })

  it("the patched model with external data encodes to the recorded bytes", () => {
    const { model, externalData } = Export.onnxModel(config, weights, { externalDataBytes: 1 })
    assert.deepStrictEqual(
      [model.length, sha256(model)],
      [21704, "cd826cf7541d58cbebecd10234221717dba985b378e1a02da9fb172d67ad6b6e"]
    )
    assert.isAbove(externalData?.length ?? NaN, 0)
  })
})
