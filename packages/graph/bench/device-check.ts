/**
 * Gradients and training steps on a device against the CPU: every case of test/support/deviceGradients.ts in
 * float32 on `--device` (webgpu, cuda or cpu) against float64 on the CPU, and three AdamW steps against the
 * CPU's. The GPU check (scripts/gpu-check.sh) runs it where vitest is not installed; with node_modules,
 * `REALM_GPU=1 npx vitest run --project graph DeviceGradients` runs the same cases as tests.
 * Prints a table and writes JSON (`--out FILE`, default bench/results/device-check-<device>-<time>.json).
 * Exit code 1 when a case disagrees or fails. Run: `node --conditions=@realm-lm/source bench/device-check.ts --device webgpu`.
 */
import { Cause, Effect } from "effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import * as Executor from "../src/Executor.ts"
import * as DeviceGradients from "../test/support/deviceGradients.ts"
import type { Device } from "../src/Device.ts"
import { deviceArg, outArg } from "./args.ts"

const device = deviceArg("webgpu")
const out = outArg(`device-check-${device}`)

type Row =
  | DeviceGradients.CaseResult
  | { readonly name: string; readonly device: Device; readonly ok: false; readonly error: string; readonly ms: number }

const attempt = (name: string, run: Effect.Effect<DeviceGradients.CaseResult, unknown>) =>
  Effect.catchCause(run, (cause) =>
    Effect.succeed<Row>({
      name,
      device,
      ok: false,
      error: String(cause).split("\n").slice(0, 3).join(" | ").slice(0, 600),
      ms: 0
    })
  )

const main = Effect.gen(function* () {
  const rows: Array<Row> = []
  // A device that cannot start fails every case the same way: report it once.
  const start = yield* Effect.exit(Effect.scoped(Executor.make({ device, logLevel: "error" })))
  if (start._tag === "Failure") {
    const error = String((Cause.squash(start.cause) as Error).message ?? start.cause).slice(0, 600)
    console.log(`device ${device} did not start: ${error}`)
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(
      out,
      JSON.stringify({ device, tolerance: DeviceGradients.tolerance, passed: 0, failed: 1, error, rows: [] }, null, 2)
    )
    process.exitCode = 1
    return
  }
  for (const c of DeviceGradients.cases) rows.push(yield* attempt(c.name, DeviceGradients.runCase(c, device)))
  rows.push(yield* attempt("decoder: 3 AdamW steps", DeviceGradients.runTrainingSteps(device)))
  console.log(
    `gradients on ${device} (float32) vs CPU float64; tolerance |err| <= ${DeviceGradients.tolerance.atol} + ${DeviceGradients.tolerance.rtol} * max|ref|`
  )
  console.log("| case | ok | worst tensor | max abs err | max abs ref | ms |")
  console.log("|---|---|---|---|---|---|")
  for (const r of rows) {
    if ("error" in r) console.log(`| ${r.name} | FAIL | ${r.error} | | | |`)
    else
      console.log(
        `| ${r.name} | ${r.ok ? "ok" : "FAIL"} | ${r.worst?.name ?? ""} | ${r.worst?.maxAbsError.toExponential(2) ?? ""} | ${r.worst?.scale.toExponential(2) ?? ""} | ${r.ms.toFixed(0)} |`
      )
  }
  mkdirSync(dirname(out), { recursive: true })
  const passed = rows.filter((r) => r.ok).length
  writeFileSync(
    out,
    JSON.stringify(
      { device, tolerance: DeviceGradients.tolerance, passed, failed: rows.length - passed, rows },
      null,
      2
    )
  )
  console.log(`wrote ${out}`)
  if (passed < rows.length) process.exitCode = 1
})

// A benchmark script is an entry point, like the CLI.
Effect.runPromise(main).catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
