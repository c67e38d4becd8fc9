/**
 * `@realm-lm/core`, `@realm-lm/mrpv` and `@realm-lm/eaai` bundle for the browser: an esbuild `platform: "browser"`
 * bundle of their main entries (from the TypeScript source, through the `@realm-lm/source` export condition) needs no Node
 * built-in, their source uses no Node global, and the bundle runs in a context without `process`, `require` or
 * `Buffer`, computing what the same code computes from source in Node.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import vm from "node:vm"
import { describe, expect, it } from "vitest"
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
    for (const pkg of packages) expect(inputs).toContain(`packages/${pkg}/src/index.ts`)
    expect(
      inputs.filter(
        (input) => input.startsWith("packages/") && !packages.some((pkg) => input.startsWith(`packages/${pkg}/src/`))
      )
    ).toEqual([])
    expect(nodeImports(bundle.metafile)).toEqual([])
  })

  it("uses no Node global (process, Buffer, require, __dirname) in the bundled packages' source", async () => {
    const bundle = await bundled()
    const ours = Object.keys(bundle.metafile.inputs).filter((input) => input.startsWith("packages/"))
    expect(ours.length).toBeGreaterThan(20)
    expect(ours.flatMap((input) => nodeGlobals(input, readFileSync(join(root, input), "utf8")))).toEqual([])
  })

  it("runs without process/require/Buffer and computes what the source computes in Node", async () => {
    const bundle = await bundled()
    const context = vm.createContext({ ...webGlobals })
    expect(
      vm.runInContext("[typeof process, typeof require, typeof Buffer, typeof module, typeof global]", context)
    ).toEqual(Array(5).fill("undefined"))
    vm.runInContext(bundle.code, context, { filename: "browser-bundle.js" })
    const namespaces = JSON.parse(
      vm.runInContext("JSON.stringify(Object.keys(realmBrowser.Core))", context)
    ) as Array<string>
    expect(namespaces).toEqual(
      expect.arrayContaining(["Problem", "Route", "Verifier", "Curriculum", "Rng", "ConfigDecode"])
    )
    expect(namespaces).not.toContain("Hash")

    const inBrowser = JSON.parse(vm.runInContext("JSON.stringify(realmBrowser.run())", context)) as ReturnType<
      typeof run
    >
    expect(inBrowser).toEqual(JSON.parse(JSON.stringify(run())))
    // Not an empty or trivial run: the schedule fades from 1 to exactly 0, and the prompt shows both routes.
    expect(inBrowser.curve).toHaveLength(8)
    expect(inBrowser.curve[0]).toBe(1)
    expect(inBrowser.curve[7]).toBe(0)
    expect(inBrowser.decision.routeCount).toBe(2)
    expect([...inBrowser.shown].sort()).toEqual(["r0", "r1"])
    expect(inBrowser.prompt).toContain("after deductible = 1200 - 200 = 1000")
    expect(inBrowser.prompt).toContain("Route B:")
    expect(inBrowser.verdicts).toEqual(["correct", "wrong"])
    expect(new Set(inBrowser.draws).size).toBe(3)
  })
})
