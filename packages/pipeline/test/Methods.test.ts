/**
 * `Methods` and the per-method slots of `Wiring`: planning order, variants and their checks, deep merging, and
 * what each built-in method trains with (configured or fixed guidance, answer-only rewards, its own trainer settings).
 */
import { assert, describe, it } from "vitest"
import { Effect, Layer, Schema } from "effect"
import { Verifier } from "@realm-lm/core"
import { MrpvConfig } from "@realm-lm/mrpv"
import * as CustomModule from "../src/CustomModule.ts"
import * as Implementation from "../src/Implementation.ts"
import * as Methods from "../src/Methods.ts"
import * as Registry from "../src/Registry.ts"
import type { PipelineConfig } from "../src/PipelineConfig.ts"
import * as Wiring from "../src/Wiring.ts"

const config: PipelineConfig = {
  verifier: { use: "mrpv", with: { style: "compact", weights: { answer: 1, verdict: 0.5 } } },
  curriculum: { use: "eaai", with: { schedule: { kind: "exponential", autonomousFraction: 0.25 } } },
  trainer: { use: "onnx", with: { rl: { steps: 30, lr: { peak: 0.0001 } } } }
}

describe("Methods.plan", () => {
  it("puts SFT first, adds it when a selected method starts from it, and keeps the built-in order", () => {
    assert.deepStrictEqual(
      Methods.plan(["realm", "rft"]).map((m) => m.name),
      ["sft", "rft", "realm"]
    )
    assert.deepStrictEqual(
      Methods.plan(["realm-zero"]).map((m) => m.name),
      ["realm-zero"]
    )
  })

  it("keeps variants of one method in their given order, named and labelled as given", () => {
    const planned = Methods.plan([
      { name: "realm@lr=2", method: "realm", trainer: { rl: { lr: { peak: 2 } } } },
      "grpo",
      { name: "realm@lr=1", method: "realm", label: "ReaLM slow" }
    ])
    assert.deepStrictEqual(
      planned.map((m) => m.name),
      ["sft", "grpo", "realm@lr=2", "realm@lr=1"]
    )
    assert.strictEqual(planned[2]?.kind, "realm")
    assert.strictEqual(planned[2]?.label, "ReaLM (SFT → MRPV + EAAI) [realm@lr=2]")
    assert.strictEqual(planned[3]?.label, "ReaLM slow")
    assert.deepStrictEqual(planned[2]?.overrides.trainer, { rl: { lr: { peak: 2 } } })
  })

  it("check names duplicate names and variants that take a built-in method's name", () => {
    assert.deepStrictEqual(Methods.check(["sft", "sft"]), [
      `methods[1]: "sft" appears twice; give each method or variant its own name`
    ])
    assert.include(
      Methods.check([{ name: "grpo", method: "realm" }])[0],
      `methods[0].name: "grpo" is a built-in method's name`
    )
    assert.deepStrictEqual(
      Methods.check(["sft", { name: "realm", method: "realm" }, { name: "realm-fast", method: "realm" }]),
      []
    )
    assert.include(
      Methods.check(["rft", { name: "rft-2", method: "rft", label: "RFT" }])[0],
      `methods[1].label: "RFT" is also the label of "rft"`
    )
  })
})

describe("Methods.deepMerge", () => {
  it("merges nested objects and replaces arrays and scalars", () => {
    assert.deepStrictEqual(Methods.deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), {
      a: { b: 1, c: [3] },
      d: 1,
      e: 2
    })
  })
})

