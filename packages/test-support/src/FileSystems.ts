/**
 * File systems that fail the way a real one does, for tests of error paths: platform errors shaped as
 * `@effect/platform-node` makes them from Node errno exceptions, and Node's file system with a full disk under
 * chosen paths.
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, FileSystem, Layer, PlatformError } from "effect"

/** A platform error as `@effect/platform-node` makes it from a Node errno exception (`code`, e.g. `ENOSPC`). */
export const systemError = (
  code: string,
  tag: PlatformError.SystemErrorTag,
  method: string,
  pathOrDescriptor: string | number,
  syscall = "write"
) =>
  PlatformError.systemError({
    _tag: tag,
    module: "FileSystem",
    method,
    pathOrDescriptor,
    syscall,
    cause: Object.assign(new Error(`${code}: simulated, ${syscall}`), { code, syscall })
  })

/**
 * Node's services, except that writes to files whose path matches `full` fail as on a full disk: `writeAll` on an
 * opened file (the platform knows only its descriptor, 17 here), and `writeFileString` after the first 8 characters.
 */
export const diskFull = (full: RegExp) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) =>
      FileSystem.FileSystem.of({
        ...fs,
        open: (path, options) =>
          Effect.map(fs.open(path, options), (file) =>
            full.test(path)
              ? (Object.create(file, {
                  writeAll: { value: () => Effect.fail(systemError("ENOSPC", "Unknown", "writeAll", 17)) }
                }) as FileSystem.File)
              : file
          ),
        writeFileString: (path, data, options) =>
          full.test(path)
            ? Effect.andThen(
                fs.writeFileString(path, data.slice(0, 8), options),
                Effect.fail(systemError("ENOSPC", "Unknown", "writeFile", path))
              )
            : fs.writeFileString(path, data, options)
      })
    )
  ).pipe(Layer.provideMerge(NodeServices.layer))
