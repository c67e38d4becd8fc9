/**
 * Run directories: each stage writes its artifacts and a `manifest.json` under `<run>/<stage>/`. Writes are
 * atomic (temporary file, then rename), so a crash leaves either the old file or the new one, never half of
 * one. Manifests record input and output hashes, which `verify` re-checks.
 */
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect"
import * as FileErrors from "./FileErrors.ts"
import { canonicalJson, hashFile } from "./Hash.ts"
import { RunManifest } from "./RunManifest.ts"

/** A manifest file is missing, unreadable or of an unknown version. */
export class ManifestError extends Schema.TaggedError<ManifestError>()("ManifestError", {
  path: Schema.String,
  detail: Schema.String
}) {}

/** A file no longer matches the hash its manifest recorded. */
export class HashMismatch extends Schema.TaggedError<HashMismatch>()("HashMismatch", {
  path: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.path} changed since its manifest was written (sha256 ${this.actual.slice(0, 12)}…, expected ${this.expected.slice(0, 12)}…): re-run the stage that produced it`
  }
}

/** A fresh temporary sibling of `path` for an atomic write: `<path>.tmp-<pid>-<random>`. */
export const tempPath = (path: string): string => `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

/** Names of temporary files `tempPath` makes; group 1 is the writer's process id. */
const leftover = /\.tmp-(\d+)(?:-[0-9a-z]+)?$/

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { readonly code?: unknown }).code === "EPERM"
  }
}

/**
 * Remove the temporary files (`*.tmp-<pid>-…`) that writers killed mid-write left in `dir`. Files of this process
 * and of processes still running are kept. Returns the removed names; a missing directory removes nothing.
 */
export const removeLeftovers = (
  dir: string
): Effect.Effect<ReadonlyArray<string>, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    if (!(yield* fs.exists(dir))) return []
    const removed: Array<string> = []
    for (const name of yield* fs.readDirectory(dir).pipe(FileErrors.withPath(dir))) {
      const pid = Number(leftover.exec(name)?.[1])
      if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue
      yield* fs.remove(p.join(dir, name), { force: true }).pipe(FileErrors.withPath(p.join(dir, name)))
      removed.push(name)
    }
    return removed
  })

/**
 * Write text to `path` atomically, creating parent directories. A failure names `path` and its errno (ENOSPC,
 * EACCES, EROFS) and removes the temporary file.
 */
export const writeFileAtomic = (
  path: string,
  data: string | Uint8Array
): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    yield* FileErrors.makeDirectory(p.dirname(path))
    const tmp = tempPath(path)
    yield* (typeof data === "string" ? fs.writeFileString(tmp, data) : fs.writeFile(tmp, data)).pipe(
      Effect.andThen(fs.rename(tmp, path)),
      Effect.onError(() => Effect.ignore(fs.remove(tmp, { force: true }))),
      FileErrors.withPath(path)
    )
  })

/** Write a value as pretty canonical JSON, atomically. */
export const writeJsonAtomic = (path: string, value: unknown) =>
  writeFileAtomic(path, `${JSON.stringify(JSON.parse(canonicalJson(value)), null, 2)}\n`)

/** Directory of one stage inside a run. */
export const stageDir = (runDir: string, stage: string): Effect.Effect<string, never, Path.Path> =>
  Effect.map(Effect.service(Path.Path), (p) => p.join(runDir, stage))

/** Path of a stage's manifest. */
export const manifestPath = (runDir: string, stage: string): Effect.Effect<string, never, Path.Path> =>
  Effect.map(Effect.service(Path.Path), (p) => p.join(runDir, stage, "manifest.json"))

const decodeManifest = Schema.decodeUnknownEffect(Schema.fromJsonString(RunManifest))

/** Write a stage manifest atomically. */
export const writeManifest = (runDir: string, manifest: RunManifest) =>
  Effect.flatMap(manifestPath(runDir, manifest.stage), (path) => writeJsonAtomic(path, manifest))

/** Read a stage manifest; `undefined` when the stage has never run. */
export const readManifest = (
  runDir: string,
  stage: string
): Effect.Effect<
  RunManifest | undefined,
  ManifestError | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* manifestPath(runDir, stage)
    if (!(yield* fs.exists(path))) return undefined
    const text = yield* fs.readFileString(path)
    return yield* decodeManifest(text).pipe(
      Effect.mapError((error) => new ManifestError({ path, detail: error.message }))
    )
  })

/** Re-hash every output of a manifest (paths relative to the stage directory) and fail on the first change. */
export const verify = (
  runDir: string,
  manifest: RunManifest
): Effect.Effect<void, HashMismatch | PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const p = yield* Path.Path
    const dir = p.join(runDir, manifest.stage)
    for (const output of manifest.outputs) {
      const actual = yield* hashFile(p.join(dir, output.path), output.path)
      if (actual.sha256 !== output.sha256) {
        return yield* new HashMismatch({
          path: p.join(dir, output.path),
          expected: output.sha256,
          actual: actual.sha256
        })
      }
    }
  })
