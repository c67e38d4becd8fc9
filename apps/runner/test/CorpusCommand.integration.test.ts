import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const bin = join(import.meta.dirname, "..", "src", "bin.ts")
const realm = (...args: Array<string>) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 })

describe("realm corpus build (spawned)", () => {
  const dir = mkdtempSync(join(tmpdir(), "realm-corpus-cli-"))
  const settings = join(dir, "parcel.yaml")
  writeFileSync(settings, "counts:\n  train: 40\n  validation: 2\n  test: 2\n  heldout: 2\n  transfer: 2\n")
  const out = join(dir, "run")

  it("builds a labelled corpus from the built-in domain, then resumes without rebuilding", () => {
    const first = realm("corpus", "build", "--tasks", "parcel", "--tasks-config", settings, "--out", out, "--routes", "3", "--negatives", "1")
    expect(first.stderr).not.toContain("Error")
    expect(first.status).toBe(0)
    expect(first.stdout).toMatch(/corpus complete: 40 problems \(40 built, 0 resumed\)/)
    const lines = readFileSync(join(out, "corpus", "corpus.jsonl"), "utf8").trim().split("\n")
    expect(lines).toHaveLength(40)
    const records = lines.map((l) => JSON.parse(l) as { routes: Array<{ label: string }> })
    // At most 3 routes each (near-duplicates are removed), with both labels across the corpus.
    expect(Math.max(...records.map((r) => r.routes.length))).toBe(3)
    const labels = records.flatMap((r) => r.routes.map((route) => route.label))
    expect(labels).toContain("positive")
    expect(labels).toContain("negative")
    const again = realm("corpus", "build", "--tasks", "parcel", "--tasks-config", settings, "--out", out, "--routes", "3", "--negatives", "1")
    expect(again.status).toBe(0)
    expect(again.stdout).toMatch(/\(0 built, 40 resumed\)/)
  })

  it("names the available teachers when an unknown one is asked for", () => {
    const r = realm("corpus", "build", "--tasks", "parcel", "--tasks-config", settings, "--out", join(dir, "other"), "--teacher", "oracle")
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('no built-in teacher named "oracle"')
    expect(r.stderr).toContain("rule, http")
  })
})
