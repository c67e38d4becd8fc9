/** Command-line flags the graph benches share: `--name value` lookups, `--device` and the default results path. */
import { join } from "node:path"
import type { Device } from "../src/Device.ts"

/** The value after `name` on the command line, if given. */
export const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}

/** `--device` (cpu, webgpu or cuda), `fallback` when absent; any other value throws. */
export const deviceArg = (fallback: Device): Device => {
  const device = (arg("--device") ?? fallback) as Device
  if (!["cpu", "webgpu", "cuda"].includes(device))
    throw new RangeError(`--device must be cpu, webgpu or cuda, got ${device}`)
  return device
}

/** `--out`, or `bench/results/<name>-<time>.json`. */
export const outArg = (name: string): string =>
  arg("--out") ?? join(import.meta.dirname, "results", `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`)
