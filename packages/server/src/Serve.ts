/**
 * Serving a checkpoint: load it as a policy, start the chat engine and the HTTP server, all inside one scope.
 */
import { Policy } from "@realm-lm/lm"
import { Config, Effect, Path, Redacted, Schema } from "effect"
import * as ChatEngine from "./ChatEngine.ts"
import * as HttpServer from "./HttpServer.ts"
import { decode, isLoopback } from "./ServerConfig.ts"
import type { ServerConfigInput } from "./ServerConfig.ts"

/** The environment variable named by `apiKeyEnv` is not set (or empty). */
export class MissingServerKey extends Schema.TaggedError<MissingServerKey>()("MissingServerKey", {
  variable: Schema.String
}) {
  override get message(): string {
    return `the environment variable ${this.variable} (apiKeyEnv) is not set: export the key clients must send, or drop apiKeyEnv`
  }
}

/** A running server. */
export interface Served {
  readonly baseUrl: string
  readonly port: number
  readonly model: string
  readonly engine: ChatEngine.ChatEngine
  /** Whether clients must send the API key. */
  readonly authenticated: boolean
}

/** Serve the Hugging Face model directory `dir` until the scope closes. */
export const serve = (dir: string, settings: ServerConfigInput = {}) =>
  Effect.gen(function* () {
    const config = yield* decode(settings)
    const path = yield* Path.Path
    const model = config.modelName ?? path.basename(path.resolve(dir))
    const keyEnv = config.apiKeyEnv
    const apiKey =
      keyEnv === undefined
        ? undefined
        : yield* Config.Redacted(keyEnv).pipe(
            Effect.filterOrFail(
              (key) => Redacted.value(key).trim() !== "",
              () => undefined
            ),
            Effect.mapError(() => new MissingServerKey({ variable: keyEnv }))
          )
    if (apiKey === undefined && !isLoopback(config.host)) {
      yield* Effect.logWarning(
        `serving on ${config.host} without an API key: anyone who can reach this port can use the model (set apiKeyEnv)`
      )
    }
    const policy = yield* Policy.load(dir, config.policy as Policy.PolicyConfig).pipe(
      Effect.mapError((e) => new ChatEngine.ModelUnservable({ model: dir, detail: e.message }))
    )
    const engine = yield* ChatEngine.make(policy, model, config)
    const server = yield* HttpServer.make(engine, config, apiKey)
    return {
      baseUrl: server.baseUrl,
      port: server.port,
      model,
      engine,
      authenticated: apiKey !== undefined
    } satisfies Served
  })
