/**
 * Errors in OpenAI's shape: an HTTP status and `{ "error": { message, type, param, code } }`, so clients written
 * for OpenAI report them as they would the real thing.
 */

/** An error response. */
export interface ApiError {
  readonly status: number
  readonly message: string
  /** `invalid_request_error`, `authentication_error`, `not_found_error`, `rate_limit_error` or `server_error`. */
  readonly type: string
  /** The request field at fault, when there is one. */
  readonly param: string | null
  readonly code: string | null
}

/** The JSON body of an error response. */
export const body = (e: ApiError) => ({ error: { message: e.message, type: e.type, param: e.param, code: e.code } })

/** 400: a field is missing, mistyped or out of range. */
export const invalid = (param: string | null, message: string, code: string | null = null): ApiError => ({
  status: 400,
  message,
  type: "invalid_request_error",
  param,
  code
})

/** 400: the body is not JSON. */
export const notJson = (detail: string): ApiError =>
  invalid(
    null,
    `the request body is not valid JSON (${detail}); send a JSON object with Content-Type: application/json`,
    "invalid_json"
  )

/** 413: the body is larger than the server accepts. */
export const tooLarge = (limit: number): ApiError => ({
  status: 413,
  message: `the request body exceeds ${limit} bytes; send a shorter conversation (or raise maxBodyBytes in the server config)`,
  type: "invalid_request_error",
  param: null,
  code: "request_too_large"
})

/** 413: the messages are larger than the server encodes; found before any encoding. */
export const promptTooLarge = (bytes: string, limit: number): ApiError => ({
  status: 413,
  message: `the messages take ${bytes} bytes of text, more than this server's limit of ${limit}; shorten them (or raise maxPromptBytes in the server config)`,
  type: "invalid_request_error",
  param: "messages",
  code: "prompt_too_large"
})

/** 400: the JSON body nests deeper than any chat request needs. */
export const tooDeep = (limit: number): ApiError =>
  invalid(
    null,
    `the request body nests JSON arrays and objects more than ${limit} levels deep; a chat request needs only a few`,
    "json_too_deep"
  )

/** 400: a message contains the text of a special token, and the server is set to refuse that. */
export const specialTokenText = (param: string, token: string): ApiError =>
  invalid(
    param,
    `the message contains the special token text ${JSON.stringify(token)}, which this server refuses in content (specialTokensInContent: reject); remove it`,
    "special_token_in_content"
  )

/** 401: the API key is missing or wrong. */
export const unauthorized: ApiError = {
  status: 401,
  message: "missing or incorrect API key: send it as 'Authorization: Bearer <key>'",
  type: "authentication_error",
  param: null,
  code: "invalid_api_key"
}

/** 404: no such route. */
export const noRoute = (method: string, path: string): ApiError => ({
  status: 404,
  message: `no route ${method} ${path}; this server offers POST /v1/chat/completions, GET /v1/models and GET /health`,
  type: "not_found_error",
  param: null,
  code: "unknown_url"
})

/** 405: the route exists with another method. */
export const wrongMethod = (method: string, path: string, allowed: string): ApiError => ({
  status: 405,
  message: `${path} does not accept ${method}; use ${allowed}`,
  type: "invalid_request_error",
  param: null,
  code: "method_not_allowed"
})

/** 404: the request names another model. */
export const unknownModel = (asked: string, served: string): ApiError => ({
  status: 404,
  message: `the model '${asked}' does not exist on this server; it serves '${served}'`,
  type: "invalid_request_error",
  param: "model",
  code: "model_not_found"
})

/** 429: too many requests are waiting. */
export const overloaded = (pending: number): ApiError => ({
  status: 429,
  message: `the server is busy (${pending} requests waiting, the limit maxPending in the server config); retry after a short wait`,
  type: "rate_limit_error",
  param: null,
  code: "server_overloaded"
})

/** 400: the request line's URL cannot be parsed. */
export const badUrl = (url: string): ApiError =>
  invalid(null, `the URL ${JSON.stringify(url.slice(0, 200))} is malformed`, "invalid_url")

/** 500: a bug, not the request's fault. */
export const unexpected = (detail: string): ApiError => ({
  status: 500,
  message: `internal server error: ${detail}`,
  type: "server_error",
  param: null,
  code: null
})

/** 500: generation failed. */
export const internal = (detail: string): ApiError => ({
  status: 500,
  message: `generation failed: ${detail}`,
  type: "server_error",
  param: null,
  code: null
})
