import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigFile from "../src/ConfigFile.ts"
import { PipelineConfig } from "@realm-lm/pipeline"

const ConfigFileSchema = PipelineConfig.PipelineConfig

const file = (name: string, text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "realm-cfg-")), name)
  writeFileSync(path, text)
  return path
}
const loadError = (path: string) => Effect.flip(ConfigFile.load(path, ConfigFileSchema))

describe("ConfigFile", () => {
  it.effect("loads YAML and JSON into the same value", () =>
    Effect.gen(function* () {
      const yaml = yield* ConfigFile.load(file("a.yaml", "run:\n  seed: 3\n  runDir: runs/x\n"), ConfigFileSchema)
      const json = yield* ConfigFile.load(file("a.json", '{"run":{"seed":3,"runDir":"runs/x"}}'), ConfigFileSchema)
      assert.deepStrictEqual(yaml, { run: { seed: 3, runDir: "runs/x" } })
      assert.deepStrictEqual(json, yaml)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("reports every invalid field with its path", () =>
    Effect.gen(function* () {
      const error = yield* loadError(file("bad.yaml", "run:\n  seed: 1.5\n  runDir: 7\n"))
      assert.include(error.message, "run.seed: ")
      assert.include(error.message, "run.runDir: ")
      assert.include(error.message, "bad.yaml")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("rejects unknown sections so typos do not pass silently", () =>
    Effect.gen(function* () {
      const error = yield* loadError(file("typo.json", '{"verifer": {}}'))
      assert.include(error.message, 'verifer: unknown key "verifer"; did you mean "verifier"?')
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("names the line of a YAML syntax error and the reason for bad JSON or a missing file", () =>
    Effect.gen(function* () {
      assert.match((yield* loadError(file("syn.yaml", "run:\n  seed: [1\n"))).message, /YAML syntax error at line \d+/)
      assert.include((yield* loadError(file("syn.json", '{"run": }'))).message, "invalid JSON")
      assert.include((yield* loadError("/nonexistent/realm.yaml")).message, "file not found")
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
