/**
 * The manifest every stage writes next to its artifacts: enough to tell whether a re-run can be skipped, and
 * to reproduce or audit a run (config, package versions, git revision, input and output hashes, timings).
 */
import { Schema } from "effect"

/** A file and its sha256. */
export const FileHash = Schema.Struct({
  /** Path relative to the run directory (or absolute for inputs outside it). */
  path: Schema.String,
  sha256: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/)),
  bytes: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
})
export type FileHash = typeof FileHash.Type

/** Status of a stage run. */
export const StageStatus = Schema.Literals(["running", "complete", "failed", "interrupted"])
export type StageStatus = typeof StageStatus.Type

/** Manifest of one stage run. */
export const RunManifest = Schema.Struct({
  /** Manifest format version; readers reject versions they do not know. */
  version: Schema.Literal(1),
  stage: Schema.NonEmptyString,
  /** The stage implementation that ran, e.g. `"@realm-lm/corpus/RuleTeacher"`. */
  implementation: Schema.String,
  status: StageStatus,
  config: Schema.Json,
  /** sha256 of the canonical JSON of `config`. */
  configHash: Schema.String,
  packages: Schema.Record(Schema.String, Schema.String),
  gitRevision: Schema.optionalKey(Schema.String),
  /** The date chat templates rendered with (`date_string`; `Prompt.TemplateDate`), pinned per run. */
  templateDate: Schema.optionalKey(Schema.String),
  inputs: Schema.Array(FileHash),
  outputs: Schema.Array(FileHash),
  startedAt: Schema.String,
  finishedAt: Schema.optionalKey(Schema.String),
  /** Named wall-clock timings in milliseconds. */
  timings: Schema.Record(Schema.String, Schema.Finite),
  /** Stage-specific summary (counts, label balance, final metrics), small enough to read at a glance. */
  summary: Schema.optionalKey(Schema.Json)
})
export type RunManifest = typeof RunManifest.Type
