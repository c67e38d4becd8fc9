/**
 * The path rule (issue 16): every relative path in a config resolves against the file that names it, and command-line
 * flags against the working directory. A pipeline in `sub/dir/` with relative data files, a relative teacher module and
 * a relative run directory runs from another working directory; `realm corpus build` reads `--tasks-config` and
 * `--teacher-config` files whose paths (the data files, the local teacher's model) are relative to those files.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, beforeAll, describe, it } from "vitest"
import { assertSucceeded, realmIn } from "./support/Realm.ts"

const realm = (cwd: string, ...args: Array<string>) => realmIn(cwd, 300_000)(...args)

describe("relative paths resolve against the file that names them", () => {
  const cwd = mkdtempSync(join(tmpdir(), "realm-path-rule-"))
  const project = join(cwd, "sub", "dir")
  beforeAll(() => {
    mkdirSync(project, { recursive: true })
    cpSync(join(import.meta.dirname, "fixtures", "path-rule"), project, { recursive: true })
  })

  it("`realm run sub/dir/pipeline.yaml` from another directory reads data/, ./gold-teacher.mjs and writes out/ beside the config", () => {
    const run = realm(cwd, "run", join("sub", "dir", "pipeline.yaml"))
    assertSucceeded(run)
    const runDir = join(project, "out", "path-rule")
    assert.include(run.stdout, join(runDir, "eval", "results.json"))
    const problems = readFileSync(join(runDir, "problems", "train.jsonl"), "utf8")
      .trim()
      .split("\n")
    assert.lengthOf(problems, 24)
    const corpus = readFileSync(join(runDir, "corpus", "corpus.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { teacher: string })
    assert.isTrue(corpus.every((r) => r.teacher === "gold"))
    assert.isTrue(existsSync(join(runDir, "sft", "result.json")))
    // Nothing lands in the working directory.
    assert.deepStrictEqual(readdirSync(cwd), ["sub"])
  })

  it("`realm corpus build --tasks-config` and `--teacher-config` files resolve their paths against themselves", () => {
    // The pipeline run above left a small model (with its tokenizer) under out/: it serves as the local teacher.
    writeFileSync(
      join(project, "tasks.yaml"),
      "name: sums\nfiles: { train: data/train.jsonl }\nmapping: { question: q, gold: a }\nlimit: 3\n"
    )
    writeFileSync(join(project, "teacher.yaml"), "model: out/path-rule/base/model\nmaxNewTokens: 8\n")
    const built = realm(
      cwd,
      "corpus",
      "build",
      "--tasks",
      "files",
      "--tasks-config",
      join("sub", "dir", "tasks.yaml"),
      "--teacher",
      "local",
      "--teacher-config",
      join("sub", "dir", "teacher.yaml"),
      "--out",
      "local-run",
      "--routes",
      "2",
      "--negatives",
      "0"
    )
    assertSucceeded(built)
    assert.include(built.stdout, "corpus complete: 3 problems")
    // `--out` is a flag: it resolves against the working directory.
    const records = readFileSync(join(cwd, "local-run", "corpus", "corpus.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { teacher: string })
    assert.deepStrictEqual(
      records.map((r) => r.teacher),
      ["local:model", "local:model", "local:model"]
    )
  })
})
