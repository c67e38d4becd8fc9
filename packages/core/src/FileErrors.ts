/**
 * File errors that say which file and why. The platform reports a full disk as `Unknown: FileSystem.writeAll` (it
 * knows only the file descriptor) and Node reports a recursive `mkdir` on a read-only file system as `ENOENT`. The
 * helpers here put the path back, name the errno (ENOSPC, EACCES, EROFS, …) with what to do about it, and find the
 * real reason a directory cannot be created. The error stays a `PlatformError`, so every signature keeps its type.
 */
import { Effect, FileSystem, Path, PlatformError } from "effect"

/** What an errno means, and what to do about it. */
const meanings: Record<string, { readonly text: string; readonly fix: string }> = {
  ENOSPC: { text: "no space left on device", fix: "free disk space or write to another directory, then re-run" },
  EDQUOT: {
    text: "disk quota exceeded",
    fix: "free space within the quota or write to another directory, then re-run"
  },
  EFBIG: { text: "file too large for this file system", fix: "write to another file system" },
  EACCES: { text: "permission denied", fix: "make the directory writable by this user or choose another directory" },
  EPERM: {
    text: "operation not permitted",
    fix: "check the file's owner and permissions, or choose another directory"
  },
  EROFS: { text: "read-only file system", fix: "write to a directory on a writable file system" },
  EMFILE: { text: "too many open files", fix: "raise the open-file limit (ulimit -n) or lower the concurrency" },
  ENFILE: { text: "too many open files in the system", fix: "close other programs or raise the system's file limit" },
  EIO: { text: "input/output error", fix: "check the disk" },
  ENOTDIR: { text: "a part of the path is a file, not a directory", fix: "choose another path" },
  EISDIR: { text: "the path is a directory", fix: "choose a file path" },
  ENOENT: { text: "no such file or directory", fix: "check the path" }
}

/** Tags for errnos the platform files under `Unknown`. */
const tags: Record<string, PlatformError.SystemErrorTag> = {
  EROFS: "PermissionDenied",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied"
}

/** The errno code (`ENOSPC`, `EACCES`, `EROFS`, …) behind a platform error, when its cause carries one. */
export const errno = (error: PlatformError.PlatformError): string | undefined => {
  const cause: unknown = error.reason.cause ?? error.cause
  if (typeof cause !== "object" || cause === null || !("code" in cause)) return undefined
  const code = (cause as { readonly code: unknown }).code
  return typeof code === "string" && code !== "" ? code : undefined
}

/** `no space left on device (ENOSPC): free disk space …` for a code; the bare code for one without advice. */
export const describeErrno = (code: string): string => {
  const meaning = meanings[code]
  return meaning === undefined ? code : `${meaning.text} (${code}): ${meaning.fix}`
}

/**
 * The same failure, naming `path` (the file the caller was writing; the platform may know only a descriptor or a
 * temporary name) and its errno with advice, e.g. `Unknown: FileSystem.writeAll (/run/corpus/corpus.jsonl): no space
 * left on device (ENOSPC): free disk space or write to another directory, then re-run`. `note` is added before the
 * errno (what was being done).
 * Bad arguments are returned unchanged; an error explained before keeps its description and takes the new path
 * (the outer caller knows the more useful name, e.g. the target of a write to a temporary file).
 */
export const explain = (
  error: PlatformError.PlatformError,
  path: string,
  note?: string
): PlatformError.PlatformError => {
  const reason = error.reason
  if (reason._tag === "BadArgument") return error
  const code = errno(error)
  const explained = code === undefined ? undefined : describeErrno(code)
  const already = explained !== undefined && reason.description?.includes(`(${code})`) === true
  const description = (already ? [reason.description] : [reason.description, note, explained])
    .filter((s): s is string => s !== undefined && s !== "")
    .join(": ")
  return PlatformError.systemError({
    _tag: code === undefined ? reason._tag : (tags[code] ?? reason._tag),
    module: reason.module,
    method: reason.method,
    pathOrDescriptor: path,
    ...(reason.syscall === undefined ? {} : { syscall: reason.syscall }),
    ...(description === "" ? {} : { description }),
    cause: reason.cause
  })
}

/** `explain` every `PlatformError` an effect fails with, naming `path`. */
export const withPath =
  (path: string, note?: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.mapError(self, (e) => (PlatformError.isPlatformError(e) ? (explain(e, path, note) as E) : e))

/**
 * Create a directory and its parents. On failure the error names the directory and the real reason: Node reports a
 * recursive `mkdir` on a read-only file system as `ENOENT`, so the nearest existing ancestor is probed for write
 * access and its errno (EROFS, EACCES) is reported instead.
 */
export const makeDirectory = (
  path: string
): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    const made = yield* Effect.result(fs.makeDirectory(path, { recursive: true }))
    if (made._tag === "Success") return
    const error = made.failure
    if (error.reason._tag === "BadArgument") return yield* error
    let ancestor = p.dirname(p.resolve(path))
    while (!(yield* fs.exists(ancestor).pipe(Effect.orElseSucceed(() => false))) && p.dirname(ancestor) !== ancestor)
      ancestor = p.dirname(ancestor)
    const access = yield* Effect.result(fs.access(ancestor, { writable: true }))
    if (access._tag === "Failure" && errno(access.failure) !== undefined) {
      const probed = PlatformError.systemError({
        _tag: error.reason._tag,
        module: error.reason.module,
        method: error.reason.method,
        pathOrDescriptor: path,
        cause: access.failure.reason.cause
      })
      return yield* explain(probed, path, `${ancestor} is not writable`)
    }
    return yield* explain(error, path)
  })
