/**
 * Reading an OpenAI chat-completions request body into what the server runs, field by field, the way OpenAI
 * answers bad ones: a 400 naming the field and what it accepts. Parameters this server cannot honour (tools,
 * penalties, log-probs) are refused rather than silently ignored, since ignoring them changes the output. Bodies
 * nested deeper than `maxJsonDepth` are refused before any field is read, so no check can recurse into them.
 */
import { Result } from "effect"
import * as ApiError from "./ApiError.ts"

/** One chat message (text only). */
export interface Message {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** A validated request. */
export interface ChatRequest {
  readonly model: string
  readonly messages: ReadonlyArray<Message>
  /** 0 = greedy. Default 1 (as OpenAI). */
  readonly temperature: number
  readonly topP: number
  /** 0 = off (a common non-OpenAI extension). */
  readonly topK: number
  readonly n: number
  /** Absent: the server's default. */
  readonly maxTokens: number | undefined
  readonly stop: ReadonlyArray<string>
  readonly seed: number | undefined
  readonly stream: boolean
  readonly includeUsage: boolean
}

/** Limits a request is checked against. */
export interface Limits {
  readonly maxN: number
}

/** Deepest nesting of arrays and objects a body may have; a chat request needs five levels. */
export const maxJsonDepth = 64

/** Accepted and ignored: they do not change what is generated. */
const ignored = new Set(["user", "metadata", "store", "parallel_tool_calls", "service_tier"])
const known = new Set([
  "model",
  "messages",
  "temperature",
  "top_p",
  "top_k",
  "n",
  "max_tokens",
  "max_completion_tokens",
  "stream_options",
  "stop",
  "seed",
  "stream",
  "frequency_penalty",
  "presence_penalty",
  "logprobs",
  "top_logprobs",
  "response_format",
  "tools",
  "tool_choice",
  "functions",
  "function_call",
  "logit_bias"
])

class Invalid {
  readonly error: ApiError.ApiError
  constructor(error: ApiError.ApiError) {
    this.error = error
  }
}
const invalid = (param: string, message: string, code: string | null = null): never => {
  throw new Invalid(ApiError.invalid(param, message, code))
}

/** A value for an error message: JSON, cut to 100 characters (bodies are depth-checked first, so this cannot overflow). */
const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v)
  return text.length > 100 ? `${text.slice(0, 100)}...` : text
}

/** Whether arrays and objects in `value` nest more than `limit` deep; iterative, so any depth is safe. */
const deeperThan = (value: unknown, limit: number): boolean => {
  const stack: Array<{ readonly node: object; readonly depth: number }> =
    typeof value === "object" && value !== null ? [{ node: value, depth: 1 }] : []
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.depth > limit) return true
    for (const child of Object.values(top.node))
      if (typeof child === "object" && child !== null) stack.push({ node: child as object, depth: top.depth + 1 })
  }
  return false
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const numberIn = (
  body: Record<string, unknown>,
  key: string,
  fallback: number,
  ok: (v: number) => boolean,
  range: string
): number => {
  const v = body[key]
  if (v === undefined || v === null) return fallback
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) invalid(key, `'${key}' must be ${range}, got ${show(v)}`)
  return v as number
}

const integer = (body: Record<string, unknown>, key: string, min: number, max: number): number | undefined => {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    invalid(key, `'${key}' must be an integer from ${min} to ${max}, got ${show(v)}`)
  return v as number
}

const contentText = (content: unknown, at: string): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content
      .map((part, j) => {
        if (isObject(part) && part.type === "text" && typeof part.text === "string") return part.text
        return invalid(
          `${at}.content[${j}]`,
          `only text content parts ({"type": "text", "text": ...}) are supported, got ${show(isObject(part) ? part.type : part)}`
        )
      })
      .join("")
  }
  return invalid(`${at}.content`, "message content must be a string or an array of text parts")
}

