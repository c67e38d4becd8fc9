/**
 * Field mapping: turn one raw record (any JSON object) into a `Problem` by dotted paths and templates. Pure
 * functions; errors are plain strings that the loader wraps with file and line.
 */
import type { Problem } from "@realm-lm/core"
import { Result } from "effect"
import type { Schema } from "effect"
import { formatNumber, parseNumber } from "../Answer.ts"

/** How records map to problems (decoded form of `Loader.FieldMapping`). */
export interface Mapping {
  readonly id?: string | undefined
  readonly question: string
  readonly choices?:
    | {
        readonly texts: string
        readonly labels?: string | undefined
        readonly textKey?: string | undefined
        readonly labelKey?: string | undefined
      }
    | undefined
  readonly gold: string
  readonly goldFormat: "plain" | "after-hash" | "max-score-key" | "first"
  readonly goldSteps?: string | undefined
  readonly answerType: "number" | "label" | "text" | "auto"
  readonly labels?: ReadonlyArray<string> | undefined
  readonly goldAliases?: Readonly<Record<string, string>> | undefined
  readonly metadata?: ReadonlyArray<string> | undefined
  readonly tolerance?: number | undefined
}

/** Value at a dotted path (`question.stem`, `lSolutions.0`); `undefined` when any part is missing. */
export const getPath = (record: unknown, path: string): unknown => {
  let value: unknown = record
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined
    value = Array.isArray(value) ? value[Number(key)] : (value as Record<string, unknown>)[key]
  }
  return value
}

const asText = (value: unknown): string | undefined => {
  if (typeof value === "string") return value.trim()
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  if (Array.isArray(value)) {
    const parts = value.map(asText)
    return parts.every((p) => p !== undefined) ? parts.join("\n") : undefined
  }
  return undefined
}

/** Fill `{path}` placeholders, or read a single path when the spec has no braces. */
export const renderTemplate = (record: unknown, spec: string): string => {
  if (!spec.includes("{")) {
    const value = asText(getPath(record, spec))
    if (value === undefined) throw new MappingError(`field "${spec}" is missing or not text`)
    return value
  }
  return spec.replace(/\{([^{}]+)\}/g, (_m, path: string) => {
    const value = asText(getPath(record, path))
    if (value === undefined) throw new MappingError(`field "${path}" is missing or not text`)
    return value
  })
}

/** A record does not fit its mapping (thrown and caught only inside this module). */
class MappingError extends Error {}

const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/** Choices as (label, text) pairs. */
const readChoices = (
  record: unknown,
  spec: NonNullable<Mapping["choices"]>
): Array<{ label: string; text: string }> => {
  const items = getPath(record, spec.texts)
  if (!Array.isArray(items)) throw new MappingError(`choices field "${spec.texts}" is not an array`)
  const labels = spec.labels === undefined ? undefined : getPath(record, spec.labels)
  return items.map((item: unknown, i) => {
    const text = typeof item === "string" ? item : asText(getPath(item, spec.textKey ?? "text"))
    const label = Array.isArray(labels)
      ? asText(labels[i])
      : typeof item === "object"
        ? asText(getPath(item, spec.labelKey ?? "label"))
        : undefined
    if (text === undefined) throw new MappingError(`choice ${i} has no text`)
    return { label: label ?? letters[i] ?? String(i + 1), text: text.trim() }
  })
}

const NUMERIC_GOLD = /^\s*-?[$\d.,/]+\s*(?:\([^()]*\))?\s*$/

/** Where a record comes from: its source name, split and position (for default ids), and the rulebook to attach. */
export interface MappingContext {
  readonly source: string
  readonly split: Problem.Split
  readonly index: number
  readonly rulebook?: string | undefined
}

/** Apply a mapping to one record, or say why it does not fit. `index` numbers records from 0 for default ids. */
export const toProblem = (
  record: unknown,
  mapping: Mapping,
  context: MappingContext
): Result.Result<Problem.Problem, string> => {
  try {
    return Result.succeed(mapRecord(record, mapping, context))
  } catch (error) {
    if (error instanceof MappingError) return Result.fail(error.message)
    throw error
  }
}

