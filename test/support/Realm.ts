/** The `realm` CLI run from source in a spawned Node process, and the shapes of the files it writes that tests read. */
import { spawnSync } from "node:child_process"
import type { SpawnSyncReturns } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert } from "vitest"

/** The repository root. */
export const root = join(import.meta.dirname, "..", "..")

/** The CLI's entry point (TypeScript source; Node strips the types). */
export const bin = join(root, "apps", "runner", "src", "bin.ts")

/** A `realm` that runs its arguments in `cwd` and waits for the exit, killing it after `timeout` ms. */
export const realmIn =
  (cwd: string, timeout: number) =>
  (...args: Array<string>): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout, cwd })

/** An estimate with its confidence interval, as results files write it. */
export interface Estimate {
  value: number
  low: number
  high: number
}

/** The command succeeded: exit status 0 and no `realm: ` error line on stderr. */
export const assertSucceeded = (r: { readonly status: number | null; readonly stderr: string }): void => {
  assert.notInclude(r.stderr, "realm: ")
  assert.strictEqual(r.status, 0)
}

/** What `corpus/summary.json` of a corpus build says (the fields the tests read). */
export interface CorpusSummary {
  records: number
  failed: number
  teacher: string
  teacherMetrics: { requests: number; promptTokens: number }
}

/** The `corpus/summary.json` under `runDir`. */
export const corpusSummary = (runDir: string): CorpusSummary =>
  JSON.parse(readFileSync(join(runDir, "corpus", "summary.json"), "utf8")) as CorpusSummary
