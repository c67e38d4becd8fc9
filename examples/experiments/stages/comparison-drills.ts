/**
 * A pipeline stage for experiments on MRPV's verdicts: it appends `count` comparison drills to the corpus as
 * `SftExample` lines, which SFT trains on like any plain example. A drill's completion is `lines` verdict lines in the
 * compared-answers format (`Route A: answer 76 vs 74, wrong`), whose verdict is exactly whether the two numbers are
 * equal: half the pairs equal, a quarter a near miss (1-12 apart, so up to 12 outside `min..max`), a quarter unrelated,
 * the own number in `min..max`.
 * D12 (docs/EXPERIMENTS.md) found the student's verdicts at chance because SFT shows the comparison too few times
 * (about 13 verdicts a step); D10 showed the same student learns it from about 100k such lines. The lines are
 * `@realm-lm/mrpv`'s `Drills.drillLine`; the trainer's `sft.warmStart.drills` now mixes MRPV's own drills in without a
 * stage (this stage stays as D13's and experiment 6's exact recipe, and as an example of a corpus augmentation).
 */
import { readFileSync, writeFileSync } from "node:fs"
import { Rng } from "@realm-lm/core"
import { Drills } from "@realm-lm/mrpv"
import { PipelineStage } from "@realm-lm/pipeline"
import { Effect, Schema } from "effect"

/** The stage's settings (`with:` in the config). */
export const Settings = Schema.Struct({
  /** Drills appended. */
  count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  /** Verdict lines per drill. Default 3. */
  lines: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 26 }))),
  /** Smallest and largest number compared. Default 10 and 300. */
  min: Schema.optionalKey(Schema.Int),
  max: Schema.optionalKey(Schema.Int),
  /** Seed of the drills. Default 0. */
  seed: Schema.optionalKey(Schema.Int)
})

/** The drills as `SftExample` JSONL lines. */
export const drills = (settings: typeof Settings.Type): Array<string> => {
  const rng = Rng.Rng.make(settings.seed ?? 0, "comparison-drills")
  return Array.from({ length: settings.count }, (_, i) =>
    JSON.stringify({
      problemId: `drill/${i}`,
      prompt: Drills.drillPrompt,
      completion: Array.from({ length: settings.lines ?? 3 }, (_line, k) =>
        Drills.drillLine(rng, k, settings.min ?? 10, settings.max ?? 300).text
      ).join("\n")
    })
  )
}

/** The stage for given settings (what the pipeline calls with the config's `with:`). */
export const stage = (raw: unknown) => {
  const settings = Schema.decodeUnknownSync(Settings)(raw)
  return PipelineStage.corpusTransform({
    name: "comparison-drills",
    implementation: "experiments/comparison-drills",
    config: Settings,
    settings,
    write: (input, out) =>
      Effect.try({
        try: () => {
          const corpus = readFileSync(input, "utf8")
          const separator = corpus === "" || corpus.endsWith("\n") ? "" : "\n"
          writeFileSync(out, `${corpus}${separator}${drills(settings).join("\n")}\n`)
        },
        // The file system's own error (its message names the path and the errno).
        catch: (error) => error
      })
  })
}
