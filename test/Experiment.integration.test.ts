import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SpawnSyncReturns } from "node:child_process"
import { assert, beforeAll, describe, it } from "vitest"
import { type Estimate, realmIn, root } from "./support/Realm.ts"

const realm = realmIn(root, 900_000)

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
    assert.notMatch(first.stderr, /realm: \w+Error|Defect|Error:/)
    assert.strictEqual(first.status, 0)
    const saved = JSON.parse(readFileSync(join(out, "tuning.json"), "utf8")) as {
      key: string
      choice: Record<string, { lr: number; scores: Record<string, number> }>
    }
    assert.match(saved.key, /^[0-9a-f]{64}$/)
    const tuning = saved.choice
    assert.deepStrictEqual(Object.keys(tuning).toSorted(), rlMethods.toSorted())
    for (const t of Object.values(tuning)) {
      assert.deepStrictEqual(Object.keys(t.scores), ["0.0001", "0.001"])
      assert.include([0.0001, 0.001], t.lr)
    }
    // The grid was scored on validation only: the tuning results hold no test or heldout split.
    const tuned = JSON.parse(readFileSync(join(out, "tuning-results.json"), "utf8")) as Array<{ split: string }>
    assert.deepStrictEqual(new Set(tuned.map((r) => r.split)), new Set(["validation"]))
    for (const seed of [0, 1]) {
      const stages = readdirSync(join(out, `seed-${seed}`))
      for (const m of rlMethods) assert.include(stages, `${m}@lr=${tuning[m]?.lr}`)
      assert.include(stages, "sft")
      assert.include(stages, "rft")
    }
    // Seed 1 trains only the chosen learning rates; seed 0 also keeps the grid's other runs.
    assert.lengthOf(
      readdirSync(join(out, "seed-1")).filter((d) => d.includes("@lr=")),
      rlMethods.length
    )
    assert.lengthOf(
      readdirSync(join(out, "seed-0")).filter((d) => d.includes("@lr=")),
      2 * rlMethods.length
    )
  })

  it("summarises every method per split and mode over both seeds, with paired differences to each baseline", () => {
    const summary = (
      JSON.parse(readFileSync(join(out, "experiment.json"), "utf8")) as {
        summary: { seeds: Array<number>; cells: Array<Cell> }
      }
    ).summary
    assert.deepStrictEqual(summary.seeds, [0, 1])
    assert.lengthOf(summary.cells, methods.length * 2 * 2)
    for (const cell of summary.cells) {
      assert.include(methods, cell.method)
      assert.lengthOf(cell.accuracy.perSeed, 2)
      assert.isAtMost(cell.accuracy.low, cell.accuracy.value + 1e-12)
      assert.isAtLeast(cell.accuracy.high, cell.accuracy.value - 1e-12)
      const baselines = ["rft", "grpo"].filter((b) => b !== cell.method)
      assert.deepStrictEqual(
        cell.differences.map((d) => d.baseline),
        baselines
      )
      for (const d of cell.differences) {
        assert.lengthOf(d.perSeed, 2)
        assert.isAbove(d.problems, 0)
      }
    }
    const table = first.stdout.split("\n").filter((l) => l.startsWith("| "))
    assert.strictEqual(table[0], "| method | test assisted | test autonomous | heldout assisted | heldout autonomous |")
    assert.include(first.stdout, "Paired difference to RFT")
    assert.include(first.stdout, "Paired difference to GRPO, no guidance")
    assert.isTrue(existsSync(join(out, "experiment.md")))
    assert.include(readFileSync(join(out, "experiment.html"), "utf8"), "<svg")
  })

  it("the problems are the same under every seed", () => {
    for (const split of ["test", "heldout", "validation"]) {
      const a = readFileSync(join(out, "seed-0", "problems", `${split}.jsonl`), "utf8")
      assert.strictEqual(readFileSync(join(out, "seed-1", "problems", `${split}.jsonl`), "utf8"), a)
    }
  })

  it("a second run reuses the tuning choice and every stage, prints the same tables and writes them into a marked block", () => {
    const doc = join(dir, "EXPERIMENTS.md")
    writeFileSync(doc, "# Results\n<!-- realm:run -->\nold\n<!-- /realm:run -->\nafter\n")
    const again = realm("experiment", config, "--update", doc)
    assert.strictEqual(again.status, 0)
    assert.notInclude(again.stderr, "learning-rate grid")
    // Every stage of every seed is up to date: as many "skipped" lines as stages started.
    const started = again.stderr.split("\n").filter((l) => l.startsWith("== ")).length
    const skipped = again.stderr.split("\n").filter((l) => l.endsWith(": up to date, skipped")).length
    assert.strictEqual(started, 2 * 14)
    assert.strictEqual(skipped, started)
    const tables = (s: string) =>
      s
        .split("\n")
        .filter((l) => l.startsWith("|"))
        .join("\n")
    assert.strictEqual(tables(again.stdout), tables(first.stdout))
    const written = readFileSync(doc, "utf8")
    assert.notInclude(written, "old")
    assert.strictEqual(tables(written), tables(first.stdout))
    assert.match(written, /<sub>Generated by `realm experiment .* --update .*`/)
    assert.isTrue(written.endsWith("<!-- /realm:run -->\nafter\n"))
  })
})
