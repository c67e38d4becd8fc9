/**
 * `realm problems`: a task source's split as core `Problem` JSONL (from a `{ use, with }` tasks config, a settings
 * file with `--tasks`, or a pipeline config), run from another directory than the config's; the file feeds
 * `realm corpus build --tasks`; a file of one's own records there says how to convert it.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Schema } from "effect"
import { Problem } from "@realm-lm/core"
import { assert, describe, it } from "vitest"

const bin = join(import.meta.dirname, "..", "src", "bin.ts")
const realm = (cwd: string, ...args: Array<string>) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000, cwd })

const readProblems = (file: string) =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => Schema.decodeUnknownSync(Problem.Problem)(JSON.parse(l)))

describe("realm problems (spawned)", () => {
  const cwd = mkdtempSync(join(tmpdir(), "realm-problems-"))
  const project = join(cwd, "project")
  mkdirSync(join(project, "data"), { recursive: true })
  const rows = [
    { q: "What is 2 plus 2?", a: "4" },
    { q: "What is 3 plus 4?", a: "7" },
    { q: "What is 5 plus 1?", a: "6" }
  ]
  writeFileSync(join(project, "data", "test.jsonl"), rows.map((r) => `${JSON.stringify(r)}\n`).join(""))
  const settings =
    "name: sums\nfiles: { test: data/test.jsonl, train: data/test.jsonl }\nmapping: { question: q, gold: a }\n"
  writeFileSync(
    join(project, "tasks.yaml"),
    `use: files\nwith:\n${settings
      .split("\n")
      .map((l) => (l === "" ? "" : `  ${l}`))
      .join("\n")}`
  )
  writeFileSync(join(project, "settings.yaml"), settings)
  writeFileSync(
    join(project, "pipeline.yaml"),
    `tasks:\n  use: files\n  with:\n${settings
      .split("\n")
      .map((l) => (l === "" ? "" : `    ${l}`))
      .join("\n")}`
  )

  it("writes a split as Problem records from a tasks config, a settings file with --tasks, or a pipeline config", () => {
    for (const [file, extra] of [
      ["tasks.yaml", []],
      ["settings.yaml", ["--tasks", "files"]],
      ["pipeline.yaml", []]
    ] as const) {
      const out = join("exported", `${file}.jsonl`)
      const r = realm(cwd, "problems", join("project", file), ...extra, "--split", "test", "--out", out)
      assert.strictEqual(r.stderr, "")
      assert.strictEqual(r.status, 0)
      assert.include(r.stdout, `3 test problems of sums -> ${join(cwd, out)}`)
      const problems = readProblems(join(cwd, out))
      assert.deepStrictEqual(
        problems.map((p) => [p.question, p.gold, p.split, p.answerType]),
        rows.map((row) => [row.q, row.a, "test", "number"])
      )
    }
  })

  it("names the mismatch when a tasks config and --tasks disagree, and a config without a task source", () => {
    const mismatch = realm(
      cwd,
      "problems",
      join("project", "tasks.yaml"),
      "--tasks",
      "parcel",
      "--split",
      "test",
      "--out",
      "x.jsonl"
    )
    assert.strictEqual(mismatch.status, 1)
    assert.include(mismatch.stderr, 'names the task source "files", but --tasks is "parcel"')
    writeFileSync(join(project, "empty.yaml"), "run: { seed: 1 }\n")
    const none = realm(cwd, "problems", join("project", "empty.yaml"), "--split", "test", "--out", "x.jsonl")
    assert.strictEqual(none.status, 1)
    assert.include(none.stderr, "names no task source")
  })

  it("its output feeds corpus build --tasks, and a file of one's own records there says to convert it", () => {
    const exported = join(cwd, "exported", "tasks.yaml.jsonl")
    const built = realm(cwd, "corpus", "build", "--tasks", exported, "--out", "from-problems", "--teacher", "rule")
    // The rule teacher writes routes only for built-in domains: every problem fails, but the input was read as Problem records.
    assert.notInclude(built.stderr, "ProblemsFileInvalid")
    assert.include(built.stderr, "3 of 3 problems failed (unavailable 3); first: sums/test/")
    const raw = realm(cwd, "corpus", "build", "--tasks", join("project", "data", "test.jsonl"), "--out", "raw")
    assert.strictEqual(raw.status, 1)
    assert.include(
      raw.stderr,
      `realm: ProblemsFileInvalid: ${join("project", "data", "test.jsonl")}:1: not a core Problem record`
    )
    assert.include(raw.stderr, "--tasks files --tasks-config tasks.yaml")
    assert.include(raw.stderr, "realm problems tasks.yaml --split train --out problems.jsonl")
  })

  it("corpus build --tasks-config takes the same { use, with } tasks config as realm problems", () => {
    const r = realm(
      cwd,
      "corpus",
      "build",
      "--tasks",
      "files",
      "--tasks-config",
      join("project", "tasks.yaml"),
      "--split",
      "test",
      "--out",
      "same-config"
    )
    // Read with data/test.jsonl relative to the config: the rule teacher then refuses each of the 3 problems.
    assert.include(r.stderr, "3 of 3 problems failed (unavailable 3); first: sums/test/")
  })

  it("corpus build --help lists the local teacher and says --tasks files need Problem records", () => {
    const help = realm(cwd, "corpus", "build", "--help")
    assert.include(help.stdout, "local (a Hugging Face model directory")
    assert.include(help.stdout, "JSONL file of core Problem records")
  })
})
