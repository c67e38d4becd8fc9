/**
 * The API key check: the Bearer scheme in any case, the token compared whole (no prefix, no other length passes),
 * missing and malformed headers refused.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ApiKey from "../src/ApiKey.ts"

describe("ApiKey", () => {
  it("reads the token of a Bearer header, the scheme in any case", () => {
    assert.strictEqual(ApiKey.bearerToken("Bearer sk-1"), "sk-1")
    assert.strictEqual(ApiKey.bearerToken("bearer sk-1"), "sk-1")
    assert.strictEqual(ApiKey.bearerToken("  BeArEr \t sk-1  "), "sk-1")
    for (const header of [undefined, "", "Bearer", "Bearer   ", "Basic sk-1", "sk-1", "Bearersk-1"])
      assert.isUndefined(ApiKey.bearerToken(header), String(header))
  })

  it("accepts exactly the key", () => {
    const check = ApiKey.make("sk-local-1")
    assert.isTrue(check("Bearer sk-local-1"))
    assert.isTrue(check("bearer sk-local-1"))
    for (const header of [
      undefined,
      "Bearer sk-local-",
      "Bearer sk-local-12",
      "Bearer SK-LOCAL-1",
      "Bearer ",
      "Basic sk-local-1",
      "sk-local-1"
    ]) {
      assert.isFalse(check(header), String(header))
    }
    // An empty token never matches, whatever the key.
    assert.isFalse(ApiKey.make("")("Bearer "))
  })
})
