/**
 * The HTTP face of a `ChatEngine` on node:http: `POST /v1/chat/completions` (JSON or server-sent events),
 * `GET /v1/models`, `GET /health`. Every request runs as a fiber of the server's scope; every failure becomes an
 * OpenAI-style error response (or, once a stream has started, an error event) and never takes the server down.
 * Connections are capped (`maxConnections`) and clients must send their request in time (`headersTimeoutMs`,
 * `requestTimeoutMs`), so slow or numerous clients cannot hold the server's sockets and memory. Closing the scope
 * stops listening and ends open connections.
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { Scope } from "effect"
import { Cause, Effect, FiberSet, Redacted, Result, Schema } from "effect"
import * as ApiError from "./ApiError.ts"
import * as ApiKey from "./ApiKey.ts"
import type { ChatEngine } from "./ChatEngine.ts"
import * as ChatRequest from "./ChatRequest.ts"
import * as ChatResponse from "./ChatResponse.ts"
import type { ServerConfig } from "./ServerConfig.ts"

/** The server could not start listening. */
export class ListenFailed extends Schema.TaggedError<ListenFailed>()("ListenFailed", {
  host: Schema.String,
  port: Schema.Int,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot listen on ${this.host}:${this.port}: ${this.detail}${/EADDRINUSE/.test(this.detail) ? " (the port is taken: pick another with --port, or 0 for any free port)" : ""}`
  }
}

/** A listening server. */
export interface HttpServer {
  /** Base URL clients use, ending in `/v1`. */
  readonly baseUrl: string
  readonly port: number
}

const sendJson = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  if (res.headersSent) return
  const text = JSON.stringify(value)
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...headers
  })
  res.end(text)
}

const sendError = (res: ServerResponse, e: ApiError.ApiError) =>
  sendJson(res, e.status, ApiError.body(e), e.status === 429 ? { "retry-after": "1" } : {})

/** Bodies past the limit are read and discarded (so the client sees the 413, not a reset) up to this many bytes. */
const drainLimit = 64 * 1024 * 1024

/** The body as text, or a 413 once it passes `limit` bytes (the rest is drained, up to `drainLimit`). */
const readBody = (req: IncomingMessage, limit: number) =>
  Effect.callback<string, ApiError.ApiError>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let over = false
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (over) {
        if (size > drainLimit) req.destroy()
        return
      }
      if (size > limit) {
        over = true
        chunks.length = 0
        resume(Effect.fail(ApiError.tooLarge(limit)))
      } else chunks.push(chunk)
    })
    req.on("end", () => {
      if (!over) resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    })
    req.on("error", (e) => {
      if (!over) resume(Effect.fail(ApiError.invalid(null, `the request body could not be read: ${e.message}`)))
    })
    req.on("close", () => {
      // Closed before its end (the client left, or requestTimeoutMs passed): nobody is left to answer.
      if (!over && !req.complete) resume(Effect.interrupt)
    })
  })

const parseJson = (text: string) =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (e) => ApiError.notJson(e instanceof Error ? e.message : String(e))
  })

/** Answer one chat-completions request. */
const chat = (engine: ChatEngine, config: ServerConfig, req: IncomingMessage, res: ServerResponse) =>
  Effect.gen(function* () {
    const json = yield* parseJson(yield* readBody(req, config.maxBodyBytes))
    const parsed = ChatRequest.parse(json, { maxN: config.maxN })
    if (Result.isFailure(parsed)) return yield* Effect.fail(parsed.failure)
    const request = parsed.success
    const abandon = new AbortController()
    res.on("close", () => {
      if (!res.writableFinished) abandon.abort()
    })
    const envelope = {
      id: `chatcmpl-${randomUUID().replaceAll("-", "")}`,
      created: Math.floor(Date.now() / 1000),
      model: engine.model
    }
    if (!request.stream) {
      const done = yield* engine.complete(request, { signal: abandon.signal })
      return sendJson(res, 200, ChatResponse.completion(envelope, done.choices, done.usage))
    }
    // Headers go out with the first event, so errors found before generation still get a status code.
    const started = new Set<number>()
    const event = (value: unknown) => {
      if (!res.headersSent)
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          connection: "keep-alive"
        })
      if (!res.destroyed) res.write(`data: ${JSON.stringify(value)}\n\n`)
    }
    const done = yield* engine.complete(request, {
      signal: abandon.signal,
      onDelta: (index, text, finished) => {
        if (!started.has(index)) {
          started.add(index)
          event(ChatResponse.chunk(envelope, index, { role: "assistant", content: "" }, null, request.includeUsage))
        }
        if (text !== "") event(ChatResponse.chunk(envelope, index, { content: text }, null, request.includeUsage))
        if (finished !== undefined) event(ChatResponse.chunk(envelope, index, {}, finished, request.includeUsage))
      }
    })
    if (request.includeUsage) event(ChatResponse.usageChunk(envelope, done.usage))
    res.end("data: [DONE]\n\n")
  }).pipe(
    Effect.catch((e: ApiError.ApiError) =>
      Effect.sync(() => {
        if (!res.headersSent) return sendError(res, e)
        // Mid-stream: OpenAI-style error event, then close the stream.
        if (!res.destroyed) res.end(`data: ${JSON.stringify(ApiError.body(e))}\n\n`)
      })
    )
  )

/** The path of a request URL without trailing slashes, or `undefined` when it does not parse. */
const pathOf = (url: string): string | undefined => {
  try {
    return new URL(url, "http://localhost").pathname.replace(/\/+$/, "") || "/"
  } catch {
    return undefined
  }
}

const decoded = (part: string): string | undefined => {
  try {
    return decodeURIComponent(part)
  } catch {
    return undefined
  }
}

const route = (
  engine: ChatEngine,
  config: ServerConfig,
  authorized: ((header: string | undefined) => boolean) | undefined,
  req: IncomingMessage,
  res: ServerResponse
) =>
  Effect.gen(function* () {
    const method = req.method ?? "GET"
    const parsed = pathOf(req.url ?? "/")
    if (parsed === undefined) return sendError(res, ApiError.badUrl(req.url ?? ""))
    const path = parsed
    if (path === "/health") {
      return method === "GET"
        ? sendJson(res, 200, { status: "ok", model: engine.model, pending: engine.pending(), ...engine.stats() })
        : sendError(res, ApiError.wrongMethod(method, path, "GET"))
    }
    if (authorized !== undefined && !authorized(req.headers.authorization)) return sendError(res, ApiError.unauthorized)
    if (path === "/v1/chat/completions") {
      return method === "POST"
        ? yield* chat(engine, config, req, res)
        : sendError(res, ApiError.wrongMethod(method, path, "POST"))
    }
    if (path === "/v1/models" || path.startsWith("/v1/models/")) {
      if (method !== "GET") return sendError(res, ApiError.wrongMethod(method, path, "GET"))
      const list = ChatResponse.models(engine.model, Math.floor(Date.now() / 1000))
      if (path === "/v1/models") return sendJson(res, 200, list)
      const id = decoded(path.slice("/v1/models/".length))
      if (id === undefined) return sendError(res, ApiError.badUrl(req.url ?? ""))
      return id === engine.model
        ? sendJson(res, 200, list.data[0])
        : sendError(res, ApiError.unknownModel(id, engine.model))
    }
    return sendError(res, ApiError.noRoute(method, path))
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.gen(function* () {
        if (Cause.hasInterruptsOnly(cause)) return
        yield* Effect.logError("request failed", cause)
        const e = ApiError.unexpected(Cause.pretty(cause).split("\n")[0] ?? "unexpected error")
        if (!res.headersSent) sendError(res, e)
        else if (!res.destroyed) res.end(`data: ${JSON.stringify(ApiError.body(e))}\n\n`)
      })
    )
  )

/** node:http checks both request timeouts this often (its default, 30 s, would let them run 30 s late). */
const checkEvery = (config: ServerConfig): number =>
  Math.min(1000, Math.max(10, Math.floor(config.headersTimeoutMs / 4)))

/** Listen on `config.host:config.port` until the scope closes. */
export const make = (
  engine: ChatEngine,
  config: ServerConfig,
  apiKey: Redacted.Redacted<string> | undefined
): Effect.Effect<HttpServer, ListenFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const runFork = yield* FiberSet.makeRuntime<never, void, never>()
    const authorized = apiKey === undefined ? undefined : ApiKey.make(Redacted.value(apiKey))
    const options = {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkEvery(config)
    }
    const server = yield* Effect.acquireRelease(
      Effect.callback<Server, ListenFailed>((resume) => {
        const s = createServer(options, (req, res) => {
          runFork(route(engine, config, authorized, req, res))
        })
        s.maxConnections = config.maxConnections // beyond it, node closes new connections at once
        s.once("error", (e) =>
          resume(Effect.fail(new ListenFailed({ host: config.host, port: config.port, detail: e.message })))
        )
        s.listen(config.port, config.host, () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.callback<void>((resume) => {
          s.close(() => resume(Effect.void))
          s.closeAllConnections()
        })
    )
    server.on("error", () => undefined)
    const { port } = server.address() as AddressInfo
    const host = config.host.includes(":") ? `[${config.host}]` : config.host
    return { baseUrl: `http://${host}:${port}/v1`, port }
  })
