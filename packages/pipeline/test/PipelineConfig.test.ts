import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { join } from "node:path"
import * as PipelineConfig from "../src/PipelineConfig.ts"

const fixtures = join(import.meta.dirname, "fixtures")
const imported = () => (globalThis as { realmMarksImport?: number }).realmMarksImport ?? 0

describe("PipelineConfig.validate", () => {
  it.effect("with modules located only, a module is never imported and its settings are left unchecked", () =>
    Effect.gen(function* () {
      const before = imported()
      const config: PipelineConfig.PipelineConfig = { tasks: { use: "./marks-import.ts", with: { strat: 1 } } }
      const problems = yield* PipelineConfig.validate(config, fixtures, "locate")
      assert.deepStrictEqual(problems, [])
      assert.strictEqual(imported(), before, "locating must not import the module")
      const loaded = yield* PipelineConfig.validate(config, fixtures, "load")
      assert.strictEqual(imported(), before + 1)
      assert.deepStrictEqual(
        loaded.map((p) => p.path),
        ["tasks.with"]
      )
      assert.include(loaded[0]!.detail, `unknown key "strat"; did you mean "start"?`)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a module path that names no file is a problem even when modules are only located", () =>
    Effect.gen(function* () {
      const problems = yield* PipelineConfig.validate(
        { verifier: { use: "../../../nowhere/verifier.ts" } },
        fixtures,
        "locate"
      )
      assert.deepStrictEqual(
        problems.map((p) => p.path),
        ["verifier.use"]
      )
      assert.include(problems[0]!.detail, "no such file")
      const dir = yield* PipelineConfig.validate({ verifier: { use: "./" } }, fixtures, "locate")
      assert.include(dir[0]!.detail, "not a module file")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect(
    "unknown keys in a slot's settings, nested ones and the corpus section are problems with a suggestion",
    () =>
      Effect.gen(function* () {
        const problems = yield* PipelineConfig.validate(
          {
            trainer: { use: "onnx", with: { sft: { lerning_rate: 0.001 } } },
            corpus: { routesPerProblm: 4 }
          },
          fixtures
        )
        const byPath = new Map(problems.map((p) => [p.path, p.detail]))
        assert.include(byPath.get("trainer.with"), `sft.lerning_rate: unknown key "lerning_rate"`)
        assert.include(
          byPath.get("corpus"),
          `routesPerProblm: unknown key "routesPerProblm"; did you mean "routesPerProblem"?`
        )
      }).pipe(Effect.provide(NodeServices.layer))
  )

  it("lists the modules a config names, each once, resolved against the config's directory", () => {
    const modules = PipelineConfig.modulesNamed(
      {
        tasks: { use: "./marks-import.ts" },
        verifier: { use: "mrpv" },
        model: { scratch: {}, pretrain: { tasks: { use: "./marks-import.ts" } } }
      },
      fixtures
    )
    assert.deepStrictEqual(modules, [{ path: "tasks.use", module: join(fixtures, "marks-import.ts") }])
  })

  it.effect(
    "curriculum settings a fixed-guidance variant ignores are problems, found by the curriculum's own fixedGuidance",
    () =>
      Effect.gen(function* () {
        const details = (
          methods: NonNullable<PipelineConfig.PipelineConfig["methods"]>,
          curriculum?: NonNullable<PipelineConfig.PipelineConfig["curriculum"]>
        ) =>
          Effect.map(
            PipelineConfig.validate({ methods, ...(curriculum === undefined ? {} : { curriculum }) }, fixtures),
            (ps) => ps.filter((p) => p.path === "methods").map((p) => p.detail)
          )
        // EAAI runs GRPO at guidance none with its own schedule replaced: a schedule there changes nothing.
        const cosine = yield* details([
          { name: "grpo-cos", method: "grpo", curriculum: { schedule: { kind: "cosine" } } }
        ])
        assert.strictEqual(cosine.length, 1)
        assert.match(cosine[0] ?? "", /^methods\[0\]\.curriculum\.schedule: "grpo" has a fixed guidance \(none\)/)
        // ... its seed is kept, a configured method's schedule is its own, and neither is a problem.
        assert.deepStrictEqual(
          yield* details([
            { name: "cot-seeded", method: "cot-synthesizer", curriculum: { seed: 5 } },
            { name: "realm-cos", method: "realm", curriculum: { schedule: { kind: "cosine" } } }
          ]),
          []
        )
        // A user's curriculum says the same through its own fixedGuidance: at none it drops routes and strength, at
        // always-routes only the strength.
        const steady = { use: "./steady-curriculum.ts", with: { routes: 2, strength: 0.4 } }
        const own = yield* details(
          [
            { name: "grpo-routes", method: "grpo", curriculum: { routes: 3 } },
            { name: "cot-routes", method: "cot-synthesizer", curriculum: { routes: 3 } },
            { name: "cot-strength", method: "cot-synthesizer", curriculum: { strength: 0.9 } }
          ],
          steady
        )
        assert.deepStrictEqual(
          own.map((d) => d.split(":")[0]),
          ["methods[0].curriculum.routes", "methods[2].curriculum.strength"]
        )
      }).pipe(Effect.provide(NodeServices.layer))
  )
})