const mapRecord = (record: unknown, mapping: Mapping, context: MappingContext): Problem.Problem => {
  let question = renderTemplate(record, mapping.question)
  let labels = mapping.labels
  if (mapping.choices !== undefined) {
    const choices = readChoices(record, mapping.choices)
    const lines = choices.map((c) => (/^\(?[A-Za-z]\)/.test(c.text) ? c.text : `(${c.label}) ${c.text}`))
    question = `${question}\n${lines.join("\n")}`
    labels ??= choices.map((c) => c.label)
  }
  const rawGold = getPath(record, mapping.gold)
  let gold: string | undefined
  switch (mapping.goldFormat) {
    case "plain":
      gold = asText(rawGold)
      break
    case "first":
      gold = Array.isArray(rawGold) ? asText(rawGold[0]) : asText(rawGold)
      break
    case "after-hash": {
      const text = asText(rawGold)
      const at = text?.lastIndexOf("####") ?? -1
      gold = text === undefined || at < 0 ? undefined : text.slice(at + 4).trim()
      break
    }
    case "max-score-key": {
      if (rawGold !== null && typeof rawGold === "object" && !Array.isArray(rawGold)) {
        const entries = Object.entries(rawGold as Record<string, unknown>).filter(
          (e): e is [string, number] => typeof e[1] === "number"
        )
        gold = entries.toSorted((a, b) => b[1] - a[1])[0]?.[0]
      }
      break
    }
  }
  if (gold !== undefined && mapping.goldAliases?.[gold] !== undefined) gold = mapping.goldAliases[gold]
  if (gold === undefined || gold === "")
    throw new MappingError(`gold field "${mapping.gold}" is missing or empty (goldFormat ${mapping.goldFormat})`)
  const answerType: Problem.AnswerType =
    mapping.answerType === "auto" ? (NUMERIC_GOLD.test(gold) ? "number" : "text") : mapping.answerType
  if (answerType === "number") {
    const parsed = parseNumber(gold)
    if (parsed === undefined)
      throw new MappingError(
        `gold "${gold.slice(0, 40)}" (field "${mapping.gold}") is not a number${notANumberHint(gold, mapping)}`
      )
    gold = formatNumber(parsed.value)
  } else if (answerType === "label") {
    if (labels === undefined || labels.length === 0)
      throw new MappingError("label answers need `labels` or `choices` in the mapping")
    const match = labels.find((l) => l.toLowerCase() === (gold as string).toLowerCase())
    if (match === undefined) {
      throw new MappingError(
        `gold "${gold}" is not one of the labels ${labels.join(", ")}; rename other spellings with mapping.goldAliases (e.g. { "${gold}": "${labels[0]}" })`
      )
    }
    gold = match
  }
  const problem: {
    -readonly [K in keyof Problem.Problem]: Problem.Problem[K]
  } = {
    id:
      mapping.id === undefined
        ? `${context.source}/${context.split}/${context.index}`
        : `${context.source}/${renderTemplate(record, mapping.id)}`,
    domain: context.source,
    question,
    gold,
    answerType,
    difficulty: 0,
    split: context.split,
    metadata:
      mapping.tolerance === undefined || answerType !== "number"
        ? metadataOf(record, mapping.metadata)
        : { ...metadataOf(record, mapping.metadata), tolerance: mapping.tolerance }
  }
  if (answerType === "label" && labels !== undefined) problem.labels = labels
  if (context.rulebook !== undefined) problem.rulebook = context.rulebook
  if (mapping.goldSteps !== undefined) {
    const steps = stepsOf(asText(getPath(record, mapping.goldSteps)))
    if (steps.length > 0) problem.goldSteps = steps
  }
  return problem
}

/** The fix for a gold that is not a number: which answer type the data needs and the keys that set it. */
const notANumberHint = (gold: string, mapping: Mapping): string => {
  const declared =
    mapping.answerType === "auto" ? "" : ` (answer type "${mapping.answerType}", the default of mapping.answerType)`
  if (/^\(?[A-Za-z]\)?$/.test(gold.trim())) {
    return `${declared}: it looks like an option letter, so set mapping.answerType: label with mapping.choices (the field holding the options) or mapping.labels (e.g. [A, B, C, D])`
  }
  if (/^[\p{L}][\p{L}\s-]{0,20}$/u.test(gold.trim())) {
    return `${declared}: for a class such as Yes/No or True/False set mapping.answerType: label with mapping.labels (e.g. [Yes, No]); for free-text answers set mapping.answerType: text`
  }
  return `${declared}: set mapping.answerType: text for free-text answers, or auto to decide per record`
}

/** Solution lines before any `####`, without GSM8K's `<<a*b=c>>` calculator annotations. */
export const stepsOf = (text: string | undefined): Array<string> => {
  if (text === undefined) return []
  const body = text.includes("####") ? text.slice(0, text.lastIndexOf("####")) : text
  return body
    .split("\n")
    .map((l) => l.replace(/<<[^<>]*>>/g, "").trim())
    .filter((l) => l.length > 0)
}

const metadataOf = (record: unknown, paths: ReadonlyArray<string> | undefined): Record<string, Schema.Json> => {
  const out: Record<string, Schema.Json> = {}
  for (const path of paths ?? []) {
    const value = getPath(record, path)
    if (value !== undefined) out[path] = JSON.parse(JSON.stringify(value)) as Schema.Json
  }
  return out
}
