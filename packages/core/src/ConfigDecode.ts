/**
 * Strict decoding of user-written settings: unknown keys are errors, reported with their path and the nearest known
 * key ("did you mean `apiKeyEnv`?"), so a misspelt setting never silently falls back to its default. Every stage
 * decodes its config through `decodeResult` / `decodeUnknownEffect`; `format` renders any schema issue the same way.
 */
import { Effect, Function, Result, Schema, SchemaAST, SchemaIssue } from "effect"

/** Parse options for settings: collect every problem, and fail on keys the schema does not declare. */
export const strict: SchemaAST.ParseOptions = { errors: "all", onExcessProperty: "error" }

/** An integer greater than 0 (counts, sizes, steps). */
export const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/** An integer of at least 0. */
export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * A settings key that may be left out: absent, it decodes to `value` (given in the encoded form, so it passes the
 * schema's checks like a written value). Both `schema.pipe(withDefault(value))` and `withDefault(schema, value)`.
 */
export const withDefault: {
  <S extends Schema.Top>(value: S["Encoded"]): (schema: S) => Schema.withDecodingDefaultKey<S>
  <S extends Schema.Top>(schema: S, value: S["Encoded"]): Schema.withDecodingDefaultKey<S>
} = Function.dual(2, <S extends Schema.Top>(schema: S, value: S["Encoded"]): Schema.withDecodingDefaultKey<S> =>
  schema.pipe(Schema.withDecodingDefaultKey<S>(Effect.succeed(value)))
)

/** Edit distance with adjacent transpositions (optimal string alignment), for key suggestions. */
export const editDistance = (a: string, b: string): number => {
  const rows = a.length + 1
  const cols = b.length + 1
  const d = new Float64Array(rows * cols)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1)
      d[i * cols + j] = best
    }
  }
  return d[rows * cols - 1]!
}

/** Keys compared without case, `_` or `-`, so `learning_rate` is one edit from `learningRate`'s spelling. */
const normal = (key: string): string => key.toLowerCase().replace(/[_-]/g, "")

/**
 * The known key nearest to `key`, when it is close enough to be a likely misspelling (at most a third of its
 * length in edits, and at least one) or a truncation of it (`apiKey` for `apiKeyEnv`); `undefined` otherwise.
 */
export const nearest = (key: string, known: ReadonlyArray<string>): string | undefined => {
  const target = normal(key)
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const other = normal(candidate)
    const truncated =
      Math.min(target.length, other.length) >= 3 && (other.startsWith(target) || target.startsWith(other))
    const distance = truncated ? 1 : editDistance(target, other)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(1, Math.floor(target.length / 3)) ? best : undefined
}

/** `a.b[0].c` for a property path. */
export const pathString = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((k, i) => (typeof k === "number" ? `[${k}]` : `${i === 0 ? "" : "."}${String(k)}`)).join("")

/** Declared keys of an object schema node (empty for anything else). */
const declaredKeys = (ast: SchemaAST.AST): ReadonlyArray<string> =>
  SchemaAST.isObjects(ast) ? ast.propertySignatures.map((p) => String(p.name)) : []

/** Number of leaf problems under an issue, to pick the union member that came closest. */
const leafCount = (issue: SchemaIssue.Issue): number => {
  switch (issue._tag) {
    case "Pointer":
    case "Filter":
    case "Encoding":
      return leafCount(issue.issue)
    case "Composite":
    case "AnyOf":
      return issue.issues.reduce((n, i) => n + leafCount(i), 0)
    default:
      return 1
  }
}

/** The message of one issue node (no unknown keys below it) as the default formatter writes it. */
const defaultLines = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): Array<string> =>
  SchemaIssue.makeFormatterStandardSchemaV1()(issue).issues.map((i) => {
    const full = [...path, ...(i.path ?? []).map((p) => (typeof p === "object" ? p.key : p))]
    return full.length === 0 ? i.message : `${pathString(full)}: ${i.message}`
  })

/**
 * One line per problem: unknown keys as `path: unknown key "k"; did you mean "x"? (known keys: …)`, everything else
 * as the default formatter says it. Of a union whose every member failed, only the member with the fewest problems
 * is reported (the one the user most likely meant).
 */
export const formatLines = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey> = []): Array<string> => {
  switch (issue._tag) {
    case "Pointer":
      return formatLines(issue.issue, [...path, ...issue.path])
    case "Composite":
      return issue.issues.flatMap((i) => formatLines(i, path))
    case "Encoding":
      return formatLines(issue.issue, path)
    case "AnyOf": {
      if (issue.issues.length === 0) return defaultLines(issue, path)
      const closest = issue.issues.reduce((a, b) => (leafCount(b) < leafCount(a) ? b : a))
      return formatLines(closest, path)
    }
    case "UnexpectedKey": {
      const key = String(path[path.length - 1] ?? "")
      const known = declaredKeys(issue.ast)
      const guess = nearest(key, known)
      const hint = guess !== undefined ? `; did you mean "${guess}"?` : ""
      const list = known.length > 0 ? ` (known keys: ${known.join(", ")})` : ""
      return [`${pathString(path)}: unknown key "${key}"${hint}${list}`]
    }
    default:
      return defaultLines(issue, path)
  }
}

/** The text of a schema error or issue, one problem per line (duplicates removed). */
export const format = (error: Schema.SchemaError | SchemaIssue.Issue): string =>
  [...new Set(formatLines(SchemaIssue.isIssue(error) ? error : error.issue))].join("\n")

/** Decode user settings strictly; the failure is the formatted text. */
export const decodeResult = <S extends Schema.Top>(schema: S) => {
  const decode = Schema.decodeUnknownResult(schema as unknown as Schema.Codec<S["Type"], S["Encoded"], never>)
  return (input: unknown): Result.Result<S["Type"], string> => Result.mapError(decode(input, strict), (e) => format(e))
}

/** A `Schema.SchemaError` whose message is `format`'s (unknown keys with suggestions), for APIs typed with SchemaError. */
export class SettingsError extends Schema.SchemaError {
  override get message(): string {
    return format(this.issue)
  }
}

/** `Schema.decodeUnknownEffect` with the strict options; the error stays a `Schema.SchemaError` (a `SettingsError`). */
export const decodeUnknownEffect = <S extends Schema.Top>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema as unknown as Schema.Codec<S["Type"], S["Encoded"], never>)
  return (input: unknown): Effect.Effect<S["Type"], Schema.SchemaError> =>
    Effect.mapError(decode(input, strict), (e) => new SettingsError(e.issue))
}
