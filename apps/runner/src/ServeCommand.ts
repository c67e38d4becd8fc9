/**
 * `realm serve <checkpoint>`: an OpenAI-compatible `/v1/chat/completions` for a trained model, on loopback unless
 * told otherwise, until Ctrl-C.
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { EvalJob } from "@realm-lm/pipeline"
import { Serve, ServerConfig } from "@realm-lm/server"
import * as ConfigFile from "./ConfigFile.ts"
import * as Flags from "./internal/flags.ts"
import * as ModelDir from "./ModelDir.ts"

/** `realm serve`. */
export const serve = Command.make(
  "serve",
  {
    checkpoint: Argument.Directory("checkpoint", { mustExist: false }).pipe(
      Argument.withDescription(
        "Hugging Face model directory (e.g. runs/demo/realm/final) or a run's method directory (runs/demo/realm)"
      )
    ),
    config: Flags.optional(
      Flag.File("config"),
      "server settings (JSON/YAML): host, port, modelName, apiKeyEnv, limits, batching, policy"
    ),
    host: Flags.optional(Flag.String("host"), "interface to listen on (default 127.0.0.1)"),
    port: Flags.optional(Flag.Int("port"), "TCP port (default 8000; 0 = any free port)"),
    model: Flags.optional(
      Flag.String("model-name"),
      "model id clients send (default the checkpoint directory's name; sft for runs/x/sft/final)"
    ),
    apiKeyEnv: Flags.optional(
      Flag.String("api-key-env"),
      "environment variable with the key clients must send as a Bearer token"
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const fromFile = yield* ConfigFile.loadGiven(flags.config, ServerConfig.ServerConfig)
      const settings: Record<string, unknown> = {
        ...fromFile,
        ...Flags.givenSettings([
          ["host", flags.host],
          ["port", flags.port],
          ["modelName", flags.model],
          ["apiKeyEnv", flags.apiKeyEnv]
        ])
      }
      const dir = yield* ModelDir.resolve(flags.checkpoint)
      if (settings.modelName === undefined) settings.modelName = EvalJob.methodLabel(dir)
      const served = yield* Serve.serve(dir, settings)
      yield* Console.log(
        `serving ${served.model} (${dir}) at ${served.baseUrl}${served.authenticated ? " (API key required)" : ""}`
      )
      yield* Console.log(
        `try: curl ${served.baseUrl}/chat/completions -H 'content-type: application/json' -d '{"model": "${served.model}", "messages": [{"role": "user", "content": "Hello"}]}'`
      )
      yield* Console.error("Ctrl-C stops the server")
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Serve a checkpoint as an OpenAI-compatible /v1/chat/completions (streaming, batched, loopback by default)"
  )
)
