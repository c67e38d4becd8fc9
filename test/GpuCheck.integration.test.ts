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
import { afterAll, describe, expect, it } from "vitest"

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
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toContain("no NVIDIA GPU found")
    expect(r.stdout).toMatch(/\| grads-cpu \| pass \|/)
    const report = JSON.parse(readFileSync(join(out, "gpu-check.json"), "utf8")) as {
      schema: string
      mode: string
      message: string
      gpu: string | null
      steps: Array<Step>
      summary: { passed: number; failed: number; skipped: number }
    }
    expect(report.schema).toBe("realm-gpu-check/1")
    expect(report.mode).toBe("dry-run")
    expect(report.message).toMatch(/^no NVIDIA GPU found/)
    expect(report.gpu).toBeNull()
    const byName = new Map(report.steps.map((s) => [s.name, s]))
    expect([...byName.keys()]).toEqual(["grads-cpu", "placement-cpu", "bench-cpu", "torch-cpu"])
    const grads = byName.get("grads-cpu")
    expect(grads?.status).toBe("pass")
    expect(grads?.result?.["failed"]).toBe(0)
    expect(grads?.result?.["passed"]).toBeGreaterThanOrEqual(6)
    const placement = byName.get("placement-cpu")?.result as
      | { sessions: number; nodesByProvider: Record<string, number> }
      | undefined
    expect(placement?.sessions).toBeGreaterThanOrEqual(2)
    expect(placement?.nodesByProvider["CPUExecutionProvider"]).toBeGreaterThan(0)
    const bench = byName.get("bench-cpu")?.result as
      | { device: string; rows: Array<{ stepMs: number; tokensPerSec: number }> }
      | undefined
    expect(bench?.device).toBe("cpu")
    expect(bench?.rows[0]?.stepMs).toBeGreaterThan(0)
    const torch = byName.get("torch-cpu")
    expect(["pass", "skipped"]).toContain(torch?.status)
    if (torch?.status === "skipped") expect(torch.reason).toMatch(/has no torch/)
    expect(report.summary.failed).toBe(0)
    expect(readFileSync(join(out, "gpu-check.txt"), "utf8")).toContain("| step | status |")
    expect(readFileSync(join(out, "gpu-check.log"), "utf8")).toContain("===== grads-cpu (pass")
  })

  it("exits 3 with --require-gpu", () => {
    const r = check("--require-gpu", "--out", out)
    expect(r.status).toBe(3)
    expect(r.stdout).toContain("no NVIDIA GPU found")
  })
})
