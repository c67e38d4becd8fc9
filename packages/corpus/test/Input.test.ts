import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import type { Jsonl } from "@realm-lm/core/node"
import { Effect, Stream } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import * as Input from "../src/Input.ts"
import { fixturePath } from "./support.ts"

const dir = mkdtempSync(join(tmpdir(), "realm-input-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const lines = readFileSync(fixturePath, "utf8").trim().split("\n").slice(0, 4)
const bad = join(dir, "bad.jsonl")
writeFileSync(bad, [lines[0], "{not json", lines[1], JSON.stringify({ id: "x" }), lines[2], lines[3]].join("\n") + "\n")

describe("Input", () => {
  it.effect("strict: the first bad line fails with file and line number", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Stream.runCollect(Input.readProblems(bad, "strict")))
      assert.strictEqual(error._tag, "MalformedLine")
      assert.strictEqual((error as Jsonl.MalformedLine).line, 2)
      assert.match(error.message, /bad\.jsonl:2: invalid JSON/)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("lenient: bad lines are skipped and reported with their line numbers", () =>
    Effect.gen(function* () {
      const skipped: Array<number> = []
      const problems = yield* Stream.runCollect(
        Input.readProblems(bad, "lenient", (e) => Effect.sync(() => void skipped.push(e.line)))
      )
      assert.strictEqual(problems.length, 4)
      assert.deepStrictEqual(skipped, [2, 4])
      assert.strictEqual(yield* Input.countLines(bad), 6)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect(
    "countProblems: strict checks every line up front (a bad line fails with file and line); lenient counts lines",
    () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Input.countProblems(bad, "strict"))
        assert.strictEqual(error._tag, "MalformedLine")
        assert.match(error.message, /bad\.jsonl:2: invalid JSON/)
        assert.strictEqual(yield* Input.countProblems(bad, "lenient"), 6)
        assert.strictEqual(
          yield* Input.countProblems(fixturePath, "strict"),
          readFileSync(fixturePath, "utf8").trim().split("\n").length
        )
      }).pipe(Effect.provide(NodeServices.layer))
  )
})
