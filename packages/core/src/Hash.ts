/**
 * Content hashes for run manifests: sha256 of files (streamed, constant memory) and of canonical JSON (keys
 * sorted), so an unchanged config hashes the same whatever order its keys were written in.
 */
import { createHash } from "node:crypto"
import { Effect, FileSystem, Stream } from "effect"
import type { PlatformError } from "effect"
import type { FileHash } from "./RunManifest.ts"

/** JSON text with object keys sorted recursively; arrays keep their order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {}
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k]
      return sorted
    }
    return v
  })

/** sha256 hex of a string or bytes. */
export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

/** sha256 hex of the canonical JSON of a value. */
export const hashJson = (value: unknown): string => sha256(canonicalJson(value))

/** sha256 and size of a file, streamed. `label` is the path recorded (defaults to `path`). */
export const hashFile = (
  path: string,
  label: string = path
): Effect.Effect<FileHash, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const hash = createHash("sha256")
    const bytes = yield* Stream.runFold(
      fs.stream(path, { chunkSize: 1024 * 1024 }),
      () => 0,
      (n, chunk: Uint8Array) => {
        hash.update(chunk)
        return n + chunk.length
      }
    )
    return { path: label, sha256: hash.digest("hex"), bytes }
  })
