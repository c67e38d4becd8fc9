/**
 * Contract: where the policy's base model comes from. A source writes or finds a Hugging Face model directory
 * (config, weights, tokenizer) that every training phase can start from: a small model made from scratch for the
 * run, an existing checkpoint directory, or a user's own (a download, a converted model, a pruned one).
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { CheckpointRef } from "./Checkpoint.ts"

/** The base model could not be made or found. */
export class ModelSourceFailed extends Schema.TaggedError<ModelSourceFailed>()("ModelSourceFailed", {
  source: Schema.String,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `base model (${this.source}): ${this.detail}`
  }
}

/** What the pipeline's base stage gives a source. */
export interface ModelRequest {
  /** A fresh directory the source may write the model into (`<runDir>/base/model`). */
  readonly outDir: string
  /** Root seed of the run (a source's own settings may fix another). */
  readonly seed: number
  /**
   * Texts the model will read and write (the verifier's prompts, with and without routes, and ideal completions for
   * a sample of the corpus), for a source that trains a tokenizer. Computed only when a source runs it.
   */
  readonly texts: Effect.Effect<ReadonlyArray<string>, ModelSourceFailed>
}

/** Makes or finds the base model. */
export class ModelSource extends Context.Service<
  ModelSource,
  {
    /** Short name for manifests and messages, e.g. `scratch`. */
    readonly name: string
    /** The base checkpoint (`kind: "base"`), its directory written under `request.outDir` or elsewhere. */
    readonly create: (request: ModelRequest) => Effect.Effect<CheckpointRef, ModelSourceFailed>
  }
>()("@realm-lm/core/ModelSource") {}
