/**
 * scripts/gpu-check.sh's dry run, as on a machine without an NVIDIA GPU (NVIDIA_SMI points at `false`): it must
 * say "no NVIDIA GPU found", run the CPU steps with tiny shapes, exit 0 and write gpu-check.json in the
 * documented shape. With --require-gpu it exits 3 instead. Uses the .device/ pack when scripts/gpu-prepare.sh
 * made one, else this checkout's Node and node_modules (no network either way).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "vitest"

const root = join(import.meta.dirname, "..")
const out = mkdtempSync(join(tmpdir(), "gpu-check-"))
afterAll(() => rmSync(out, { recursive: true, force: true }))
const check = (...args: Array<string>) =>
  spawnSync("bash", [join(root, "scripts", "gpu-check.sh"), ...args], {
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, NVIDIA_SMI: "false", OUT: "" }
  })

interface Step {
  readonly name: string
  readonly status: string
  readonly seconds: number
  readonly reason?: string
  readonly result?: Record<string, unknown>
}

describe("scripts/gpu-check.sh without a GPU", () => {
  it("says no NVIDIA GPU was found, dry-runs every step on the CPU and writes the report", () => {
    const r = check("--out", out)
    assert.strictEqual(r.status, 0, r.stdout + r.stderr)
    assert.include(r.stdout, "no NVIDIA GPU found")
    assert.match(r.stdout, /\| grads-cpu \| pass \|/)
    const report = JSON.parse(readFileSync(join(out, "gpu-check.json"), "utf8")) as {
      schema: string
      mode: string
      message: string
      gpu: string | null
      steps: Array<Step>
      summary: { passed: number; failed: number; skipped: number }
    }
    assert.strictEqual(report.schema, "realm-gpu-check/1")
    assert.strictEqual(report.mode, "dry-run")
    assert.match(report.message, /^no NVIDIA GPU found/)
    assert.isNull(report.gpu)
    const byName = new Map(report.steps.map((s) => [s.name, s]))
    assert.deepStrictEqual([...byName.keys()], ["grads-cpu", "placement-cpu", "bench-cpu", "torch-cpu"])
    const grads = byName.get("grads-cpu")
    assert.strictEqual(grads?.status, "pass")
    assert.strictEqual(grads?.result?.["failed"], 0)
    assert.isAtLeast(grads?.result?.["passed"] as number, 6)
    const placement = byName.get("placement-cpu")?.result as
      | { sessions: number; nodesByProvider: Record<string, number> }
      | undefined
    assert.isAtLeast(placement?.sessions ?? NaN, 2)
    assert.isAbove(placement?.nodesByProvider["CPUExecutionProvider"] ?? NaN, 0)
    const bench = byName.get("bench-cpu")?.result as
      | { device: string; rows: Array<{ stepMs: number; tokensPerSec: number }> }
      | undefined
    assert.strictEqual(bench?.device, "cpu")
    assert.isAbove(bench?.rows[0]?.stepMs ?? NaN, 0)
    const torch = byName.get("torch-cpu")
    assert.include(["pass", "skipped"], torch?.status)
    if (torch?.status === "skipped") assert.match(torch.reason ?? "", /has no torch/)
    assert.strictEqual(report.summary.failed, 0)
    assert.include(readFileSync(join(out, "gpu-check.txt"), "utf8"), "| step | status |")
    assert.include(readFileSync(join(out, "gpu-check.log"), "utf8"), "===== grads-cpu (pass")
  })

  it("exits 3 with --require-gpu", () => {
    const r = check("--require-gpu", "--out", out)
    assert.strictEqual(r.status, 3)
    assert.include(r.stdout, "no NVIDIA GPU found")
  })
})
