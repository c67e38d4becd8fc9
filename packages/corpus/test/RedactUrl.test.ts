import { assert, describe, it } from "vitest"
import { describe as describeTeacher, redactUrl } from "../src/HttpTeacher.ts"

describe("HttpTeacher manifests", () => {
  it("never record credentials carried in the base URL", () => {
    assert.strictEqual(redactUrl("https://user:secret@api.example.com/v1?api-key=abc#x"), "https://api.example.com/v1")
    assert.strictEqual(redactUrl("not a url"), "<unparsable url>")
    const text = JSON.stringify(
      describeTeacher({
        baseUrl: "https://u:p4ss@api.example.com/v1?api-key=k3y",
        model: "m"
      } as Parameters<typeof describeTeacher>[0])
    )
    assert.notInclude(text, "p4ss")
    assert.notInclude(text, "k3y")
  })
})
