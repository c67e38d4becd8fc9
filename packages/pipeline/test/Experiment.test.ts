/**
 * `Experiment` planning (grid variants, chosen learning rates, per-seed configs, config checks) and
 * `ExperimentResults` (accuracy over seeds, paired differences to baselines, levels, markdown) on hand-made results.
 */
import { assert, describe, it } from "vitest"
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
    assert.deepStrictEqual(entries.map(Methods.entryName), [
      "sft",
      "rft@lr=0.00002",
      "grpo@lr=0.0001",
      "grpo@lr=0.001",
      "realm@lr=0.0001",
      "realm@lr=0.001"
    ])
    assert.nestedInclude(entries[1], {
      method: "rft",
      label: "RFT @ lr 0.00002",
      "trainer.rft.train.lr.peak": 0.00002
    })
    assert.nestedInclude(entries[5], { method: "realm", "trainer.rl.lr.peak": 0.001 })
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
    assert.deepStrictEqual(tuning["grpo"], { lr: 0.001, scores: { "0.0001": 0.5, "0.001": 1 } })
    assert.deepStrictEqual(tuning["realm"], { lr: 0.0001, scores: { "0.0001": 0.5, "0.001": 0.5 }, tied: true })
    assert.isUndefined(tuning["rft"])
    const assisted = Experiment.choose(planned, { tune: { ...rlOnly.tune, mode: "assisted" } }, [
      ...results,
      result("ReaLM (SFT → MRPV + EAAI) @ lr 0.0001", "validation", "assisted", [true]),
      result("ReaLM (SFT → MRPV + EAAI) @ lr 0.001", "validation", "assisted", [true]),
      result("GRPO, no guidance @ lr 0.0001", "validation", "assisted", [true])
    ]) as Experiment.Tuning
    assert.strictEqual(assisted["grpo"]?.lr, 0.0001)
  })

  it("choose refuses to pick when a grid value has no result on the tuning split, naming the method and value", () => {
    const onTest = [
      result("GRPO, no guidance @ lr 0.0001", "test", "autonomous", [true]),
      result("GRPO, no guidance @ lr 0.001", "validation", "autonomous", [true])
    ]
    const error = Experiment.choose(Methods.plan(["grpo"]), { tune: { rl: [0.0001, 0.001] } }, onTest)
    assert.instanceOf(error, Experiment.ExperimentInvalid)
    assert.include(
      (error as Experiment.ExperimentInvalid).message,
      "no validation autonomous result for grpo at lr 0.0001"
    )
  })

  it("the final methods carry the chosen learning rate under the grid name and the method's own label", () => {
    const entries = Experiment.finalEntries(planned, { realm: { lr: 0.001, scores: {} } })
    assert.strictEqual(entries[0], "sft")
    assert.deepStrictEqual(
      entries.find((e) => Methods.entryName(e) === "realm@lr=0.001"),
      {
        name: "realm@lr=0.001",
        method: "realm",
        label: "ReaLM (SFT → MRPV + EAAI)",
        trainer: { rl: { lr: { peak: 0.001 } } }
      }
    )
    assert.include(entries, "grpo")
  })

  it("a seed's config sets the run, trainer and curriculum seeds and its own directory, and drops the experiment section", () => {
    const config: PipelineConfig = {
      name: "x",
      experiment: { seeds: [4] },
      curriculum: { use: "eaai", with: { schedule: { kind: "cosine" } } },
      evaluation: { splits: ["test"] }
    }
    const seeded = Experiment.seedConfig(config, "/r", 4, ["sft"], ["validation"])
    assert.deepStrictEqual(seeded.run, { seed: 4, runDir: "/r/seed-4" })
    assert.deepStrictEqual(seeded.trainer, { use: "onnx", with: { seed: 4 } })
    assert.deepStrictEqual(seeded.curriculum, { use: "eaai", with: { schedule: { kind: "cosine" }, seed: 4 } })
    assert.deepStrictEqual(seeded.evaluation?.splits, ["validation"])
    assert.isUndefined(seeded.experiment)
  })

  it("check rejects repeated seeds, unknown baselines and tuning on an evaluated split, naming the field", () => {
    assert.strictEqual(Experiment.check({ experiment: { seeds: [1, 1] } })?.path, "experiment.seeds")
    assert.include(
      Experiment.check({ methods: ["sft", "realm"], experiment: { baselines: ["rft"] } })?.message,
      `experiment.baselines[0]: "rft" is not one of the methods (sft, realm)`
    )
    assert.strictEqual(
      Experiment.check({ experiment: { tune: { split: "test", rl: [1] } } })?.path,
      "experiment.tune.split"
    )
    assert.include(
      Experiment.check({ experiment: { tune: { split: "train", rl: [1] } } })?.message,
      `"train" is what the methods train on`
    )
    assert.strictEqual(Experiment.check({ experiment: { tune: { rl: [1, 1] } } })?.path, "experiment.tune.rl")
    assert.isUndefined(
      Experiment.check({ methods: ["sft", "rft"], experiment: { baselines: ["rft"], tune: { rl: [1] } } })
    )
  })
})

