import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Hash from "../src/Hash.ts"
import * as RunDir from "../src/RunDir.ts"
import type { RunManifest } from "../src/RunManifest.ts"

const manifest = (outputs: RunManifest["outputs"]): RunManifest => ({
  version: 1,
  stage: "corpus",
  implementation: "@realm-lm/corpus/RuleTeacher",
  status: "complete",
  config: { k: 4, teacher: { name: "rule" } },
  configHash: Hash.hashJson({ k: 4, teacher: { name: "rule" } }),
  packages: { "@realm-lm/core": "0.1.0" },
  inputs: [],
  outputs,
  startedAt: "2026-11-22T00:00:00.000Z",
  finishedAt: "2026-11-22T00:00:01.000Z",
  timings: { totalMs: 1000 }
})

describe("Hash", () => {
  it("canonical JSON ignores key order but not array order", () => {
    assert.strictEqual(Hash.hashJson({ a: 1, b: { c: 2, d: [1, 2] } }), Hash.hashJson({ b: { d: [1, 2], c: 2 }, a: 1 }))
    assert.notStrictEqual(Hash.hashJson({ d: [1, 2] }), Hash.hashJson({ d: [2, 1] }))
  })

  it.effect("hashFile equals the one-shot sha256 (streamed over several chunks)", () =>
    Effect.gen(function* () {
      const path = join(mkdtempSync(join(tmpdir(), "realm-hash-")), "f.bin")
      const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 255)
      writeFileSync(path, data)
      const h = yield* Hash.hashFile(path, "f.bin")
      assert.strictEqual(h.sha256, Hash.sha256(data))
      assert.strictEqual(h.bytes, data.length)
      assert.strictEqual(h.path, "f.bin")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("RunDir", () => {
  it.effect("writes a manifest atomically, reads it back, and verifies output hashes", () =>
    Effect.gen(function* () {
      const run = mkdtempSync(join(tmpdir(), "realm-run-"))
      const dir = yield* RunDir.stageDir(run, "corpus")
      yield* RunDir.writeFileAtomic(join(dir, "corpus.jsonl"), '{"a":1}\n')
      const out = yield* Hash.hashFile(join(dir, "corpus.jsonl"), "corpus.jsonl")
      const m = manifest([out])
      yield* RunDir.writeManifest(run, m)
      assert.deepStrictEqual(readdirSync(dir).toSorted(), ["corpus.jsonl", "manifest.json"]) // no temp files left
      const back = yield* RunDir.readManifest(run, "corpus")
      assert.deepStrictEqual(back, m)
      yield* RunDir.verify(run, m)
      writeFileSync(join(dir, "corpus.jsonl"), '{"a":2}\n')
      const error = yield* Effect.flip(RunDir.verify(run, m))
      assert.strictEqual(error._tag, "HashMismatch")
      assert.include(error.message, "re-run the stage")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a missing manifest reads as undefined; a corrupt one fails with its path", () =>
    Effect.gen(function* () {
      const run = mkdtempSync(join(tmpdir(), "realm-run-"))
      assert.isUndefined(yield* RunDir.readManifest(run, "trainer"))
      yield* RunDir.writeFileAtomic(join(run, "trainer", "manifest.json"), '{"version": 2}')
      const error = yield* Effect.flip(RunDir.readManifest(run, "trainer"))
      assert.strictEqual(error._tag, "ManifestError")
      if (error._tag === "ManifestError") assert.include(error.path, join("trainer", "manifest.json"))
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
