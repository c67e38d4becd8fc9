import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "vitest"
import packageJson from "../package.json" with { type: "json" }

const bin = join(import.meta.dirname, "..", "src", "bin.ts")
const realm = (...args: Array<string>) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 60_000 })

/** Writes `yaml` to `dir/name` and runs `realm config check` on it. */
const checkConfig = (dir: string, name: string, yaml: string) => {
  writeFileSync(join(dir, name), yaml)
  return realm("config", "check", join(dir, name))
}

/** The command exited 1 and its stderr says `message`. */
const assertRefused = (r: { readonly status: number | null; readonly stderr: string }, message: string) => {
  assert.strictEqual(r.status, 1)
  assert.include(r.stderr, message)
}

describe("realm CLI (spawned)", () => {
  it("--version prints the package version and --help lists subcommands", () => {
    const version = realm("--version")
    assert.strictEqual(version.status, 0)
    assert.include(version.stdout, packageJson.version)
    const help = realm("--help")
    assert.strictEqual(help.status, 0)
    assert.include(help.stdout, "SUBCOMMANDS")
    assert.include(help.stdout, "config")
  })

  it("config check exits 0 on a valid file and 1 with a one-line field-path error on an invalid one", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-cli-"))
    const ok = checkConfig(dir, "ok.yaml", "run:\n  seed: 7\n")
    assert.strictEqual(ok.status, 0)
    assert.include(ok.stdout, "valid")
    const bad = checkConfig(dir, "bad.yaml", "run:\n  threads: -2\n")
    assertRefused(bad, "realm: ConfigFileError")
    assert.include(bad.stderr, 'run.threads: unknown key "threads"')
    assert.notInclude(bad.stderr, "    at ") // no stack trace for expected errors
  })

  it("config check reports experiment and method problems with their paths", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-cli-"))
    const bad = checkConfig(dir, "exp.yaml", "methods: [sft, realm]\nexperiment: { baselines: [rft] }\n")
    assertRefused(bad, `experiment.baselines[0]: "rft" is not one of the methods (sft, realm)`)
    const variants = checkConfig(
      dir,
      "variants.yaml",
      "methods: [sft, { name: grpo-cos, method: grpo, curriculum: { schedule: { kind: cosine } } }]\n"
    )
    assertRefused(variants, "methods: methods[1].curriculum.schedule")
  })

  it("an unknown subcommand fails with a non-zero status", () => {
    const r = realm("bogus")
    assert.notStrictEqual(r.status, 0)
    assert.include(r.stdout + r.stderr, 'Unknown subcommand "bogus"')
  })
})

describe("realm config check against stage schemas (spawned)", () => {
  it("checks each slot's settings against the implementation it uses, with paths", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-cli-"))
    const good = checkConfig(
      dir,
      "good.yaml",
      [
        "run: { seed: 1 }",
        "tasks: { use: parcel, with: { levels: [1, 2] } }",
        "teacher: { use: rule }",
        "verifier: { use: mrpv }",
        "curriculum: { use: eaai, with: { schedule: { totalSteps: 50 } } }",
        "corpus: { routesPerProblem: 4 }"
      ].join("\n")
    )
    assert.strictEqual(good.stderr, "")
    assert.strictEqual(good.status, 0)
    const bad = checkConfig(
      dir,
      "bad.yaml",
      [
        "tasks: { use: parcel, with: { levels: [7] } }",
        "teacher: { use: oracle }",
        "curriculum: { use: eaai, with: { schedule: { kind: sawtooth } } }",
        "corpus: { routesPerProblem: 2, negativesPerProblem: 5 }"
      ].join("\n")
    )
    assertRefused(bad, "tasks.with: ")
    assert.include(bad.stderr, "levels[0]: ")
    assert.include(bad.stderr, 'teacher.use: no built-in teacher named "oracle"')
    assert.include(bad.stderr, "curriculum.with: ")
    assert.include(bad.stderr, "schedule.kind: ")
    assert.include(bad.stderr, "negativesPerProblem")
  })
})

describe("realm config check never runs the code a config names unless asked (spawned)", () => {
  it("locates modules without importing them; --load-modules imports them; unknown keys get a suggestion", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-cli-"))
    const marker = join(dir, "imported.txt")
    writeFileSync(
      join(dir, "evil.mjs"),
      `import { writeFileSync } from "node:fs"\nwriteFileSync(${JSON.stringify(marker)}, "ran")\n`
    )
    const checked = checkConfig(dir, "pipeline.yaml", "verifier: { use: ./evil.mjs }\n")
    assert.strictEqual(checked.stderr, "")
    assert.strictEqual(checked.status, 0)
    assert.isFalse(existsSync(marker))
    assert.include(checked.stdout, `verifier.use: ${join(dir, "evil.mjs")}`)
    assert.include(checked.stdout, "--load-modules")
    const loaded = realm("config", "check", "--load-modules", join(dir, "pipeline.yaml"))
    assert.isTrue(existsSync(marker))
    assertRefused(loaded, "exports no `implementation`")
    const typo = checkConfig(
      dir,
      "typo.yaml",
      "trainer: { use: onnx, with: { sft: { lerning_rate: 0.001 } } }\nevalution: { splits: [test] }\n"
    )
    assertRefused(typo, 'evalution: unknown key "evalution"; did you mean "evaluation"?')
  })
})
