import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as MarkedBlock from "../src/MarkedBlock.ts"

describe("MarkedBlock", () => {
  it("replaces only the text between the named markers", () => {
    const text = "a\n<!-- realm:t -->\nold\n<!-- /realm:t -->\nb\n<!-- realm:u -->\nkeep\n<!-- /realm:u -->\n"
    assert.strictEqual(
      MarkedBlock.replace(text, "t", "| x |\n"),
      "a\n<!-- realm:t -->\n| x |\n<!-- /realm:t -->\nb\n<!-- realm:u -->\nkeep\n<!-- /realm:u -->\n"
    )
  })

  it("refuses missing, repeated or reversed markers", () => {
    assert.isUndefined(MarkedBlock.replace("no markers", "t", "x"))
    assert.isUndefined(MarkedBlock.replace("<!-- /realm:t -->\n<!-- realm:t -->", "t", "x"))
    assert.isUndefined(
      MarkedBlock.replace("<!-- realm:t --><!-- /realm:t --><!-- realm:t --><!-- /realm:t -->", "t", "x")
    )
  })

  it.effect("updates a file in place and names the markers it needs when they are absent", () =>
    Effect.gen(function* () {
      const path = join(mkdtempSync(join(tmpdir(), "realm-block-")), "README.md")
      writeFileSync(path, "# T\n<!-- realm:table -->\n<!-- /realm:table -->\n")
      yield* MarkedBlock.update(path, "table", "| a |")
      assert.strictEqual(readFileSync(path, "utf8"), "# T\n<!-- realm:table -->\n| a |\n<!-- /realm:table -->\n")
      const error = yield* Effect.flip(MarkedBlock.update(path, "other", "x"))
      assert.include(error.message, `needs exactly one "<!-- realm:other -->"`)
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
