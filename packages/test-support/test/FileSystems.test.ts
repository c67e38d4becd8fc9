/**
 * The shared fixtures do what other packages' tests rely on: a full disk fails only the matching paths, with the
 * errno the real platform gives, after writing part of the data; toy problems count up from 0 with gold 2i.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { diskFull } from "../src/FileSystems.ts"
import { jsonl, toyProblems } from "../src/Problems.ts"

const dir = mkdtempSync(join(tmpdir(), "realm-test-support-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("FileSystems.diskFull", () => {
  it.effect("fails writes to matching paths with ENOSPC after part of the data, and leaves other paths alone", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const full = join(dir, "full.jsonl")
      const error = yield* Effect.flip(fs.writeFileString(full, "0123456789abcdef"))
      assert.strictEqual(error._tag, "PlatformError")
      assert.include(String(error.cause), "ENOSPC")
      assert.strictEqual(readFileSync(full, "utf8"), "01234567")
      const appended = yield* Effect.flip(
        Effect.scoped(Effect.flatMap(fs.open(full, { flag: "a" }), (file) => file.writeAll(new Uint8Array([1]))))
      )
      assert.include(String(appended.cause), "ENOSPC")
      const other = join(dir, "other.txt")
      yield* fs.writeFileString(other, "0123456789abcdef")
      assert.strictEqual(readFileSync(other, "utf8"), "0123456789abcdef")
    }).pipe(Effect.provide(diskFull(/full\.jsonl$/)))
  )
})

describe("Problems", () => {
  it("toy problems are numbered from 0 with gold 2i, one JSONL line each", () => {
    const problems = toyProblems(3)
    assert.deepStrictEqual(
      problems.map((p) => [p.id, p.question, p.gold]),
      [
        ["toy/0", "Q0: what is 0 + 0?", "0"],
        ["toy/1", "Q1: what is 1 + 1?", "2"],
        ["toy/2", "Q2: what is 2 + 2?", "4"]
      ]
    )
    assert.deepStrictEqual(
      jsonl(problems)
        .split("\n")
        .slice(0, -1)
        .map((l) => JSON.parse(l)),
      problems
    )
  })
})
