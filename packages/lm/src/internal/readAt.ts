/** Positioned reads on an open file that fill a buffer completely or report how far they got (EOF). */
import { Effect } from "effect"
import type { FileSystem, PlatformError } from "effect"

/** Fill `target` from byte `position`; returns the number of bytes read (less than its length only at EOF). */
export const readAt = (
  file: FileSystem.File,
  target: Uint8Array,
  position: number
): Effect.Effect<number, PlatformError.PlatformError> =>
  Effect.gen(function* () {
    let done = 0
    while (done < target.length) {
      const n = yield* file.read(target.subarray(done), { position: BigInt(position + done) })
      if (n === 0) break
      done += n
    }
    return done
  })
