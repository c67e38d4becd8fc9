/**
 * Packages a user installs from npm (issue 13, "Done when"). Every published workspace package is built (`tsc -b`)
 * and packed; the tarballs are installed, as a user would install them from the registry, into a copy of
 * `examples/custom-verifier` in a temporary directory outside the repository. There the consumer program
 * (`fixtures/consumer.ts`) typechecks under a strict config in node16 and bundler resolution and runs on Node 24 and
 * Node 22.18, and the runner's bin runs `realm --help`, `realm config check` and a tiny `realm run` with the
 * example's own verifier. `npm publish --dry-run` runs on every package. An esbuild browser bundle of the installed
 * core + mrpv + eaai (their dist/, as a user's bundler sees them) needs no Node built-in and runs without Node globals.
 *
 * Needs the npm registry (the packages' dependencies, and Node 22.18 as the `node-<os>-<arch>` package, kept in
 * `.tools/`); npm's cache, filled by the repository's own install, makes it fast. Skipped, saying why, when the
 * registry cannot be reached.
 */
import { spawnSync } from "node:child_process"
import type { SpawnSyncReturns } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import vm from "node:vm"
import { afterAll, assert, describe, it } from "vitest"
import { bundleForBrowser, nodeImports, webGlobals } from "./browserBundle.ts"
import type { BrowserRun } from "./fixtures/browser-entry.ts"

const root = join(import.meta.dirname, "..", "..")
const example = join(root, "examples", "custom-verifier")
const fixtures = join(import.meta.dirname, "fixtures")
const tsc = join(root, "node_modules", ".bin", "tsc")

/** The oldest Node the packages support (`engines`), fetched from the npm registry; the newest is the repo's own. */
const oldestNode = "22.18.0"
const newestNode = process.env.REALM_NODE_VERSION ?? "24.21.0"

/**
 * The environment of everything run in the temporary project: no `@realm-lm/source` condition (vitest.config.ts puts
 * it in NODE_OPTIONS, and it would point the installed packages back at their TypeScript source), nothing that
 * would skip onnxruntime-node's download other than the example's own `.npmrc`.
 */
const userEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.ONNXRUNTIME_NODE_INSTALL
  for (const key of Object.keys(env)) if (key.startsWith("npm_")) delete env[key]
  return env
}

const sh = (command: string, args: ReadonlyArray<string>, cwd: string, timeout = 300_000): SpawnSyncReturns<string> =>
  spawnSync(command, args, { cwd, encoding: "utf8", timeout, env: userEnv() })

/** stdout + stderr of a finished process, for failure messages. */
const output = (r: SpawnSyncReturns<string>): string =>
  `exit ${r.status}${r.error ? ` (${r.error.message})` : ""}\n${r.stdout}\n${r.stderr}`

const registryReason = (() => {
  const ping = spawnSync("npm", ["ping", "--fetch-timeout=10000", "--fetch-retries=0"], {
    encoding: "utf8",
    timeout: 30_000
  })
  return ping.status === 0 ? undefined : "npm registry unreachable (npm ping failed)"
})()

/** Every workspace package that is published (not `private`): its directory and manifest. */
const published = ["packages", "apps"].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(root, group, name))
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest }))
    .filter((p) => p.manifest.private !== true)
)

interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly exports: Record<string, unknown>
}

interface Packed {
  readonly name: string
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: ReadonlyArray<{ readonly path: string }>
}

/** What `consumer.ts` prints. */
interface ConsumerRun {
  readonly node: string
  readonly exports: Record<string, ReadonlyArray<string>>
  readonly sha256: string
  readonly doubled: number
  readonly verified: {
    readonly mode: string
    readonly gold: string
    readonly right: number
    readonly wrong: number
    readonly answer?: string
  }
  readonly curve: ReadonlyArray<number>
  readonly verdicts: ReadonlyArray<string>
  readonly draws: ReadonlyArray<number>
}

/** Every installed copy of package `name` in a node_modules tree, nested copies included. */
const copiesOf = (name: string, nodeModules: string): Array<string> =>
  readdirSync(nodeModules, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) =>
      entry.name.startsWith("@")
        ? readdirSync(join(nodeModules, entry.name)).map((n) => join(nodeModules, entry.name, n))
        : [join(nodeModules, entry.name)]
    )
    .flatMap((dir) => [
      ...(relative(nodeModules, dir) === name ? [dir] : []),
      ...(existsSync(join(dir, "node_modules")) ? copiesOf(name, join(dir, "node_modules")) : [])
    ])

