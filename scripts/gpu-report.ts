/**
 * The GPU check's report: reads the step list that scripts/gpu-check.sh wrote (`steps.tsv`: name, status, exit
 * code, seconds, limit, reason, result JSON path) and each step's JSON, prints one table and writes
 * `gpu-check.json` (schema `realm-gpu-check/1`), `gpu-check.txt` (the table) and `gpu-check.log` (step logs).
 * Plain Node (type stripping, no dependencies) so it runs from the carried Node binary on the GPU machine.
 * Usage: node scripts/gpu-report.ts WORK_DIR OUT_DIR (environment: GPU_CHECK_MODE, GPU_CHECK_MESSAGE,
 * GPU_CHECK_GPU, GPU_CHECK_VULKAN, GPU_CHECK_RUNTIME, GPU_CHECK_STARTED).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, hostname, totalmem } from "node:os"
import { join } from "node:path"

interface Step {
  readonly name: string
  readonly status: "pass" | "fail" | "timeout" | "skipped"
  readonly rc: number | null
  readonly seconds: number
  readonly limitSeconds: number
  readonly reason?: string
  readonly result?: unknown
}

const [work, outDir] = process.argv.slice(2) as [string, string]
if (work === undefined || outDir === undefined)
  throw new RangeError("usage: node scripts/gpu-report.ts WORK_DIR OUT_DIR")

const readJson = (path: string): unknown => {
  try {
    return JSON.parse(readFileSync(path, "utf8"))
  } catch {
    return undefined
  }
}

const steps: Array<Step> = readFileSync(join(work, "steps.tsv"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((line) => {
    const [name = "", status = "fail", rc = "", seconds = "0", limit = "0", reason = "", json = ""] = line.split("\t")
    const result = json === "" ? undefined : readJson(json)
    return {
      name,
      status: status as Step["status"],
      rc: rc === "" ? null : Number(rc),
      seconds: Number(seconds),
      limitSeconds: Number(limit),
      ...(reason === "" ? {} : { reason }),
      ...(result === undefined ? {} : { result })
    }
  })

type Json = Record<string, unknown>
const asRows = (v: unknown): Array<Json> => (Array.isArray(v) ? (v as Array<Json>) : [])
const num = (v: unknown, digits: number): string => (typeof v === "number" ? v.toFixed(digits) : "n/a")

/** One cell summarizing a step's result JSON, by the kind of step (its name's prefix). */
const describe = (step: Step): string => {
  const r = step.result as Json | undefined
  if (step.status === "skipped") return step.reason ?? ""
  if (r === undefined) return step.reason ?? "no result (see gpu-check.log)"
  if (step.name.startsWith("grads")) {
    if (typeof r["error"] === "string") return `device did not start: ${r["error"].slice(0, 160)}`
    const rows = asRows(r["rows"])
    const failed = rows.filter((x) => x["ok"] !== true).map((x) => String(x["name"]).slice(0, 40))
    return `${num(r["passed"], 0)}/${rows.length} agree with float64 CPU${failed.length > 0 ? `; failed: ${failed.join("; ")}` : ""}`
  }
  if (step.name.startsWith("placement")) {
    if (r["ok"] !== true) return `failed: ${String(r["error"] ?? "").slice(0, 160)}`
    const ops = asRows(r["cpuOps"])
    const total = JSON.stringify(r["nodesByProvider"])
    if (r["device"] === "cpu")
      return `${String(r["sessions"])} sessions parsed, nodes ${total} (CPU: nothing can fall back)`
    return ops.length === 0
      ? `no op fell back to the CPU ${total}`
      : `on CPU: ${ops.map((o) => `${String(o["op"])} x${String(o["count"])}`).join(", ")} ${total}`
  }
  if (step.name.startsWith("bench")) {
    return asRows(r["rows"])
      .map((x) => `${String(x["name"])}: ${num(x["stepMs"], 1)} ms/step, ${num(x["tokensPerSec"], 0)} tok/s`)
      .join("; ")
  }
  if (step.name.startsWith("torch")) {
    return (
      `torch ${String(r["torch"])} on ${String(r["gpu"] ?? r["device"])}: ` +
      asRows(r["rows"])
        .map((x) => `${String(x["name"])}: ${num(x["stepMs"], 1)} ms/step`)
        .join("; ")
    )
  }
  return ""
}

const env = (name: string): string | undefined =>
  process.env[name] === undefined || process.env[name] === "" ? undefined : process.env[name]
const mode = env("GPU_CHECK_MODE") ?? "dry-run"
const message = env("GPU_CHECK_MESSAGE")
const started = Number(env("GPU_CHECK_STARTED") ?? Date.now() / 1000)
const summary = {
  passed: steps.filter((s) => s.status === "pass").length,
  failed: steps.filter((s) => s.status === "fail" || s.status === "timeout").length,
  skipped: steps.filter((s) => s.status === "skipped").length
}
const report = {
  schema: "realm-gpu-check/1",
  mode,
  ...(message === undefined ? {} : { message }),
  startedAt: new Date(started * 1000).toISOString(),
  seconds: Math.round(Date.now() / 1000 - started),
  runtime: env("GPU_CHECK_RUNTIME") ?? "unknown",
  machine: {
    host: hostname(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version
  },
  gpu: env("GPU_CHECK_GPU") ?? null,
  vulkan: env("GPU_CHECK_VULKAN") ?? null,
  steps,
  summary
}

const lines = [
  `GPU check (${mode})${message === undefined ? "" : `: ${message}`}`,
  `gpu: ${report.gpu ?? "none"}; vulkan: ${report.vulkan ?? "n/a"}; runtime: ${report.runtime}; ${report.machine.cores} CPU cores, Node ${report.machine.node}`,
  "| step | status | s (limit) | result |",
  "|---|---|---|---|",
  ...steps.map(
    (s) => `| ${s.name} | ${s.status} | ${s.seconds} (${s.limitSeconds}) | ${describe(s).replaceAll("|", "/")} |`
  ),
  `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped in ${report.seconds} s`
]
const table = lines.join("\n")
console.log(table)
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, "gpu-check.json"), JSON.stringify(report, null, 2))
writeFileSync(join(outDir, "gpu-check.txt"), `${table}\n`)
const logs = steps.map((s) => {
  const path = join(work, `${s.name}.log`)
  const text = existsSync(path) ? readFileSync(path, "utf8") : "(no log)\n"
  // Verbose ORT logs are long: keep each step's head and tail.
  const kept =
    text.length > 400_000
      ? `${text.slice(0, 100_000)}\n[... ${text.length - 300_000} characters cut ...]\n${text.slice(-200_000)}`
      : text
  return `===== ${s.name} (${s.status}, rc ${s.rc ?? "-"}, ${s.seconds} s) =====\n${kept}`
})
writeFileSync(join(outDir, "gpu-check.log"), logs.join("\n"))
console.log(`wrote ${join(outDir, "gpu-check.json")}`)
