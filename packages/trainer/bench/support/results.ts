/** Where the trainer benches leave their numbers: JSON under `bench/results/` with the machine and Node version. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join } from "node:path"

/** The 1, 5 and 15 minute load averages (the benches record them at start and end: a busy machine shows there). */
export const loadAverage = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")

/** Write `body` with the machine (CPU model and count, `threads` used) and Node version to `bench/results/<stem>-<time>.json`. */
export const writeResult = (stem: string, threads: number, body: Readonly<Record<string, unknown>>): string => {
  const dir = join(import.meta.dirname, "..", "results")
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${stem}-${Date.now()}.json`)
  const machine = { cpus: cpus().map((c) => c.model)[0], count: cpus().length, threads }
  writeFileSync(file, JSON.stringify({ machine, node: process.version, ...body }, null, 2))
  console.log(`wrote ${file}`)
  return file
}