describe("ExperimentResults route-verdict accuracy over seeds", () => {
  // Three seeds that disagree (50%, 52%, 86%): the t-interval would run past 100%; the table clips it and lists the seeds.
  const verdicts = [0.5, 0.52, 0.862]
  const seeds: Array<ExperimentResults.SeedResults> = verdicts.map((v, seed) => ({
    seed,
    results: [
      {
        ...result("A", "test", "assisted", [true, false]),
        metrics: { "route-verdict accuracy": { value: v, low: v, high: v } }
      }
    ]
  }))
  const summary = ExperimentResults.summarise(seeds, [{ name: "a", label: "A" }], ["a"])

  it("is the mean of the seeds with a t-interval clipped to [0, 1]", () => {
    const o = summary.cells[0]?.routeVerdictAccuracy
    assert.isBelow(Math.abs((o?.value ?? NaN) - 0.6273333333333333), 1e-12)
    assert.isBelow(Math.abs((o?.low ?? NaN) - 0.12183714793878031), 1e-9)
    assert.strictEqual(o?.high, 1)
    assert.deepStrictEqual(o?.perSeed, verdicts)
  })

  it("markdown prints it with each seed's value, and no difference table for the baseline alone", () => {
    const md = ExperimentResults.markdown(summary)
    assert.include(md, "| A | 62.7 [12.2, 100.0] (50.0 / 52.0 / 86.2) |")
    assert.notInclude(md, "Paired difference to")
    const one = ExperimentResults.summarise(seeds.slice(0, 1), [{ name: "a", label: "A" }], ["a"])
    assert.include(ExperimentResults.markdown(one), "| A | 50.0 (one seed) |")
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
    assert.isBelow(Math.abs((b?.accuracy.value ?? NaN) - 0.625), 5e-13)
    assert.deepStrictEqual(b?.accuracy.perSeed, [0.5, 0.75])
    assert.lengthOf(summary.cells, 2)
  })

  it("differences are method minus baseline on the same problems, per seed and per level", () => {
    const b = summary.cells.find((c) => c.method === "b")
    const d = b?.differences[0]
    assert.strictEqual(d?.baseline, "a")
    assert.isBelow(Math.abs((d?.difference.value ?? NaN) - 0.25), 5e-13)
    assert.deepStrictEqual(d?.perSeed, [0.25, 0.25])
    assert.isBelow(Math.abs((d?.overSeedsT.low ?? NaN) - 0.25), 5e-13)
    assert.isBelow(Math.abs((b?.levels["level=1"]?.differences[0]?.difference.value ?? NaN) - 0.25), 5e-13)
    assert.isBelow(Math.abs((b?.levels["level=2"]?.differences[0]?.difference.value ?? NaN) - 0.25), 5e-13)
    assert.deepStrictEqual(summary.cells.find((c) => c.method === "a")?.differences, [])
  })

  it("markdown prints the accuracy table, the differences to the baseline and the per-level table", () => {
    const md = ExperimentResults.markdown(summary)
    assert.include(md, "| method | test autonomous |")
    assert.include(md, "| B | 62.5 [")
    assert.include(md, "Paired difference to A")
    assert.include(md, "| B | +25.0 [")
    assert.include(md, "| method | level=1 | level=2 |")
    assert.strictEqual(
      ExperimentResults.formatDifference({ value: -0.031, low: -0.05, high: 0.004 }),
      "-3.1 [-5.0, +0.4]"
    )
  })
})
