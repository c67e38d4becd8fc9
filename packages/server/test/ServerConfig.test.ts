/**
 * Server settings: the limits' defaults, and bad values refused at decode time with the key's path.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ServerConfig from "../src/ServerConfig.ts"

describe("ServerConfig", () => {
  it.effect("fills the limits' defaults", () =>
    Effect.gen(function* () {
      const c = yield* ServerConfig.decode({})
      assert.deepStrictEqual(
        [
          c.maxBodyBytes,
          c.maxPromptBytes,
          c.maxPending,
          c.maxConnections,
          c.headersTimeoutMs,
          c.requestTimeoutMs,
          c.keepAliveTimeoutMs,
          c.specialTokensInContent
        ],
        [1_048_576, 65_536, 256, 256, 10_000, 60_000, 5_000, "encode"]
      )
    })
  )

  it.effect(
    "refuses non-positive limits, unknown special-token modes and a headers timeout past the request timeout",
    () =>
      Effect.gen(function* () {
        for (const [settings, key] of [
          [{ maxPromptBytes: 0 }, "maxPromptBytes"],
          [{ maxConnections: -1 }, "maxConnections"],
          [{ headersTimeoutMs: 1.5 }, "headersTimeoutMs"],
          [{ requestTimeoutMs: 0 }, "requestTimeoutMs"],
          [{ keepAliveTimeoutMs: 0 }, "keepAliveTimeoutMs"],
          [{ specialTokensInContent: "escape" }, "specialTokensInContent"],
          [{ headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 }, "headersTimeoutMs"]
        ] as const) {
          const e = yield* Effect.flip(ServerConfig.decode(settings as ServerConfig.ServerConfigInput))
          assert.include(e.message, key, JSON.stringify(settings))
        }
      })
  )
})
