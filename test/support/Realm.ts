/** The `realm` CLI run from source in a spawned Node process, and the shapes of the files it writes that tests read. */
import { spawnSync } from "node:child_process"
import type { SpawnSyncReturns } from "node:child_process"
import { join } from "node:path"

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
