/**
 * `examples/custom-verifier` from the monorepo's `realm`, copied to a folder outside any npm project (no node_modules
 * above it): its Verifier module imports `effect`, `@realm-lm/core` and `@realm-lm/pipeline`, which resolve to the
 * runner's own copies, and `realm run` trains with its rewards. (The same example installed from packed tarballs is
 * tested in `packaging/Install.integration.test.ts`.)
 */
import { cpSync, existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { assert, beforeAll, describe, it } from "vitest"
import { realmIn, root } from "./support/Realm.ts"

const example = join(root, "examples", "custom-verifier")
const realm = (cwd: string, ...args: Array<string>) => realmIn(cwd, 300_000)(...args)

/** True when some ancestor of `dir` has a node_modules folder (then the test would not show the fallback). */
const underNodeModules = (dir: string): boolean => {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "node_modules"))) return true
    if (dirname(d) === d) return false
  }
}

describe("a custom verifier in a folder with no node_modules", () => {
  const dir = mkdtempSync(join(tmpdir(), "realm-custom-verifier-"))
  beforeAll(() => {
    for (const file of ["my-verifier.ts", "pipeline.yaml"]) cpSync(join(example, file), join(dir, file))
  })

  it("is outside every node_modules tree", () => {
    assert.isFalse(underNodeModules(dir))
  })

  it("passes `realm config check --load-modules` (the module is imported and its settings decoded)", () => {
    const check = realm(dir, "config", "check", "pipeline.yaml", "--load-modules")
    assert.strictEqual(check.stderr, "")
    assert.include(check.stdout, "valid")
    assert.strictEqual(check.status, 0)
  })

  it("runs in `realm run`: RL rewards come from its settings (wrong = -0.5, one `answer` component)", () => {
    const run = realm(dir, "run", "pipeline.yaml")
    assert.include(run.stderr, `verifier.use: ${join(dir, "my-verifier.ts")}`)
    assert.strictEqual(run.status, 0)
    const rows = readFileSync(join(dir, "runs", "custom-verifier", "realm", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const rl = rows.filter((r) => r.phase === "rl")
    assert.strictEqual(rl.length, 2)
    for (const row of rl) {
      assert.deepStrictEqual(
        Object.keys(row).filter((k) => k.startsWith("reward/")),
        ["reward/answer"]
      )
      // Each completion earns 1 (right) or -0.5 (wrong), so the mean lies in [-0.5, 1]; mrpv's rewards have other components.
      assert.isAtLeast(row.reward_mean as number, -0.5)
      assert.isAtMost(row.reward_mean as number, 1)
    }
  })
})