const message = (m: unknown, i: number): Message => {
  const at = `messages[${i}]`
  if (!isObject(m)) return invalid(at, `${at} must be an object with 'role' and 'content'`)
  const role = m.role === "developer" ? "system" : m.role
  if (role !== "system" && role !== "user" && role !== "assistant") {
    return invalid(
      `${at}.role`,
      `role must be 'system', 'developer', 'user' or 'assistant', got ${show(m.role)} (tool messages are not supported)`
    )
  }
  return { role, content: contentText(m.content, at) }
}

const stopList = (v: unknown): ReadonlyArray<string> => {
  if (v === undefined || v === null) return []
  const list = typeof v === "string" ? [v] : v
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === "string" && s.length > 0)) {
    return invalid("stop", "'stop' must be a non-empty string or an array of at most 4 non-empty strings")
  }
  return list as Array<string>
}

const refuse = (body: Record<string, unknown>) => {
  const unsupported = (key: string, why: string) =>
    invalid(key, `'${key}' is not supported by this server: ${why}`, "unsupported_parameter")
  for (const key of ["frequency_penalty", "presence_penalty"])
    if (body[key] !== undefined && body[key] !== null && body[key] !== 0) unsupported(key, "omit it or send 0")
  if (body.logprobs === true) unsupported("logprobs", "omit it or send false")
  if (body.top_logprobs !== undefined && body.top_logprobs !== null) unsupported("top_logprobs", "omit it")
  for (const key of ["tools", "tool_choice", "functions", "function_call"])
    if (body[key] !== undefined && body[key] !== null) unsupported(key, "the model writes plain text only")
  if (isObject(body.logit_bias) && Object.keys(body.logit_bias).length > 0) unsupported("logit_bias", "omit it")
  const format = body.response_format
  if (format !== undefined && format !== null && !(isObject(format) && format.type === "text"))
    unsupported("response_format", 'only {"type": "text"}')
  for (const key of Object.keys(body)) {
    if (!known.has(key) && !ignored.has(key))
      invalid(key, `unrecognized request argument supplied: ${key}`, "unknown_parameter")
  }
}

const read = (body: unknown, limits: Limits): ChatRequest => {
  if (!isObject(body)) return invalid("", "the request body must be a JSON object")
  refuse(body)
  if (typeof body.model !== "string" || body.model.length === 0)
    invalid("model", "'model' is required: the id this server lists at GET /v1/models")
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    invalid("messages", "'messages' must be a non-empty array of {role, content}")
  const messages = (body.messages as Array<unknown>).map(message)
  const maxCompletionTokens = integer(body, "max_completion_tokens", 1, Number.MAX_SAFE_INTEGER)
  const maxTokens = integer(body, "max_tokens", 1, Number.MAX_SAFE_INTEGER) ?? maxCompletionTokens
  const stream = body.stream ?? false
  if (typeof stream !== "boolean") invalid("stream", "'stream' must be a boolean")
  const options = body.stream_options
  if (options !== undefined && options !== null && !isObject(options))
    invalid("stream_options", "'stream_options' must be an object")
  if (isObject(options) && !stream) invalid("stream_options", "'stream_options' is only allowed when 'stream' is true")
  const includeUsage = isObject(options) && options.include_usage === true
  return {
    model: body.model as string,
    messages,
    temperature: numberIn(body, "temperature", 1, (v) => v >= 0 && v <= 2, "a number from 0 to 2"),
    topP: numberIn(body, "top_p", 1, (v) => v > 0 && v <= 1, "a number in (0, 1]"),
    topK: integer(body, "top_k", 0, Number.MAX_SAFE_INTEGER) ?? 0,
    n: integer(body, "n", 1, limits.maxN) ?? 1,
    maxTokens,
    stop: stopList(body.stop),
    seed: integer(body, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    stream: stream as boolean,
    includeUsage
  }
}

/** Validate a parsed JSON body: the request, or the 400 to answer with. */
export const parse = (body: unknown, limits: Limits): Result.Result<ChatRequest, ApiError.ApiError> => {
  if (deeperThan(body, maxJsonDepth)) return Result.fail(ApiError.tooDeep(maxJsonDepth))
  try {
    return Result.succeed(read(body, limits))
  } catch (e) {
    if (e instanceof Invalid) return Result.fail(e.error)
    throw e
  }
}
