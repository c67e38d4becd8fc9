/**
 * Where the optional third-party data lives (tokenizers, the stories260K checkpoint, benchmarks). Taken from
 * `REALM_DATA_DIR`, defaulting to `../shared/data` beside the repository root. Tests that need it skip with a
 * visible reason when it is absent; the core suite runs on committed fixtures alone.
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

/** The repository root: the nearest ancestor of `from` whose package.json declares workspaces. */
export const repoRoot = (from: string = process.cwd()): string => {
  let dir = resolve(from)
  for (;;) {
    const pkg = join(dir, "package.json")
    if (existsSync(pkg) && "workspaces" in (JSON.parse(readFileSync(pkg, "utf8")) as object)) return dir
    const parent = dirname(dir)
    if (parent === dir) return resolve(from)
    dir = parent
  }
}

/** The data directory if it exists, else `undefined`. */
export const sharedDataDir = (): string | undefined => {
  const dir = process.env.REALM_DATA_DIR ?? join(repoRoot(), "..", "shared", "data")
  return existsSync(dir) ? dir : undefined
}

/** A file inside the data directory if present, else `undefined`. */
export const sharedDataFile = (...parts: ReadonlyArray<string>): string | undefined => {
  const dir = sharedDataDir()
  if (dir === undefined) return undefined
  const file = join(dir, ...parts)
  return existsSync(file) ? file : undefined
}

/** The reason printed by tests that skip for want of the data directory. */
export const missingReason = (what: string): string =>
  `skipped: ${what} not found; set REALM_DATA_DIR to the shared data folder (default ../shared/data)`
