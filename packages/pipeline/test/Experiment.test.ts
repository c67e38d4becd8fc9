/**
 * `Experiment` planning (grid variants, chosen learning rates, per-seed configs, config checks) and
 * `ExperimentResults` (accuracy over seeds, paired differences to baselines, levels, markdown) on hand-made results.
 */
import { describe, expect, it } from "vitest"
import type { EvalResult } from "@realm-lm/core"
import * as Experiment from "../src/Experiment.ts"
import * as ExperimentResults from "../src/ExperimentResults.ts"
import * as Methods from "../src/Methods.ts"
import type { PipelineConfig } from "../src/PipelineConfig.ts"

const settings = { tune: { rl: [0.0001, 0.001], rft: [0.00002] } }
const planned = Methods.plan(["rft", "realm", "grpo"])

const result = (
  method: string,
  split: string,
  mode: "assisted" | "autonomous",
  correct: ReadonlyArray<boolean>,
  levels?: ReadonlyArray<number>
): EvalResult.EvalResult => ({
  method,
  checkpoint: "x",
  task: "parcel",
  split,
  mode,
  samples: 1,
  accuracy: { value: correct.filter(Boolean).length / correct.length, low: 0, high: 1 },
  metrics: {},
  breakdown: {},
  outcomes: correct.map((c, i) => ({
    problemId: `p${i}`,
    difficulty: levels?.[i] ?? 1,
    split,
    answers: ["1"],
    correct: [c]
  }))
})

describe("Experiment planning", () => {
  it("the tuning run trains every tuned method once per grid value, with the learning rate where the trainer reads it", () => {
    const entries = Experiment.tuningEntries(planned, settings)
    expect(entries.map(Methods.entryName)).toEqual([
      "sft",
      "rft@lr=0.00002",
      "grpo@lr=0.0001",
      "grpo@lr=0.001",
      "realm@lr=0.0001",
      "realm@lr=0.001"
    ])
    expect(entries[1]).toMatchObject({
      method: "rft",
      label: "RFT @ lr 0.00002",
      trainer: { rft: { train: { lr: { peak: 0.00002 } } } }
    })
    expect(entries[5]).toMatchObject({ method: "realm", trainer: { rl: { lr: { peak: 0.001 } } } })
  })

  it("choose keeps the grid value with the best validation accuracy in the tuning mode; ties go to the first value", () => {
    const results = [
      result("GRPO, no guidance @ lr 0.0001", "validation", "autonomous", [true, false]),
      result("GRPO, no guidance @ lr 0.001", "validation", "autonomous", [true, true]),
      result("GRPO, no guidance @ lr 0.001", "validation", "assisted", [false, false]),
      result("ReaLM (SFT → MRPV + EAAI) @ lr 0.0001", "validation", "autonomous", [true, false]),
      result("ReaLM (SFT → MRPV + EAAI) @ lr 0.001", "validation", "autonomous", [false, true])
    ]
    const rlOnly = { tune: { rl: [0.0001, 0.001] } }
    const tuning = Experiment.choose(planned, rlOnly, results) as Experiment.Tuning
    expect(tuning["grpo"]).toEqual({ lr: 0.001, scores: { "0.0001": 0.5, "0.001": 1 } })
    expect(tuning["realm"]).toEqual({ lr: 0.0001, scores: { "0.0001": 0.5, "0.001": 0.5 }, tied: true })
    expect(tuning["rft"]).toBeUndefined()
    const assisted = Experiment.choose(planned, { tune: { ...rlOnly.tune, mode: "assisted" } }, [
      ...results,
      result("ReaLM (SFT → MRPV + EAAI) @ lr 0.0001", "validation", "assisted", [true]),
      result("ReaLM (SFT → MRPV + EAAI) @ lr 0.001", "validation", "assisted", [true]),
      result("GRPO, no guidance @ lr 0.0001", "validation", "assisted", [true])
    ]) as Experiment.Tuning
    expect(assisted["grpo"]?.lr).toBe(0.0001)
  })

  it("choose refuses to pick when a grid value has no result on the tuning split, naming the method and value", () => {
    const onTest = [
      result("GRPO, no guidance @ lr 0.0001", "test", "autonomous", [true]),
      result("GRPO, no guidance @ lr 0.001", "validation", "autonomous", [true])
    ]
    const error = Experiment.choose(Methods.plan(["grpo"]), { tune: { rl: [0.0001, 0.001] } }, onTest)
    expect(error).toBeInstanceOf(Experiment.ExperimentInvalid)
    expect((error as Experiment.ExperimentInvalid).message).toContain(
      "no validation autonomous result for grpo at lr 0.0001"
    )
  })

  it("the final methods carry the chosen learning rate under the grid name and the method's own label", () => {
    const entries = Experiment.finalEntries(planned, { realm: { lr: 0.001, scores: {} } })
    expect(entries[0]).toBe("sft")
    expect(entries.find((e) => Methods.entryName(e) === "realm@lr=0.001")).toEqual({
      name: "realm@lr=0.001",
      method: "realm",
      label: "ReaLM (SFT → MRPV + EAAI)",
      trainer: { rl: { lr: { peak: 0.001 } } }
    })
    expect(entries).toContain("grpo")
  })

  it("a seed's config sets the run, trainer and curriculum seeds and its own directory, and drops the experiment section", () => {
    const config: PipelineConfig = {
      name: "x",
      experiment: { seeds: [4] },
      curriculum: { use: "eaai", with: { schedule: { kind: "cosine" } } },
      evaluation: { splits: ["test"] }
    }
    const seeded = Experiment.seedConfig(config, "/r", 4, ["sft"], ["validation"])
    expect(seeded.run).toEqual({ seed: 4, runDir: "/r/seed-4" })
    expect(seeded.trainer).toEqual({ use: "onnx", with: { seed: 4 } })
    expect(seeded.curriculum).toEqual({ use: "eaai", with: { schedule: { kind: "cosine" }, seed: 4 } })
    expect(seeded.evaluation?.splits).toEqual(["validation"])
    expect(seeded.experiment).toBeUndefined()
  })

  it("check rejects repeated seeds, unknown baselines and tuning on an evaluated split, naming the field", () => {
    expect(Experiment.check({ experiment: { seeds: [1, 1] } })?.path).toBe("experiment.seeds")
    expect(Experiment.check({ methods: ["sft", "realm"], experiment: { baselines: ["rft"] } })?.message).toContain(
      `experiment.baselines[0]: "rft" is not one of the methods (sft, realm)`
    )
    expect(Experiment.check({ experiment: { tune: { split: "test", rl: [1] } } })?.path).toBe("experiment.tune.split")
    expect(Experiment.check({ experiment: { tune: { split: "train", rl: [1] } } })?.message).toContain(
      `"train" is what the methods train on`
    )
    expect(Experiment.check({ experiment: { tune: { rl: [1, 1] } } })?.path).toBe("experiment.tune.rl")
    expect(
      Experiment.check({ methods: ["sft", "rft"], experiment: { baselines: ["rft"], tune: { rl: [1] } } })
    ).toBeUndefined()
  })
})

