import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { Effect, Schema, Stream } from "effect"
import { assert, describe, it } from "vitest"
import * as Jsonl from "../src/Jsonl.ts"

const fixture = (name: string) => join(import.meta.dirname, "fixtures", name)
const dir = () => mkdtempSync(join(tmpdir(), "realm-jsonl-int-"))

describe("Jsonl in separate processes", () => {
  it("reads 1,000,000 lines under a 96 MB old-space cap (memory stays flat; holding the records takes about 311 MB)", () => {
    const path = join(dir(), "million.jsonl")
    const run = spawnSync(process.execPath, ["--max-old-space-size=96", fixture("read-million.ts"), path, "1000000"], {
      encoding: "utf8",
      timeout: 120_000
    })
    assert.notMatch(run.stderr, /heap out of memory/)
    assert.strictEqual(run.status, 0)
    const match = /count=(\d+) sum=(\d+) maxHeapMB=([\d.]+)/.exec(run.stdout)
    assert.isNotNull(match)
    assert.strictEqual(Number(match?.[1]), 1_000_000)
    assert.strictEqual(Number(match?.[2]), (999_999 * 1_000_000) / 2)
    // Collecting the same 1M records takes about 311 MB of heap (measured) and dies under this cap. heapUsed also
    // counts the young generation, which the old-space cap does not bound, so allow it beyond 96 MB.
    assert.isBelow(Number(match?.[3]), 160)
  })

  it("a writer killed with SIGKILL mid-write leaves a file that reads cleanly and accepts further appends", async () => {
    const path = join(dir(), "killed.jsonl")
    const child = spawn(process.execPath, [fixture("append-forever.ts"), path], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    await new Promise<void>((resolve, reject) => {
      let seen = ""
      child.stdout.on("data", (d: Buffer) => {
        seen += d.toString()
        if (seen.includes("batch 20")) {
          child.kill("SIGKILL")
          resolve()
        }
      })
      child.on("exit", (code) => code !== null && reject(new Error(`writer exited early with ${code}`)))
    })
    await new Promise((resolve) => child.on("close", resolve))
    const Rec = Schema.Struct({ id: Schema.String, payload: Schema.String })
    const before = readFileSync(path, "utf8")
    const records = await Effect.runPromise(
      Stream.runCollect(Jsonl.read(path, Rec)).pipe(Effect.provide(NodeServices.layer))
    )
    assert.isAtLeast(records.length, 21 * 200)
    assert.strictEqual(new Set(records.map((r) => r.id)).size, records.length)
    // Appending after the crash repairs any torn tail and keeps every line valid.
    const after = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const out = yield* Jsonl.appender(path, Rec)
          yield* out.append([{ id: "after-crash", payload: "ok" }])
          return yield* Stream.runCollect(Jsonl.read(path, Rec))
        })
      ).pipe(Effect.provide(NodeServices.layer))
    )
    assert.strictEqual(after.length, records.length + 1)
    assert.strictEqual(after.at(-1)?.id, "after-crash")
    assert.isAbove(before.length, 0)
  })
})