/** A Node binary of `version`: this process's when it is that version, else fetched once into `.tools/`. */
const nodeBinary = (version: string): string => {
  if (process.versions.node === version) return process.execPath
  const dir = join(root, ".tools", `node-${version}`)
  const fetched = spawnSync(join(root, "scripts", "fetch-node.sh"), [version, dir], {
    encoding: "utf8",
    timeout: 300_000
  })
  if (fetched.status !== 0) throw new Error(`could not fetch Node ${version}: ${output(fetched)}`)
  return join(dir, "bin", "node")
}

describe.skipIf(registryReason !== undefined)(
  `packages installed from their tarballs${registryReason === undefined ? "" : ` (skipped: ${registryReason})`}`,
  () => {
    const work = mkdtempSync(join(tmpdir(), "realm-install-"))
    const packs = join(work, "packs")
    const project = join(work, "project")
    // The installed project is about 600 MB (onnxruntime-node ships every platform's binaries).
    afterAll(() => rmSync(work, { recursive: true, force: true }))
    const timings: Record<string, number> = {}
    const timed = <A>(label: string, f: () => A): A => {
      const start = performance.now()
      try {
        return f()
      } finally {
        timings[label] = Math.round(performance.now() - start)
      }
    }

    /**
     * Build, pack and install once, on first use. A failure (a type error in the build, a pack or install error) fails
     * every test that needs it, not a hook, so the totals count it.
     */
    let setup: { readonly packed: ReadonlyArray<Packed> } | Error | undefined
    const ready = (): { readonly packed: ReadonlyArray<Packed> } => {
      setup ??= (() => {
        try {
          return prepare()
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error))
        }
      })()
      if (setup instanceof Error) throw setup
      return setup
    }
    const prepare = () => {
      // --force: TypeScript 7's incremental build does not notice a changed tsconfig it extends, so never trust dist/.
      const build = timed("build", () =>
        spawnSync(tsc, ["-b", "tsconfig.build.json", "--force"], { cwd: root, encoding: "utf8", timeout: 300_000 })
      )
      if (build.status !== 0) throw new Error(`tsc -b tsconfig.build.json failed: ${output(build)}`)
      mkdirSync(packs)
      const pack = timed("pack", () =>
        sh(
          "npm",
          ["pack", "--json", "--pack-destination", packs, ...published.flatMap((p) => ["-w", relative(root, p.dir)])],
          root
        )
      )
      if (pack.status !== 0) throw new Error(`npm pack failed: ${output(pack)}`)
      const packed = JSON.parse(pack.stdout) as Array<Packed>

      // The user's project: the example as committed, with each @realm-lm package from its tarball instead of the
      // registry (every package, so the ones installed only as dependencies of others come from tarballs too).
      mkdirSync(project)
      for (const file of readdirSync(example)) cpSync(join(example, file), join(project, file), { recursive: true })
      for (const file of ["consumer.ts", "double-job.ts"]) cpSync(join(fixtures, file), join(project, file))
      // The browser bundle's program, under another name than esbuild's stdin entry (`browser-entry.ts`).
      cpSync(join(fixtures, "browser-entry.ts"), join(project, "browser-run.ts"))
      const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
        dependencies: Record<string, string>
      }
      for (const p of packed) manifest.dependencies[p.name] = `file:${join(packs, p.filename)}`
      writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2))
      const install = timed("install", () =>
        sh("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], project, 600_000)
      )
      if (install.status !== 0) throw new Error(`npm install in ${project} failed: ${output(install)}`)
      return { packed }
    }

    it("packs every published package with dist (.js, .d.ts, maps), README and LICENSE, and every export target in it", () => {
      const { packed } = ready()
      assert.deepStrictEqual(packed.map((p) => p.name).toSorted(), published.map((p) => p.manifest.name).toSorted())
      for (const p of packed) {
        const files = new Set(p.files.map((f) => f.path))
        for (const required of [
          "package.json",
          "README.md",
          "LICENSE",
          "dist/index.js",
          "dist/index.d.ts",
          "dist/index.js.map",
          "dist/index.d.ts.map"
        ]) {
          assert.include(files, required, `${p.name} ships ${required}`)
        }
        assert.deepStrictEqual(
          [...files].filter((f) => f.endsWith(".tsbuildinfo") || f.includes("/test/")),
          [],
          p.name
        )
        // Each `types`/`default` target of an exact export names a shipped file; `./*` patterns match shipped files.
        const manifest = published.find((m) => m.manifest.name === p.name)!.manifest
        for (const [subpath, target] of Object.entries(manifest.exports)) {
          if (target === null || typeof target === "string") continue
          const conditions = target as Record<string, string>
          assert.deepStrictEqual(
            Object.keys(conditions),
            ["@realm-lm/source", "types", "default"],
            `${p.name} ${subpath}`
          )
          for (const condition of ["types", "default"] as const) {
            const path = conditions[condition]!.replace(/^\.\//, "")
            if (subpath.includes("*"))
              assert.isTrue(
                [...files].some((f) => f.startsWith(path.split("*")[0]!) && f.endsWith(path.split("*")[1]!))
              )
            else assert.include(files, path, `${p.name} ${subpath} ${condition}`)
          }
        }
      }
      console.log(
        `packed (${published.length} packages; build ${timings.build} ms, pack ${timings.pack} ms, install ${timings.install} ms):\n` +
          packed
            .map(
              (p) =>
                `  ${p.name.padEnd(22)} ${(p.size / 1024).toFixed(0).padStart(4)} kB packed, ${(p.unpackedSize / 1024).toFixed(0).padStart(4)} kB unpacked, ${p.files.length} files`
            )
            .join("\n")
      )
    })

    it("passes `npm publish --dry-run` for every published package with no warning but the dry run's login notice", () => {
      ready()
      const r = sh("npm", ["publish", "--dry-run", ...published.flatMap((p) => ["-w", relative(root, p.dir)])], root)
      assert.strictEqual(r.status, 0, output(r))
      for (const p of published) assert.include(r.stdout, `+ ${p.manifest.name}@${p.manifest.version}`)
      const expected = [
        /requires you to be logged in .*\(dry-run\)/,
        /Unknown project config "onnxruntime-node-install"/
      ]
      const warnings = r.stderr.split("\n").filter((l) => l.startsWith("npm warn") && !expected.some((e) => e.test(l)))
      assert.deepStrictEqual(warnings, [])
      // What is not published says so: the e2e tests, the root and the example project.
      for (const dir of [root, join(root, "test"), example]) {
        assert.isTrue(
          (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { private?: boolean }).private,
          dir
        )
      }
    })

    it("installs one copy of effect, shared by every package (a peer dependency)", () => {
      ready()
      const copies = copiesOf("effect", join(project, "node_modules")).map((dir) => relative(project, dir))
      assert.deepStrictEqual(copies, ["node_modules/effect"])
    })

    it.each([oldestNode, newestNode])("imports every package and runs the consumer program on Node %s", (version) => {
      ready()
      const node = nodeBinary(version)
      const r = sh(node, ["consumer.ts"], project, 120_000)
      assert.strictEqual(r.status, 0, output(r))
      assert.strictEqual(r.stderr, "")
      const out = JSON.parse(r.stdout) as ConsumerRun
      assert.strictEqual(out.node, version)
      assert.deepStrictEqual(Object.keys(out.exports).toSorted(), published.map((p) => p.manifest.name).toSorted())
      for (const [name, namespaces] of Object.entries(out.exports)) assert.isAbove(namespaces.length, 3, name)
      assert.includeMembers(
        [...(out.exports["@realm-lm/core"] ?? [])],
        ["Problem", "Route", "Verifier", "Curriculum", "Rng"]
      )
      assert.includeMembers(
        [...(out.exports["@realm-lm/pipeline"] ?? [])],
        ["Implementation", "Pipeline", "CustomModule"]
      )
      assert.strictEqual(out.doubled, 42)
      assert.strictEqual(out.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
      assert.deepInclude(out.verified, { mode: "autonomous", right: 1, wrong: -0.5 })
      assert.strictEqual(Number(out.verified.answer), Number(out.verified.gold) + 1)
      assert.deepStrictEqual(out.verdicts, ["correct", "wrong"])
      assert.lengthOf(out.curve, 8)
      assert.deepStrictEqual([out.curve[0], out.curve[7]], [1, 0])
      assert.strictEqual(out.draws[0], out.draws[1])
      assert.isAbove(out.draws[0]!, 0)
    })

    it.each([
      ["node16", {}],
      ["bundler", { module: "preserve", moduleResolution: "bundler" }]
    ])(
      "typechecks with a strict consumer config in %s resolution (no allowImportingTsExtensions, no skipLibCheck)",
      (name, overrides) => {
        ready()
        const config = JSON.parse(readFileSync(join(project, "tsconfig.json"), "utf8")) as {
          compilerOptions: Record<string, unknown>
        }
        assert.deepInclude(config.compilerOptions, {
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true
        })
        assert.notProperty(config.compilerOptions, "allowImportingTsExtensions")
        assert.notProperty(config.compilerOptions, "skipLibCheck")
        writeFileSync(
          join(project, `tsconfig.${name}.json`),
          JSON.stringify({ extends: "./tsconfig.json", compilerOptions: overrides })
        )
        const r = sh(
          join(project, "node_modules", ".bin", "tsc"),
          ["-p", `tsconfig.${name}.json`, "--listFilesOnly"],
          project
        )
        assert.strictEqual(r.status, 0, output(r))
        // The packages' types come from their installed dist/*.d.ts, never from TypeScript source.
        const ours = r.stdout.split("\n").filter((f) => f.includes("node_modules/@realm-lm/"))
        assert.isAbove(ours.length, 50)
        assert.deepStrictEqual(
          ours.filter((f) => !f.endsWith(".d.ts")),
          []
        )
        for (const file of ["consumer.ts", "my-verifier.ts", "double-job.ts"])
          assert.include(r.stdout, join(project, file))
        const check = sh(join(project, "node_modules", ".bin", "tsc"), ["-p", `tsconfig.${name}.json`], project)
        assert.strictEqual(check.status, 0, output(check))
      }
    )

    it("bundles the installed core + mrpv + eaai for the browser (esbuild, platform browser) and runs the bundle without Node globals", async () => {
      ready()
      const bundle = await bundleForBrowser({
        contents: [
          `export * as Core from "@realm-lm/core"`,
          `export * as Mrpv from "@realm-lm/mrpv"`,
          `export * as Eaai from "@realm-lm/eaai"`,
          `export { run } from "./browser-run.ts"`
        ].join("\n"),
        resolveDir: project,
        globalName: "realmBrowser"
      })
      const inputs = Object.keys(bundle.metafile.inputs)
      // The user's bundler reads the packages' built JavaScript, never their TypeScript source.
      for (const pkg of ["core", "mrpv", "eaai"]) assert.include(inputs, `node_modules/@realm-lm/${pkg}/dist/index.js`)
      assert.deepStrictEqual(
        inputs.filter((input) => input.includes("@realm-lm/") && !input.includes("/dist/")),
        []
      )
      assert.deepStrictEqual(nodeImports(bundle.metafile), [])
      const context = vm.createContext({ ...webGlobals })
      assert.deepStrictEqual(vm.runInContext("[typeof process, typeof require, typeof Buffer]", context), [
        "undefined",
        "undefined",
        "undefined"
      ])
      vm.runInContext(bundle.code, context, { filename: "browser-bundle.js" })
      const run = JSON.parse(vm.runInContext("JSON.stringify(realmBrowser.run())", context)) as BrowserRun
      assert.deepStrictEqual([run.curve[0], run.curve[7]], [1, 0])
      assert.include(run.prompt, "Route B:")
      assert.deepStrictEqual(run.verdicts, ["correct", "wrong"])
    })

    describe("the runner's bin in the user's project", () => {
      const realm = (...args: Array<string>) => sh(join(project, "node_modules", ".bin", "realm"), args, project)

      it("runs `realm --help`", () => {
        ready()
        const r = realm("--help")
        assert.strictEqual(r.status, 0, output(r))
        assert.include(r.stdout, "USAGE")
        assert.include(r.stdout, "realm <subcommand>")
      })

      it("runs `realm config check` on the example's config, with and without importing its module", () => {
        ready()
        const plain = realm("config", "check", "pipeline.yaml")
        assert.strictEqual(plain.status, 0, output(plain))
        assert.include(plain.stdout, "valid")
        const loaded = realm("config", "check", "pipeline.yaml", "--load-modules")
        assert.strictEqual(loaded.status, 0, output(loaded))
        assert.strictEqual(loaded.stderr, "")
        assert.include(loaded.stdout, "valid")
      })

      it("runs `realm run` on the example: RL rewards come from the project's own verifier", () => {
        ready()
        const r = realm("run", "pipeline.yaml")
        assert.strictEqual(r.status, 0, output(r))
        assert.include(r.stderr, `verifier.use: ${join(project, "my-verifier.ts")}`)
        const rows = readFileSync(join(project, "runs", "custom-verifier", "realm", "metrics.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((row) => row.phase === "rl")
        assert.lengthOf(rows, 2)
        for (const row of rows)
          assert.deepStrictEqual(
            Object.keys(row).filter((k) => k.startsWith("reward/")),
            ["reward/answer"]
          )
        assert.isTrue(existsSync(join(project, "runs", "custom-verifier", "report.html")))
      })
    })
  }
)