describe("ExperimentResults.summarise", () => {
  // Two seeds, four problems (levels 1, 1, 2, 2). B beats A by one problem per seed on test autonomous.
  const seeds: Array<ExperimentResults.SeedResults> = [
    {
      seed: 0,
      results: [
        result("A", "test", "autonomous", [true, false, false, false], [1, 1, 2, 2]),
        result("B", "test", "autonomous", [true, true, false, false], [1, 1, 2, 2])
      ]
    },
    {
      seed: 1,
      results: [
        result("A", "test", "autonomous", [true, true, false, false], [1, 1, 2, 2]),
        result("B", "test", "autonomous", [true, true, true, false], [1, 1, 2, 2])
      ]
    }
  ]
  const methods = [
    { name: "a", label: "A" },
    { name: "b", label: "B" }
  ]
  const summary = ExperimentResults.summarise(seeds, methods, ["a"])

  it("accuracy is the mean over seeds of per-seed accuracy, with the per-seed values", () => {
    const b = summary.cells.find((c) => c.method === "b")
    expect(b?.accuracy.value).toBeCloseTo(0.625, 12)
    expect(b?.accuracy.perSeed).toEqual([0.5, 0.75])
    expect(summary.cells).toHaveLength(2)
  })

  it("differences are method minus baseline on the same problems, per seed and per level", () => {
    const b = summary.cells.find((c) => c.method === "b")
    const d = b?.differences[0]
    expect(d?.baseline).toBe("a")
    expect(d?.difference.value).toBeCloseTo(0.25, 12)
    expect(d?.perSeed).toEqual([0.25, 0.25])
    expect(d?.overSeedsT.low).toBeCloseTo(0.25, 12)
    expect(b?.levels["level=1"]?.differences[0]?.difference.value).toBeCloseTo(0.25, 12)
    expect(b?.levels["level=2"]?.differences[0]?.difference.value).toBeCloseTo(0.25, 12)
    expect(summary.cells.find((c) => c.method === "a")?.differences).toEqual([])
  })

  it("markdown prints the accuracy table, the differences to the baseline and the per-level table", () => {
    const md = ExperimentResults.markdown(summary)
    expect(md).toContain("| method | test autonomous |")
    expect(md).toContain("| B | 62.5 [")
    expect(md).toContain("Paired difference to A")
    expect(md).toContain("| B | +25.0 [")
    expect(md).toContain("| method | level=1 | level=2 |")
    expect(ExperimentResults.formatDifference({ value: -0.031, low: -0.05, high: 0.004 })).toBe("-3.1 [-5.0, +0.4]")
  })
})
