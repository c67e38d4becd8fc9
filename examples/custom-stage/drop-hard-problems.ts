/**
 * A user's own pipeline stage: a corpus filter between the teacher corpus and training. It keeps the corpus records
 * whose problem is at most `maxDifficulty`, writes them to `<runDir>/<name>/corpus.jsonl` with a manifest (so a re-run
 * with the same settings and corpus skips it), and hands that file on as the `corpus` every later stage (the base
 * model's tokenizer, training) reads.
 */
import { CorpusRecord } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { PipelineStage } from "@realm-lm/pipeline"
import { Schema, Stream } from "effect"

/** The stage's settings (`with:` in the config). */
export const Settings = Schema.Struct({
  /** Highest problem difficulty kept. */
  maxDifficulty: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  /** Stage (and directory) name. Default `drop-hard`. */
  name: Schema.optionalKey(Schema.String)
})

/** The stage for given settings (what the pipeline calls with the config's `with:`). */
export const stage = (raw: unknown) => {
  const settings = Schema.decodeUnknownSync(Settings)(raw)
  return PipelineStage.corpusTransform({
    name: settings.name ?? "drop-hard",
    implementation: "example/drop-hard-problems",
    config: Settings,
    settings,
    write: (input, out) =>
      Jsonl.writeAll(
        out,
        CorpusRecord.CorpusRecord,
        Jsonl.read(input, CorpusRecord.CorpusRecord).pipe(
          Stream.filter((record) => record.problem.difficulty <= settings.maxDifficulty)
        )
      )
  })
}
