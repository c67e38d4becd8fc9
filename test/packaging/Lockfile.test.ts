/**
 * The lockfile a fresh clone installs from (issue 13 part 6): `npm ci` accepts it as it is (package.json and
 * package-lock.json in sync, checked offline with a dry run that installs nothing) and it holds every platform's
 * optional binaries, so a lockfile regenerated on a registry mirror that lacks some cannot be committed unnoticed.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const lockPath = join(root, "package-lock.json")

interface LockEntry {
  readonly version?: string
  readonly optionalDependencies?: Record<string, string>
  readonly os?: ReadonlyArray<string>
  readonly cpu?: ReadonlyArray<string>
}

/** Where Node would find `dependency` from the package at lock path `from` (its own node_modules, then each ancestor's). */
const locate = (packages: Record<string, LockEntry>, from: string, dependency: string): string | undefined => {
  for (let base = from; ;) {
    const candidate = `${base === "" ? "" : `${base}/`}node_modules/${dependency}`
    if (packages[candidate] !== undefined) return candidate
    if (base === "") return undefined
    const parent = base.lastIndexOf("/node_modules/")
    base = parent < 0 ? "" : base.slice(0, parent)
  }
}

describe("package-lock.json", () => {
  it("is accepted by `npm ci` as committed and is not rewritten", () => {
    const before = readFileSync(lockPath, "utf8")
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    const r = spawnSync("npm", ["ci", "--dry-run", "--ignore-scripts", "--offline", "--no-audit", "--no-fund"], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
      env
    })
    assert.notInclude(r.stderr, "EUSAGE")
    assert.strictEqual(r.status, 0, r.stderr)
    assert.strictEqual(readFileSync(lockPath, "utf8"), before)
  })

  it("holds every platform's optional binaries (turbo, oxlint, typescript, esbuild, rolldown...), not just this machine's", () => {
    const lock = JSON.parse(readFileSync(lockPath, "utf8")) as { packages: Record<string, LockEntry> }
    const missing = Object.entries(lock.packages).flatMap(([path, entry]) =>
      Object.keys(entry.optionalDependencies ?? {})
        .filter((dependency) => locate(lock.packages, path, dependency) === undefined)
        .map((dependency) => `${path || "(root)"} -> ${dependency}`)
    )
    assert.deepStrictEqual(missing, [])
    // Not vacuous: binaries for other systems than this one are in it.
    const platforms = new Set(
      Object.values(lock.packages).flatMap((entry) =>
        (entry.os ?? []).flatMap((os) => (entry.cpu ?? ["any"]).map((cpu) => `${os}-${cpu}`))
      )
    )
    assert.includeMembers([...platforms], ["darwin-arm64", "linux-x64", "linux-arm64", "win32-x64"])
  })
})
