/**
 * Base URLs that cannot work are config errors, caught when the config is decoded (`realm config check`, and
 * `realm corpus build` before any request): credentials in the URL (they belong in the variable named by
 * `apiKeyEnv`), a query string or fragment (`/chat/completions` would be appended inside it). The message says
 * what to do and never quotes the credentials.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as HttpTeacher from "../src/HttpTeacher.ts"

const decodeError = (baseUrl: string): string => {
  const result = Effect.runSync(Effect.result(HttpTeacher.decodeConfig({ baseUrl, model: "m" })))
  assert.strictEqual(result._tag, "Failure", `${baseUrl} should be rejected`)
  return result._tag === "Failure" ? result.failure.message : ""
}

describe("HttpTeacher baseUrl", () => {
  it.each([
    {
      name: "credentials in the URL are rejected, pointing to apiKeyEnv, without quoting them",
      urls: ["https://user:s3cr3t-pw@api.example.com/v1", "https://s3cr3t-pw@api.example.com/v1"],
      says: ["must not carry credentials", "apiKeyEnv"],
      secret: "s3cr3t-pw"
    },
    {
      name: "a query string is rejected with 'remove it', without quoting it",
      urls: ["https://api.example.com/v1?api-key=k3y", "https://api.example.com/v1?"],
      says: ["must not have a query string (?...): remove it"],
      secret: "k3y"
    }
  ])("$name", ({ urls, says, secret }) => {
    for (const url of urls) {
      const message = decodeError(url)
      assert.include(message, "baseUrl")
      for (const words of says) assert.include(message, words)
      assert.notInclude(message, secret)
    }
  })

  it("a fragment is rejected with 'remove it'", () => {
    assert.include(decodeError("https://api.example.com/v1#x"), "must not have a fragment (#...): remove it")
  })

  it("plain http(s) API roots are accepted; other schemes and unparsable URLs are not", () => {
    for (const url of ["https://api.openai.com/v1", "http://127.0.0.1:8000/v1/", "HTTPS://API.EXAMPLE.COM/v1"]) {
      assert.strictEqual(Effect.runSync(HttpTeacher.decodeConfig({ baseUrl: url, model: "m" })).baseUrl, url)
    }
    assert.include(decodeError("ftp://x/v1"), "must start with http:// or https://")
    assert.include(decodeError("http://[::1/v1"), "is not a valid URL")
    assert.deepStrictEqual(HttpTeacher.baseUrlIssues("https://api.example.com/v1"), [])
  })

  it("maxResponseBytes defaults to 8 MiB and must be a positive integer", () => {
    assert.strictEqual(
      Effect.runSync(HttpTeacher.decodeConfig({ baseUrl: "http://x/v1", model: "m" })).maxResponseBytes,
      8 * 1024 * 1024
    )
    assert.throws(
      () => Effect.runSync(HttpTeacher.decodeConfig({ baseUrl: "http://x/v1", model: "m", maxResponseBytes: 0 })),
      /maxResponseBytes/
    )
  })
})
