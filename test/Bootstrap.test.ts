import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { assert, describe, it } from "vitest"

const root = join(import.meta.dirname, "..")
const bootstrap = () =>
  spawnSync("bash", ["-c", `. "${join(root, "scripts", "bootstrap.sh")}" && node -p process.versions.node`], {
    encoding: "utf8",
    timeout: 60_000
  })

describe("bootstrap", () => {
  it("is idempotent: when already bootstrapped it installs nothing, prints nothing and selects Node >= 22.18", () => {
    bootstrap()
    const again = bootstrap()
    assert.strictEqual(again.status, 0)
    assert.strictEqual(again.stderr, "")
    const [major, minor] = again.stdout.trim().split(".").map(Number) as [number, number]
    assert.isTrue(major > 22 || (major === 22 && minor >= 18))
  })
})

describe("examples", () => {
  it.each(["parcel-pipeline.yaml", "hf-model-pipeline.yaml", "experiments/guidance.yaml", "experiments/tiny.yaml"])(
    "the pipeline config example %s is valid",
    (file) => {
      const r = spawnSync(
        process.execPath,
        [join(root, "apps", "runner", "src", "bin.ts"), "config", "check", join(root, "examples", file)],
        {
          encoding: "utf8",
          timeout: 60_000
        }
      )
      assert.strictEqual(r.stderr, "")
      assert.strictEqual(r.status, 0)
    }
  )
})
