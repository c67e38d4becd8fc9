/**
 * The chat-template date of a run: chosen when the run directory is first used (`run.templateDate`, else that day),
 * kept in `<runDir>/run.json`, recorded in every stage manifest, and provided as core's `Prompt.TemplateDate` to
 * every stage, so a resumed or re-run pipeline renders each prompt to the same text on any later day.
 */
import { Prompt } from "@realm-lm/core"
import { RunDir } from "@realm-lm/core/node"
import { Clock, Effect, FileSystem, Path, Schema } from "effect"

/** The file under the run directory that pins run-wide settings. */
export const file = "run.json"

const RunFile = Schema.Struct({ templateDate: Schema.String })

/** `run.templateDate` differs from the date the run directory was started with. */
export class TemplateDateConflict extends Schema.TaggedError<TemplateDateConflict>()("TemplateDateConflict", {
  file: Schema.String,
  pinned: Schema.String,
  wanted: Schema.String
}) {
  override get message(): string {
    return (
      `${this.file} pins the chat-template date of this run to "${this.pinned}" (its prompts were rendered with it), ` +
      `but run.templateDate is "${this.wanted}": set run.templateDate to "${this.pinned}" or remove it, or use a new run directory`
    )
  }
}

/** The run's template date: the pinned one, else `wanted`, else today (UTC), written to `<runDir>/run.json` when new. */
export const pin = (runDir: string, wanted: string | undefined) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const at = path.join(runDir, file)
    if (yield* fs.exists(at)) {
      const pinned = (yield* Schema.decodeUnknownEffect(Schema.fromJsonString(RunFile))(yield* fs.readFileString(at)))
        .templateDate
      if (wanted !== undefined && wanted !== pinned)
        return yield* new TemplateDateConflict({ file: at, pinned, wanted })
      return pinned
    }
    const templateDate = wanted ?? Prompt.formatTemplateDate(new Date(yield* Clock.currentTimeMillis))
    yield* fs.makeDirectory(runDir, { recursive: true })
    yield* RunDir.writeJsonAtomic(at, { templateDate })
    return templateDate
  })
