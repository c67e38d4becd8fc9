import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Result, Schema, Stream } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Jsonl from "../src/Jsonl.ts"

const Rec = Schema.Struct({ id: Schema.String, n: Schema.Int })
const tmp = () => join(mkdtempSync(join(tmpdir(), "realm-jsonl-")), "data.jsonl")
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Stream.runCollect(s)

/** The file holding `text` and the `MalformedLine` a strict read of it fails with. */
const strictReadFailure = (text: string) =>
  Effect.gen(function* () {
    const path = tmp()
    writeFileSync(path, text)
    const error = yield* Effect.flip(collect(Jsonl.read(path, Rec)))
    if (error._tag !== "MalformedLine") return assert.fail(`expected MalformedLine, got ${error._tag}`)
    return { path, error }
  }).pipe(Effect.provide(NodeServices.layer))

describe("Jsonl", () => {
  it.effect("round-trips records through writeAll and read", () =>
    Effect.gen(function* () {
      const path = tmp()
      const records = Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, n: i }))
      const written = yield* Jsonl.writeAll(path, Rec, Stream.fromIterable(records))
      assert.strictEqual(written, 1000)
      assert.deepStrictEqual(yield* collect(Jsonl.read(path, Rec)), records)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("strict read fails on a garbled line with file path, 1-based line number and reason", () =>
    Effect.gen(function* () {
      const { path, error } = yield* strictReadFailure(
        '{"id":"a","n":1}\n\n{"id":"b","n":2}\n{"id":"c", n:3}\n{"id":"d","n":4}\n'
      )
      assert.strictEqual(error.line, 4) // the blank line 2 still counts
      assert.strictEqual(error.reason, "json")
      assert.include(error.message, `${path}:4`)
    })
  )

  it.effect("strict read fails on a schema mismatch, naming the field", () =>
    Effect.gen(function* () {
      const { error } = yield* strictReadFailure('{"id":"a","n":1}\n{"id":"b","n":"two"}\n')
      assert.strictEqual(error.line, 2)
      assert.strictEqual(error.reason, "schema")
      assert.include(error.detail, "n")
    })
  )

  it.effect("lenient read returns good records and reports every bad line, CRLF tolerated", () =>
    Effect.gen(function* () {
      const path = tmp()
      writeFileSync(path, '{"id":"a","n":1}\r\nnot json\r\n{"id":"b","n":2.5}\r\n{"id":"c","n":3}\r\n')
      const entries = yield* collect(Jsonl.readLenient(path, Rec))
      const good = entries.filter(Result.isSuccess).map((e) => e.success)
      const bad = entries.filter(Result.isFailure).map((e) => [e.failure.line, e.failure.reason])
      assert.deepStrictEqual(good, [
        { id: "a", n: 1 },
        { id: "c", n: 3 }
      ])
      assert.deepStrictEqual(bad, [
        [2, "json"],
        [3, "schema"]
      ])
      let skipped = 0
      const kept = yield* collect(Jsonl.readSkipping(path, Rec, () => Effect.sync(() => void skipped++)))
      assert.strictEqual(kept.length, 2)
      assert.strictEqual(skipped, 2)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a torn final line (no newline, unparsable) is skipped by strict read, not an error", () =>
    Effect.gen(function* () {
      const path = tmp()
      writeFileSync(path, '{"id":"a","n":1}\n{"id":"b","n":2}\n{"id":"c","n"')
      assert.deepStrictEqual(yield* collect(Jsonl.read(path, Rec)), [
        { id: "a", n: 1 },
        { id: "b", n: 2 }
      ])
      // A complete final record without a trailing newline is still a record.
      writeFileSync(path, '{"id":"a","n":1}\n{"id":"b","n":2}')
      assert.strictEqual((yield* collect(Jsonl.read(path, Rec))).length, 2)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("appender cuts a torn tail before appending, so the file stays valid", () =>
    Effect.gen(function* () {
      const path = tmp()
      writeFileSync(path, '{"id":"a","n":1}\n{"id":"b","n":2}\n{"id":"torn","n":12')
      yield* Effect.scoped(
        Effect.gen(function* () {
          const out = yield* Jsonl.appender(path, Rec)
          yield* out.append([{ id: "c", n: 3 }])
          yield* out.append([
            { id: "d", n: 4 },
            { id: "e", n: 5 }
          ])
        })
      )
      assert.strictEqual(readFileSync(path, "utf8").split("\n").filter(Boolean).length, 5)
      const ids = (yield* collect(Jsonl.read(path, Rec))).map((r) => r.id)
      assert.deepStrictEqual(ids, ["a", "b", "c", "d", "e"])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("repairTail handles a file with no newline at all and lines longer than one read block", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = tmp()
      writeFileSync(path, "x".repeat(100_000))
      assert.strictEqual(yield* Jsonl.repairTail(path), 100_000)
      assert.strictEqual((yield* fs.readFileString(path)).length, 0)
      const long = JSON.stringify({ id: "y".repeat(150_000), n: 1 })
      writeFileSync(path, `${long}\n${"z".repeat(70_000)}`)
      assert.strictEqual(yield* Jsonl.repairTail(path), 70_000)
      assert.strictEqual((yield* collect(Jsonl.read(path, Rec))).length, 1)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("concurrent appends never interleave inside a line", () =>
    Effect.gen(function* () {
      const path = tmp()
      yield* Effect.scoped(
        Effect.gen(function* () {
          const out = yield* Jsonl.appender(path, Rec)
          yield* Effect.forEach(
            Array.from({ length: 50 }, (_, k) => k),
            (k) => out.append(Array.from({ length: 20 }, (_, i) => ({ id: `w${k}-${i}`, n: i }))),
            { concurrency: "unbounded" }
          )
        })
      )
      const records = yield* collect(Jsonl.read(path, Rec))
      assert.strictEqual(records.length, 1000)
      assert.strictEqual(new Set(records.map((r) => r.id)).size, 1000)
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
