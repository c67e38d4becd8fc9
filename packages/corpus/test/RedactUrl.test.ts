import { describe, expect, it } from "vitest"
import { describe as describeTeacher, redactUrl } from "../src/HttpTeacher.ts"

describe("HttpTeacher manifests", () => {
  it("never record credentials carried in the base URL", () => {
    expect(redactUrl("https://user:secret@api.example.com/v1?api-key=abc#x")).toBe("https://api.example.com/v1")
    expect(redactUrl("not a url")).toBe("<unparsable url>")
    const text = JSON.stringify(
      describeTeacher({
        baseUrl: "https://u:p4ss@api.example.com/v1?api-key=k3y",
        model: "m"
      } as Parameters<typeof describeTeacher>[0])
    )
    expect(text).not.toContain("p4ss")
    expect(text).not.toContain("k3y")
  })
})
