/**
 * Server settings (`realm serve --config`): where to listen, how long to wait to batch concurrent requests, and
 * the limits that keep one client from starving the rest (body and prompt bytes, waiting requests, connections,
 * timeouts). Every key is optional; the README's "Limits" section explains each.
 */
import { ConfigDecode } from "@realm-lm/core"
import { Schema } from "effect"

const { PositiveInt, withDefault } = ConfigDecode

/** Server settings. */
export const ServerConfig = Schema.Struct({
  /** Interface to listen on. Default loopback; anything else is reachable from the network. */
  host: Schema.NonEmptyString.pipe(withDefault("127.0.0.1")),
  /** TCP port; 0 picks a free one. Default 8000. */
  port: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })).pipe(withDefault(8000)),
  /** The model id clients send and `/v1/models` lists. Default the checkpoint directory's name. */
  modelName: Schema.optionalKey(Schema.NonEmptyString),
  /** Environment variable holding an API key clients must send as `Authorization: Bearer`. Default none. */
  apiKeyEnv: Schema.optionalKey(Schema.NonEmptyString),
  /** Largest request body in bytes (413 beyond). Default 1 MiB. */
  maxBodyBytes: PositiveInt.pipe(withDefault(1_048_576)),
  /**
   * Largest prompt, the UTF-8 bytes of all message contents, checked before the prompt is encoded (413 beyond).
   * Encoding runs on the event loop at roughly 1-2 µs per byte, so this bounds how long one prompt can hold up every
   * other request. The prompt arrives inside the body, so raising it past `maxBodyBytes` needs that raised too.
   * Default 64 KiB.
   */
  maxPromptBytes: PositiveInt.pipe(withDefault(65_536)),
  /** Completion tokens when a request sets no `max_tokens`. Default 256. */
  defaultMaxTokens: PositiveInt.pipe(withDefault(256)),
  /** Largest `n` (completions per request). Default 16. */
  maxN: PositiveInt.pipe(withDefault(16)),
  /** How long the first request of a batch waits for others to join, in ms. Default 10. */
  batchWindowMs: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(10)),
  /** Most sequences (sum of `n`) in one generation batch; a request is never split. Default 64. */
  maxBatchRows: PositiveInt.pipe(withDefault(64)),
  /** Requests admitted and not yet generating (waiting to be encoded or for a batch) before new ones get 429. Default 256. */
  maxPending: PositiveInt.pipe(withDefault(256)),
  /** Open connections; further ones are closed at once. Default 256. */
  maxConnections: PositiveInt.pipe(withDefault(256)),
  /** Time a client has to send the request headers, in ms (408 and close beyond). Default 10000. */
  headersTimeoutMs: PositiveInt.pipe(withDefault(10_000)),
  /** Time a client has to send the whole request, headers and body, in ms (408 and close beyond). Default 60000. */
  requestTimeoutMs: PositiveInt.pipe(withDefault(60_000)),
  /** How long an idle keep-alive connection stays open, in ms. Default 5000. */
  keepAliveTimeoutMs: PositiveInt.pipe(withDefault(5_000)),
  /**
   * Text of a special token (such as `<|im_end|>`) inside a message: `encode` turns it into that token, as trainers
   * do, so a client can write chat markers; `reject` answers 400. Default `encode`.
   */
  specialTokensInContent: Schema.Literals(["encode", "reject"]).pipe(withDefault("encode")),
  /** Root seed of requests without a `seed` (each gets its own stream). Default 0. */
  seed: Schema.Int.pipe(withDefault(0)),
  /** `@realm-lm/lm` Policy settings (device, threads, generation buckets). Default `{}`. */
  policy: Schema.Unknown.pipe(withDefault({}))
}).check(
  Schema.makeFilter((c) =>
    c.headersTimeoutMs > c.requestTimeoutMs
      ? { path: ["headersTimeoutMs"], issue: "must not exceed requestTimeoutMs (the headers are part of the request)" }
      : undefined
  )
)
/** Decoded server settings. */
export type ServerConfig = typeof ServerConfig.Type
/** Server settings as written in a file. */
export type ServerConfigInput = typeof ServerConfig.Encoded

/** Decode settings, failing with the field path. */
export const decode = ConfigDecode.decodeUnknownEffect(ServerConfig)

/** Whether a host name only accepts connections from this machine. */
export const isLoopback = (host: string): boolean => host === "localhost" || host === "::1" || host.startsWith("127.")