describe("Wiring.methodSlots", () => {
  const slots = (name: Methods.MethodName) => Wiring.methodSlots(config, Methods.plan([name]).at(-1) as Methods.Method)

  it("GRPO without guidance asks the configured curriculum for no guidance", () => {
    assert.deepStrictEqual<unknown>(slots("grpo").curriculum, { ...config.curriculum, fixedGuidance: "none" })
  })

  it("ReaLM fades along the configured curriculum as configured (its length comes from the trainer at run time)", () => {
    assert.deepStrictEqual(slots("realm").curriculum, config.curriculum)
    assert.deepStrictEqual(slots("realm").verifier, config.verifier)
  })

  it("MRPV without fading shows routes at full strength with MRPV rewards; CoT-Synthesizer the same with answer rewards", () => {
    const mrpv = slots("mrpv-no-fading")
    assert.deepStrictEqual<unknown>(mrpv.curriculum, { ...config.curriculum, fixedGuidance: "always-routes" })
    assert.deepStrictEqual(mrpv.verifier, config.verifier)
    const cot = slots("cot-synthesizer")
    assert.deepStrictEqual(cot.curriculum, mrpv.curriculum)
    // Answer-only rewards are asked of the verifier; its implementation says what that means in its settings.
    assert.deepStrictEqual<unknown>(cot.verifier, { ...config.verifier, answerOnly: true })
  })

  it("EAAI without verdict rewards fades like ReaLM but zeroes the verdict and decisive weights", () => {
    const ablation = slots("eaai-no-verdict")
    assert.deepStrictEqual(ablation.curriculum, slots("realm").curriculum)
    assert.deepStrictEqual<unknown>(ablation.verifier, { ...config.verifier, answerOnly: true })
  })

  it("MRPV's own answerOnly zeroes its verdict and decisive weights and its verdict-line format checks, keeping the rest", () => {
    const settings = Schema.decodeUnknownSync(MrpvConfig.MrpvConfig)({
      style: "compact",
      weights: { answer: 1, verdict: 0.5 }
    })
    assert.deepStrictEqual(Registry.mrpv.answerOnly?.(settings), {
      ...settings,
      weights: { ...settings.weights, verdict: 0, decisive: 0 },
      verdictFormat: false
    })
  })

  it("a variant's trainer settings are merged over the pipeline's; its curriculum settings too, keeping the fixed guidance", () => {
    const variant = Methods.plan([{ name: "realm-long", method: "realm", trainer: { rl: { steps: 90 } } }]).at(
      -1
    ) as Methods.Method
    const own = Wiring.methodSlots(config, variant)
    assert.deepStrictEqual(own.trainer, { use: "onnx", with: { rl: { steps: 90, lr: { peak: 0.0001 } } } })
    // No schedule length is written into the curriculum's settings: the trainer tells it its 90 steps.
    assert.deepStrictEqual(own.curriculum, config.curriculum)
    const seeded = Methods.plan([{ name: "cot-seeded", method: "cot-synthesizer", curriculum: { seed: 5 } }]).at(
      -1
    ) as Methods.Method
    assert.deepStrictEqual(Wiring.methodSlots(config, seeded).curriculum, {
      use: "eaai",
      with: { schedule: { kind: "exponential", autonomousFraction: 0.25 }, seed: 5 },
      fixedGuidance: "always-routes"
    })
  })

  it("an answer-only method's verifier gets its implementation's answerOnly settings; one declaring none is used as configured", async () => {
    const Settings = Schema.Struct({ weight: Schema.Number })
    const seen: Array<unknown> = []
    const stub = (answerOnly?: (c: typeof Settings.Type) => typeof Settings.Type) =>
      Implementation.erase(
        Implementation.define({
          slot: "verifier",
          id: "test/stub-verifier",
          config: Settings,
          layer: (c) =>
            Layer.effect(
              Verifier.Verifier,
              Effect.sync(() => (seen.push(c), {} as Verifier.Verifier["Service"]))
            ),
          ...(answerOnly === undefined ? {} : { answerOnly })
        })
      )
    const build = (impl: ReturnType<typeof stub>) =>
      Effect.runPromise(
        Effect.scoped(
          Layer.build(
            CustomModule.toLayer(impl, { weight: 1 }, undefined, { answerOnly: true }) as Layer.Layer<
              Verifier.Verifier,
              CustomModule.CustomStageInvalid
            >
          )
        )
      )
    await build(stub((c) => ({ ...c, weight: 0 })))
    await build(stub())
    assert.deepStrictEqual(seen, [{ weight: 0 }, { weight: 1 }])
    const custom: PipelineConfig = { ...config, verifier: { use: "./my-verifier.ts", with: { x: 1 } } }
    const cot = Methods.plan(["cot-synthesizer"]).at(-1) as Methods.Method
    assert.deepStrictEqual(Wiring.methodSlots(custom, cot).verifier, {
      use: "./my-verifier.ts",
      with: { x: 1 },
      answerOnly: true
    })
  })
})
