/**
 * Load a JSON or YAML config file and validate it against a schema, failing with the file, the field path and
 * the problem (YAML syntax errors carry their line and column).
 */
import { ConfigDecode } from "@realm-lm/core"
import { Effect, FileSystem, Option, Schema } from "effect"
import { parse as parseYaml, YAMLParseError } from "yaml"

/** A config file is missing, unparsable or does not match its schema. */
export class ConfigFileError extends Schema.TaggedError<ConfigFileError>()("ConfigFileError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** Parse config text by file extension (`.json`, `.yaml`, `.yml`). */
export const parseText = (path: string, text: string): Effect.Effect<unknown, ConfigFileError> =>
  Effect.try({
    try: () =>
      /\.ya?ml$/i.test(path) ? (parseYaml(text, { prettyErrors: true }) as unknown) : (JSON.parse(text) as unknown),
    catch: (cause) =>
      new ConfigFileError({
        path,
        detail:
          cause instanceof YAMLParseError
            ? `YAML syntax error at line ${cause.linePos?.[0].line ?? "?"}, column ${cause.linePos?.[0].col ?? "?"}: ${cause.message.split("\n")[0]}`
            : `invalid JSON: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  })

/** Read, parse and decode a config file. */
export const load = <A, I>(path: string, schema: Schema.Codec<A, I>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(path).pipe(Effect.orElseSucceed(() => false))
    if (!exists) return yield* new ConfigFileError({ path, detail: "file not found" })
    const text = yield* fs
      .readFileString(path)
      .pipe(Effect.mapError((e) => new ConfigFileError({ path, detail: `cannot read: ${e.message}` })))
    const raw = yield* parseText(path, text)
    return yield* ConfigDecode.decodeUnknownEffect(schema)(raw).pipe(
      Effect.mapError((e) => new ConfigFileError({ path, detail: `invalid config:\n${e.message}` }))
    )
  })

/** `load` for a file flag that may be left out: `undefined` when it was. */
export const loadGiven = <A, I>(
  path: Option.Option<string>,
  schema: Schema.Codec<A, I>
): Effect.Effect<A | undefined, ConfigFileError, FileSystem.FileSystem> =>
  Option.match(path, { onNone: () => Effect.succeed(undefined), onSome: (file) => load(file, schema) })
