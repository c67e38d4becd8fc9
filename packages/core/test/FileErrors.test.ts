/**
 * File errors name the file and the errno: a full disk (ENOSPC, which the platform reports as `Unknown:
 * FileSystem.writeAll` with only a descriptor), a read-only or unwritable directory (EROFS, which Node's recursive
 * mkdir misreports as ENOENT, and EACCES); failed atomic writes leave no temporary file, and leftovers of killed
 * writers are removed. Full disks and read-only file systems are simulated at the platform-error level (the form
 * `@effect/platform-node` gives them); the real chmod test runs only where chmod stops writes (not as root).
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { it as plainIt } from "vitest"
import { FileSystems } from "@realm-lm/test-support"
import { Effect, FileSystem, Layer, Path, Schema, Stream } from "effect"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import * as FileErrors from "../src/FileErrors.ts"
import * as Jsonl from "../src/Jsonl.ts"
import * as RunDir from "../src/RunDir.ts"

const { diskFull, systemError } = FileSystems

const root = mkdtempSync(join(tmpdir(), "realm-file-errors-"))
afterAll(() => {
  for (const entry of readdirSync(root)) chmodSync(join(root, entry), 0o755)
  rmSync(root, { recursive: true, force: true })
})
let n = 0
const fresh = () => {
  const dir = join(root, `d${n++}`)
  mkdirSync(dir)
  return dir
}

const Row = Schema.Struct({ i: Schema.Int })

describe("FileErrors", () => {
  it("explain puts the path and the errno with advice on a write the platform knew only by descriptor", () => {
    const raw = systemError("ENOSPC", "Unknown", "writeAll", 17)
    assert.notInclude(raw.message, "corpus.jsonl")
    const explained = FileErrors.explain(raw, "/runs/a/corpus/corpus.jsonl")
    assert.strictEqual(explained._tag, "PlatformError")
    assert.strictEqual(
      explained.message,
      "Unknown: FileSystem.writeAll (/runs/a/corpus/corpus.jsonl): no space left on device (ENOSPC): free disk space or write to another directory, then re-run"
    )
    assert.strictEqual(FileErrors.errno(explained), "ENOSPC")
    // Explaining again (an outer caller) renames the path but does not repeat the advice.
    const again = FileErrors.explain(explained, "/runs/a/corpus/sft.jsonl")
    assert.strictEqual(
      again.message,
      "Unknown: FileSystem.writeAll (/runs/a/corpus/sft.jsonl): no space left on device (ENOSPC): free disk space or write to another directory, then re-run"
    )
    const readOnly = FileErrors.explain(systemError("EROFS", "Unknown", "writeFile", "/mnt/ro/x.tmp-1"), "/mnt/ro/x")
    assert.strictEqual(readOnly.reason._tag, "PermissionDenied")
    assert.include(readOnly.message, "(/mnt/ro/x): read-only file system (EROFS)")
  })

  it.effect("Jsonl.appender: a full disk names the file and ENOSPC", () =>
    Effect.gen(function* () {
      const path = join(fresh(), "corpus.jsonl")
      const error = yield* Effect.flip(
        Effect.scoped(
          Effect.gen(function* () {
            const out = yield* Jsonl.appender(path, Row)
            yield* out.append([{ i: 1 }])
          })
        )
      )
      assert.strictEqual(error._tag, "PlatformError")
      assert.include(error.message, `FileSystem.writeAll (${path})`)
      assert.include(error.message, "no space left on device (ENOSPC)")
    }).pipe(Effect.provide(diskFull(/corpus\.jsonl$/)))
  )

  it.effect("writeFileAtomic and Jsonl.writeAll: a full disk names the target and leaves no temporary file", () =>
    Effect.gen(function* () {
      const dir = fresh()
      const json = yield* Effect.flip(RunDir.writeJsonAtomic(join(dir, "summary.json"), { records: 3 }))
      assert.include(json.message, `(${join(dir, "summary.json")}): no space left on device (ENOSPC)`)
      const jsonl = yield* Effect.flip(Jsonl.writeAll(join(dir, "sft.jsonl"), Row, Stream.make({ i: 1 }, { i: 2 })))
      assert.include(jsonl.message, `(${join(dir, "sft.jsonl")}): no space left on device (ENOSPC)`)
      assert.deepStrictEqual(readdirSync(dir), [])
    }).pipe(Effect.provide(diskFull(/\.tmp-/)))
  )

  it.effect("Jsonl.writeAll leaves errors of the records it writes as they were", () =>
    Effect.gen(function* () {
      const dir = fresh()
      const error = yield* Effect.flip(
        Jsonl.writeAll(join(dir, "out.jsonl"), Row, Jsonl.read(join(dir, "missing.jsonl"), Row))
      )
      assert.include(error.message, "missing.jsonl")
      assert.notInclude(error.message, "out.jsonl")
      assert.deepStrictEqual(readdirSync(dir), [])
    }).pipe(Effect.provide(NodeServices.layer))
  )

  for (const code of ["EROFS", "EACCES"] as const) {
    it.effect(
      `makeDirectory under an unwritable directory names the path and ${code} (Node's recursive mkdir says ENOENT)`,
      () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(RunDir.writeJsonAtomic("/srv/ro/run/corpus/build.json", {}))
          assert.strictEqual(error.reason._tag, "PermissionDenied")
          assert.include(error.message, "FileSystem.makeDirectory (/srv/ro/run/corpus)")
          assert.include(
            error.message,
            `/srv/ro is not writable: ${code === "EROFS" ? "read-only file system" : "permission denied"} (${code})`
          )
        }).pipe(
          Effect.provide(
            Layer.merge(
              FileSystem.layerNoop({
                makeDirectory: (path) => Effect.fail(systemError("ENOENT", "NotFound", "makeDirectory", path, "mkdir")),
                exists: (path) => Effect.succeed(path === "/srv/ro" || path === "/srv" || path === "/"),
                access: (path) =>
                  Effect.fail(
                    systemError(code, code === "EROFS" ? "Unknown" : "PermissionDenied", "access", path, "access")
                  )
              }),
              Path.layer
            )
          )
        )
    )
  }

  plainIt("a real read-only (chmod 0555) directory: the error names the path and EACCES", async (ctx) => {
    const dir = fresh()
    chmodSync(dir, 0o555)
    let writable = true
    try {
      writeFileSync(join(dir, "probe"), "x")
    } catch {
      writable = false
    }
    if (writable) {
      ctx.skip(
        "running with privileges (root) that chmod 0555 does not stop; the simulated EROFS/EACCES tests above cover the mapping"
      )
    }
    const target = join(dir, "run", "corpus", "summary.json")
    const error = await Effect.runPromise(
      Effect.flip(RunDir.writeJsonAtomic(target, {})).pipe(Effect.provide(NodeServices.layer))
    )
    assert.include(error.message, join(dir, "run", "corpus"))
    assert.include(error.message, "(EACCES)")
  })

  it.effect("removeLeftovers removes temporary files of dead writers only", () =>
    Effect.gen(function* () {
      const dir = fresh()
      const dead = 2_147_483_646 // no process has this id
      const names = [
        `summary.json.tmp-${dead}-ab12cd`,
        `sft.jsonl.tmp-${dead}`,
        `manifest.json.tmp-${process.pid}-zz99yy`,
        "notes.tmp-draft",
        "corpus.jsonl"
      ]
      for (const name of names) writeFileSync(join(dir, name), "x")
      const removed = yield* RunDir.removeLeftovers(dir)
      assert.deepStrictEqual([...removed].toSorted(), names.slice(0, 2).toSorted())
      assert.deepStrictEqual(readdirSync(dir).toSorted(), names.slice(2).toSorted())
      assert.isFalse(existsSync(join(dir, names[0]!)))
      assert.deepStrictEqual(yield* RunDir.removeLeftovers(join(dir, "absent")), [])
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
