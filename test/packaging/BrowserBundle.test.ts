/**
 * `@realm-lm/core`, `@realm-lm/mrpv` and `@realm-lm/eaai` bundle for the browser: an esbuild `platform: "browser"`
 * bundle of their main entries (from the TypeScript source, through the `@realm-lm/source` export condition) needs no Node
 * built-in, their source uses no Node global, and the bundle runs in a context without `process`, `require` or
 * `Buffer`, computing what the same code computes from source in Node.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import vm from "node:vm"
import { assert, describe, it } from "vitest"
import { bundleForBrowser, nodeGlobals, nodeImports, webGlobals } from "./browserBundle.ts"
import type { BrowserBundle } from "./browserBundle.ts"
import { run } from "./fixtures/browser-entry.ts"

const root = join(import.meta.dirname, "..", "..")
const packages = ["core", "mrpv", "eaai"]
/** The export condition that points the workspace's packages at their TypeScript source (see vitest.config.ts). */
const sourceCondition = "@realm-lm/source"

/** Every public namespace of the three entries stays live (not tree-shaken), plus the fixture's `run`. */
const entry = [
  `export * as Core from "@realm-lm/core"`,
  `export * as Mrpv from "@realm-lm/mrpv"`,
  `export * as Eaai from "@realm-lm/eaai"`,
  `export { run } from "./test/packaging/fixtures/browser-entry.ts"`
].join("\n")

let bundling: Promise<BrowserBundle> | undefined
/**
 * The bundle, built once. Rejects with esbuild's `Could not resolve "node:fs"` (file and line of the import) when a
 * Node built-in is reachable, which fails every test below (not just a hook, so the totals count it).
 */
const bundled = (): Promise<BrowserBundle> =>
  (bundling ??= bundleForBrowser({
    contents: entry,
    resolveDir: root,
    globalName: "realmBrowser",
    conditions: [sourceCondition]
  }))

describe("browser bundle of core + mrpv + eaai", () => {
  it("bundles from the TypeScript source with no Node built-in or Node-only package among its inputs", async () => {
    const bundle = await bundled()
    const inputs = Object.keys(bundle.metafile.inputs)
    for (const pkg of packages) assert.include(inputs, `packages/${pkg}/src/index.ts`)
    assert.deepStrictEqual(
      inputs.filter(
        (input) => input.startsWith("packages/") && !packages.some((pkg) => input.startsWith(`packages/${pkg}/src/`))
      ),
      []
    )
    assert.deepStrictEqual(nodeImports(bundle.metafile), [])
  })

  it("uses no Node global (process, Buffer, require, __dirname) in the bundled packages' source", async () => {
    const bundle = await bundled()
    const ours = Object.keys(bundle.metafile.inputs).filter((input) => input.startsWith("packages/"))
    assert.isAbove(ours.length, 20)
    assert.deepStrictEqual(
      ours.flatMap((input) => nodeGlobals(input, readFileSync(join(root, input), "utf8"))),
      []
    )
  })

  it("runs without process/require/Buffer and computes what the source computes in Node", async () => {
    const bundle = await bundled()
    const context = vm.createContext({ ...webGlobals })
    assert.deepStrictEqual(
      vm.runInContext("[typeof process, typeof require, typeof Buffer, typeof module, typeof global]", context),
      Array(5).fill("undefined")
    )
    vm.runInContext(bundle.code, context, { filename: "browser-bundle.js" })
    const namespaces = JSON.parse(
      vm.runInContext("JSON.stringify(Object.keys(realmBrowser.Core))", context)
    ) as Array<string>
    assert.includeMembers(namespaces, ["Problem", "Route", "Verifier", "Curriculum", "Rng", "ConfigDecode"])
    assert.notInclude(namespaces, "Hash")

    const inBrowser = JSON.parse(vm.runInContext("JSON.stringify(realmBrowser.run())", context)) as ReturnType<
      typeof run
    >
    assert.deepStrictEqual(inBrowser, JSON.parse(JSON.stringify(run())))
    // Not an empty or trivial run: the schedule fades from 1 to exactly 0, and the prompt shows both routes.
    assert.lengthOf(inBrowser.curve, 8)
    assert.strictEqual(inBrowser.curve[0], 1)
    assert.strictEqual(inBrowser.curve[7], 0)
    assert.strictEqual(inBrowser.decision.routeCount, 2)
    assert.deepStrictEqual([...inBrowser.shown].sort(), ["r0", "r1"])
    assert.include(inBrowser.prompt, "after deductible = 1200 - 200 = 1000")
    assert.include(inBrowser.prompt, "Route B:")
    assert.deepStrictEqual(inBrowser.verdicts, ["correct", "wrong"])
    assert.strictEqual(new Set(inBrowser.draws).size, 3)
  })
})
