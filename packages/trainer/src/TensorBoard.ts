/**
 * TensorBoard event files without TensorFlow: scalar summaries encoded as `tensorflow.Event` protobufs in
 * TFRecord framing (length, masked CRC-32C of the length, payload, masked CRC-32C of the payload), appended to
 * `events.out.tfevents.<seconds>.<host>` in a log directory. TensorBoard reads such a directory directly.
 */
import { hostname } from "node:os"
import { Protobuf } from "@realm-lm/core"
import { Effect, FileSystem, Path } from "effect"
import type { PlatformError, Scope } from "effect"
import { maskedCrc32c } from "./internal/crc32c.ts"

/** `Event{wall_time, file_version: "brain.Event:2"}`, the first record of every event file. */
export const encodeFileVersionEvent = (wallTimeSeconds: number): Uint8Array =>
  Protobuf.encode((w) => w.double(1, wallTimeSeconds).string(3, "brain.Event:2"))

/** `Event{wall_time, step, summary: Summary{value: [Value{tag, simple_value}...]}}`. */
export const encodeScalarsEvent = (
  wallTimeSeconds: number,
  step: number,
  scalars: Record<string, number>
): Uint8Array =>
  Protobuf.encode((w) =>
    w
      .double(1, wallTimeSeconds)
      .int(2, step)
      .message(5, (summary) => {
        for (const [tag, value] of Object.entries(scalars)) summary.message(1, (v) => v.string(1, tag).float(2, value))
      })
  )

/** Frame one payload as a TFRecord. */
export const frameRecord = (payload: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + payload.length + 4)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(payload.length), true)
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true)
  out.set(payload, 12)
  view.setUint32(12 + payload.length, maskedCrc32c(payload), true)
  return out
}

/** An open event file. */
export interface EventWriter {
  readonly path: string
  /** Append scalar values for one step. Non-finite values are skipped (TensorBoard cannot plot them). */
  readonly scalars: (step: number, values: Record<string, number>) => Effect.Effect<void, PlatformError.PlatformError>
}

/** Create a new event file in `logDir` (created if needed); closed with the scope. */
export const open = (
  logDir: string,
  wallTimeSeconds: number = Date.now() / 1000
): Effect.Effect<EventWriter, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(logDir, { recursive: true })
    const file = path.join(logDir, `events.out.tfevents.${Math.floor(wallTimeSeconds)}.${hostname()}`)
    const handle = yield* fs.open(file, { flag: "a" })
    yield* handle.writeAll(frameRecord(encodeFileVersionEvent(wallTimeSeconds)))
    return {
      path: file,
      scalars: (step, values) => {
        const finite = Object.fromEntries(Object.entries(values).filter(([, v]) => Number.isFinite(v)))
        return handle.writeAll(frameRecord(encodeScalarsEvent(Date.now() / 1000, step, finite)))
      }
    }
  })
