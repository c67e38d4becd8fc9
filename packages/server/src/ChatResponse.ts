/**
 * The JSON OpenAI clients expect: a `chat.completion` object, or `chat.completion.chunk` objects for a stream
 * (a role chunk, content deltas, a chunk with the finish reason per choice, and optionally a usage chunk).
 */

/** OpenAI's finish reasons (`stop`: end of sequence or a stop sequence; `length`: the token or context limit). */
export type FinishReason = "stop" | "length"

/** Token counts of one request. */
export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
}

/** One finished choice. */
export interface Choice {
  readonly text: string
  readonly finishReason: FinishReason
}

/** What every object of one response shares. */
export interface Envelope {
  readonly id: string
  /** Unix seconds. */
  readonly created: number
  readonly model: string
}

const usageJson = (u: Usage) => ({
  prompt_tokens: u.promptTokens,
  completion_tokens: u.completionTokens,
  total_tokens: u.promptTokens + u.completionTokens
})

/** A non-streaming response body. */
export const completion = (e: Envelope, choices: ReadonlyArray<Choice>, usage: Usage) => ({
  id: e.id,
  object: "chat.completion",
  created: e.created,
  model: e.model,
  choices: choices.map((c, index) => ({
    index,
    message: { role: "assistant", content: c.text },
    logprobs: null,
    finish_reason: c.finishReason
  })),
  usage: usageJson(usage)
})

/**
 * A stream chunk for choice `index`: the first carries the role, the last the finish reason. When the request asked
 * for usage, every chunk but the final usage chunk has `usage: null`, as at OpenAI.
 */
export const chunk = (
  e: Envelope,
  index: number,
  delta: { readonly role?: "assistant"; readonly content?: string },
  finishReason: FinishReason | null,
  withUsage = false
) => ({
  id: e.id,
  object: "chat.completion.chunk",
  created: e.created,
  model: e.model,
  choices: [{ index, delta, logprobs: null, finish_reason: finishReason }],
  ...(withUsage ? { usage: null } : {})
})

/** The usage chunk sent last when the request asked `stream_options.include_usage`. */
export const usageChunk = (e: Envelope, usage: Usage) => ({
  id: e.id,
  object: "chat.completion.chunk",
  created: e.created,
  model: e.model,
  choices: [],
  usage: usageJson(usage)
})

/** The models list of `GET /v1/models`. */
export const models = (model: string, created: number) => ({
  object: "list",
  data: [{ id: model, object: "model", created, owned_by: "realm-lm" }]
})
