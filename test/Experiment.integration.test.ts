import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SpawnSyncReturns } from "node:child_process"
import { beforeAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const realm = (...args: Array<string>) =>
  spawnSync(process.execPath, [join(root, "apps", "runner", "src", "bin.ts"), ...args], {
    encoding: "utf8",
    timeout: 900_000,
    cwd: root
  })

interface Estimate {
  value: number
  low: number
  high: number
}
interface Cell {
  method: string
  split: string
  mode: string
  accuracy: Estimate & { perSeed: Array<number> }
  differences: Array<{ baseline: string; difference: Estimate; perSeed: Array<number>; problems: number }>
  levels: Record<string, unknown>
}

const methods = ["sft", "rft", "grpo", "cot-synthesizer", "realm", "eaai-no-verdict", "mrpv-no-fading"]
const rlMethods = ["grpo", "cot-synthesizer", "realm", "eaai-no-verdict", "mrpv-no-fading"]

describe("realm experiment (end to end on the tiny preset)", () => {
  const dir = mkdtempSync(join(tmpdir(), "realm-experiment-"))
  const out = join(dir, "run")
  const config = join(dir, "tiny.yaml")
  let first: SpawnSyncReturns<string>
  beforeAll(() => {
    const preset = readFileSync(join(root, "examples", "experiments", "tiny.yaml"), "utf8")
    writeFileSync(config, preset.replace(/^run: .*$/m, `run: { runDir: ${JSON.stringify(out)} }`))
    first = realm("experiment", config)
  }, 900_000)

  it("tunes each RL method's learning rate on validation with the first seed, then trains every seed", () => {
    expect(first.stderr).not.toMatch(/realm: \w+Error|Defect|Error:/)
    expect(first.status).toBe(0)
    const saved = JSON.parse(readFileSync(join(out, "tuning.json"), "utf8")) as {
      key: string
      choice: Record<string, { lr: number; scores: Record<string, number> }>
    }
    expect(saved.key).toMatch(/^[0-9a-f]{64}$/)
    const tuning = saved.choice
    expect(Object.keys(tuning).toSorted()).toEqual(rlMethods.toSorted())
    for (const t of Object.values(tuning)) {
      expect(Object.keys(t.scores)).toEqual(["0.0001", "0.001"])
      expect([0.0001, 0.001]).toContain(t.lr)
    }
    // The grid was scored on validation only: the tuning results hold no test or heldout split.
    const tuned = JSON.parse(readFileSync(join(out, "tuning-results.json"), "utf8")) as Array<{ split: string }>
    expect(new Set(tuned.map((r) => r.split))).toEqual(new Set(["validation"]))
    for (const seed of [0, 1]) {
      const stages = readdirSync(join(out, `seed-${seed}`))
      for (const m of rlMethods) expect(stages).toContain(`${m}@lr=${tuning[m]?.lr}`)
      expect(stages).toContain("sft")
      expect(stages).toContain("rft")
    }
    // Seed 1 trains only the chosen learning rates; seed 0 also keeps the grid's other runs.
    expect(readdirSync(join(out, "seed-1")).filter((d) => d.includes("@lr="))).toHaveLength(rlMethods.length)
    expect(readdirSync(join(out, "seed-0")).filter((d) => d.includes("@lr="))).toHaveLength(2 * rlMethods.length)
  })

  it("summarises every method per split and mode over both seeds, with paired differences to each baseline", () => {
    const summary = (
      JSON.parse(readFileSync(join(out, "experiment.json"), "utf8")) as {
        summary: { seeds: Array<number>; cells: Array<Cell> }
      }
    ).summary
    expect(summary.seeds).toEqual([0, 1])
    expect(summary.cells).toHaveLength(methods.length * 2 * 2)
    for (const cell of summary.cells) {
      expect(methods).toContain(cell.method)
      expect(cell.accuracy.perSeed).toHaveLength(2)
      expect(cell.accuracy.low).toBeLessThanOrEqual(cell.accuracy.value + 1e-12)
      expect(cell.accuracy.high).toBeGreaterThanOrEqual(cell.accuracy.value - 1e-12)
      const baselines = ["rft", "grpo"].filter((b) => b !== cell.method)
      expect(cell.differences.map((d) => d.baseline)).toEqual(baselines)
      for (const d of cell.differences) {
        expect(d.perSeed).toHaveLength(2)
        expect(d.problems).toBeGreaterThan(0)
      }
    }
    const table = first.stdout.split("\n").filter((l) => l.startsWith("| "))
    expect(table[0]).toBe("| method | test assisted | test autonomous | heldout assisted | heldout autonomous |")
    expect(first.stdout).toContain("Paired difference to RFT")
    expect(first.stdout).toContain("Paired difference to GRPO, no guidance")
    expect(existsSync(join(out, "experiment.md"))).toBe(true)
    expect(readFileSync(join(out, "experiment.html"), "utf8")).toContain("<svg")
  })

  it("the problems are the same under every seed", () => {
    for (const split of ["test", "heldout", "validation"]) {
      const a = readFileSync(join(out, "seed-0", "problems", `${split}.jsonl`), "utf8")
      expect(readFileSync(join(out, "seed-1", "problems", `${split}.jsonl`), "utf8")).toBe(a)
    }
  })

  it("a second run reuses the tuning choice and every stage, prints the same tables and writes them into a marked block", () => {
    const doc = join(dir, "EXPERIMENTS.md")
    writeFileSync(doc, "# Results\n<!-- realm:run -->\nold\n<!-- /realm:run -->\nafter\n")
    const again = realm("experiment", config, "--update", doc)
    expect(again.status).toBe(0)
    expect(again.stderr).not.toContain("learning-rate grid")
    // Every stage of every seed is up to date: as many "skipped" lines as stages started.
    const started = again.stderr.split("\n").filter((l) => l.startsWith("== ")).length
    const skipped = again.stderr.split("\n").filter((l) => l.endsWith(": up to date, skipped")).length
    expect(started).toBe(2 * 14)
    expect(skipped).toBe(started)
    const tables = (s: string) =>
      s
        .split("\n")
        .filter((l) => l.startsWith("|"))
        .join("\n")
    expect(tables(again.stdout)).toBe(tables(first.stdout))
    const written = readFileSync(doc, "utf8")
    expect(written).not.toContain("old")
    expect(tables(written)).toBe(tables(first.stdout))
    expect(written).toMatch(/<sub>Generated by `realm experiment .* --update .*`/)
    expect(written.endsWith("<!-- /realm:run -->\nafter\n")).toBe(true)
  })
})
