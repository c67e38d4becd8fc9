/**
 * Generated blocks in documentation: the text between `<!-- realm:NAME -->` and `<!-- /realm:NAME -->` is owned by
 * a command (`realm report --update`, `realm experiment --update`), so tables in READMEs are regenerated, never typed.
 */
import { Effect, FileSystem, Schema } from "effect"

/** The file has no block of that name, or its markers are malformed. */
export class MarkedBlockError extends Schema.TaggedError<MarkedBlockError>()("MarkedBlockError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

const markers = (name: string) => ({ open: `<!-- realm:${name} -->`, close: `<!-- /realm:${name} -->` })

/** `text` with the block `name` replaced by `content`; `undefined` when the markers are missing, repeated or out of order. */
export const replace = (text: string, name: string, content: string): string | undefined => {
  const { open, close } = markers(name)
  const start = text.indexOf(open)
  const end = text.indexOf(close)
  if (start < 0 || end < start || text.indexOf(open, start + 1) >= 0 || text.indexOf(close, end + 1) >= 0)
    return undefined
  return `${text.slice(0, start + open.length)}\n${content.trim()}\n${text.slice(end)}`
}

/** Replace the block `name` in the file at `path`. */
export const update = (path: string, name: string, content: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs
      .readFileString(path)
      .pipe(Effect.mapError((e) => new MarkedBlockError({ path, detail: `cannot read: ${e.message}` })))
    const next = replace(text, name, content)
    if (next === undefined) {
      const { open, close } = markers(name)
      return yield* new MarkedBlockError({
        path,
        detail: `needs exactly one "${open}" followed by one "${close}" where the generated text goes`
      })
    }
    yield* fs
      .writeFileString(path, next)
      .pipe(Effect.mapError((e) => new MarkedBlockError({ path, detail: `cannot write: ${e.message}` })))
  })
