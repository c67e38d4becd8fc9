import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SpawnSyncReturns } from "node:child_process"
import { beforeAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const realm = (...args: Array<string>) =>
  spawnSync(process.execPath, [join(root, "apps", "runner", "src", "bin.ts"), ...args], { encoding: "utf8", timeout: 900_000, cwd: root })

interface Estimate { value: number; low: number; high: number }
interface Result {
  method: string
  split: string
  mode: string
  accuracy: Estimate
  metrics: Record<string, Estimate>
  outcomes: Array<{ prompt?: { guidance: { routeIds: Array<string> } }; texts?: Array<string> }>
}

describe("realm demo --quick (end to end, every stage)", () => {
  const out = join(mkdtempSync(join(tmpdir(), "realm-demo-")), "run")
  let first: SpawnSyncReturns<string>
  beforeAll(() => {
    first = realm("demo", "--quick", "--out", out)
  }, 900_000)

  it("runs problems, corpora, base model, every method, evaluation, table and report", () => {
    expect(first.stderr).not.toMatch(/realm: \w+Error|Defect|Error:/)
    expect(first.status).toBe(0)
    for (const stage of ["problems", "corpus", "routes-test", "routes-heldout", "base", "sft", "rft", "cot-synthesizer", "realm", "realm-zero", "eval"]) {
      expect(first.stderr).toContain(`== ${stage}`)
    }
    const table = first.stdout.split("\n").filter((l) => l.startsWith("|"))
    expect(table[0]).toBe("| method | test assisted | test autonomous | heldout assisted | heldout autonomous |")
    expect(table).toHaveLength(2 + 5)
    expect(existsSync(join(out, "report.html"))).toBe(true)
  })

  it("writes results for 5 methods x 2 splits x 2 modes; assisted prompts show routes, autonomous ones none", () => {
    const results = JSON.parse(readFileSync(join(out, "eval", "results.json"), "utf8")) as Array<Result>
    expect(results).toHaveLength(20)
    for (const r of results) {
      expect(r.accuracy.low).toBeLessThanOrEqual(r.accuracy.value)
      expect(r.accuracy.high).toBeGreaterThanOrEqual(r.accuracy.value)
      expect(r.outcomes).toHaveLength(24)
      const shown = r.outcomes.map((o) => o.prompt?.guidance.routeIds.length ?? -1)
      if (r.mode === "assisted") {
        expect(shown.every((n) => n >= 1)).toBe(true)
        expect(r.metrics).toHaveProperty("route-verdict accuracy")
      } else {
        expect(shown.every((n) => n === 0)).toBe(true)
      }
    }
    // Every trained method left a checkpoint that transformers.js can load (onnx/model.onnx + tokenizer).
    for (const method of ["sft", "rft", "cot-synthesizer", "realm", "realm-zero"]) {
      const ref = JSON.parse(readFileSync(join(out, method, "result.json"), "utf8")) as { path: string }
      expect(existsSync(join(ref.path, "onnx", "model.onnx"))).toBe(true)
      expect(existsSync(join(ref.path, "tokenizer.json"))).toBe(true)
      expect(existsSync(join(out, method, "manifest.json"))).toBe(true)
    }
  })

  it("a second run skips every finished stage and prints the same table", () => {
    const again = realm("demo", "--quick", "--out", out)
    expect(again.status).toBe(0)
    for (const stage of ["problems", "base", "sft", "rft", "cot-synthesizer", "realm", "realm-zero", "eval"]) {
      expect(again.stderr).toContain(`${stage}: up to date, skipped`)
    }
    const table = (s: string) => s.split("\n").filter((l) => l.startsWith("|")).join("\n")
    expect(table(again.stdout)).toBe(table(first.stdout))
  })

  it("realm train sft runs one phase from the demo's base model and corpus, and a re-run resumes instead of retraining", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-train-"))
    const config = join(dir, "trainer.yaml")
    writeFileSync(config, "trainer:\n  use: onnx\n  with:\n    sft: { steps: 2, batchSize: 8, evalEvery: 0 }\n    generation: { maxNewTokens: 64, maxPromptTokens: 448 }\n    batching: { buckets: [64, 128, 256, 512] }\n")
    const args = ["train", "sft", "--init", join(out, "base", "model"), "--corpus", join(out, "corpus", "corpus.jsonl"), "--out", join(dir, "sft"), "--config", config]
    const first = realm(...args)
    expect(first.stderr).not.toContain("realm: ")
    expect(first.status).toBe(0)
    expect(first.stdout).toMatch(/sft finished at step 2: /)
    const metrics = () => readFileSync(join(dir, "sft", "metrics.jsonl"), "utf8").trim().split("\n").length
    const lines = metrics()
    const again = realm(...args)
    expect(again.status).toBe(0)
    expect(metrics()).toBe(lines)
  })

  it("a trained checkpoint serves as a local-model teacher for realm corpus build", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-local-teacher-"))
    const tasks = join(dir, "tasks.yaml")
    writeFileSync(tasks, "counts: { train: 6, validation: 1, test: 1, heldout: 1, transfer: 0 }\n")
    const ref = JSON.parse(readFileSync(join(out, "sft", "result.json"), "utf8")) as { path: string }
    const teacher = join(dir, "teacher.yaml")
    writeFileSync(teacher, `model: ${ref.path}\nmaxNewTokens: 48\n`)
    const r = realm("corpus", "build", "--tasks", "parcel", "--tasks-config", tasks, "--teacher", "local", "--teacher-config", teacher, "--out", join(dir, "run"), "--routes", "2")
    expect(r.stderr).not.toContain("realm: ")
    expect(r.status).toBe(0)
    const summary = JSON.parse(readFileSync(join(dir, "run", "corpus", "summary.json"), "utf8")) as { records: number; failed: number; teacher: string }
    expect(summary.teacher).toBe("local:final")
    expect(summary.records + summary.failed).toBe(6)
  })
})
