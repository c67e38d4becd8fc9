/**
 * One vitest run over every workspace package that has source (`src/index.ts`), so the suite prints a single
 * set of totals.
 * Tiers by file suffix: `*.test.ts` always; `*.gpu.test.ts` only with REALM_GPU=1.
 * Workspace packages resolve to their TypeScript source through the `@realm-lm/source` export condition (no build
 * step): vite's resolver gets it below, and Node processes the tests spawn (the CLI, worker jobs) get it through
 * NODE_OPTIONS. Outside the monorepo nobody sets it, so installed packages load `dist/`.
 */
import { existsSync, readdirSync } from "node:fs"
import { basename, join } from "node:path"
import { defineConfig } from "vitest/config"

const here = import.meta.dirname
const projectDirs = [
  ...readdirSync(join(here, "packages")).map((d) => join("packages", d)),
  join("apps", "runner"),
  "test"
].filter((dir) => existsSync(join(here, dir, dir === "test" ? "package.json" : join("src", "index.ts"))))

const gpu = process.env.REALM_GPU === "1"
const sourceCondition = "@realm-lm/source"
const nodeOptions = process.env.NODE_OPTIONS ?? ""
if (!nodeOptions.includes(`--conditions=${sourceCondition}`)) {
  process.env.NODE_OPTIONS = `${nodeOptions} --conditions=${sourceCondition}`.trim()
}

export default defineConfig({
  // vite's default server conditions (module, node, development|production) with the source condition first.
  ssr: { resolve: { conditions: [sourceCondition, "module", "node", "development|production"] } },
  test: {
    passWithNoTests: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default", join(here, "scripts", "vitest-totals.ts")],
    projects: projectDirs.map((dir) => ({
      extends: true,
      test: {
        name: dir === "test" ? "e2e" : basename(dir),
        root: join(here, dir),
        include: dir === "test" ? ["**/*.test.ts"] : ["test/**/*.test.ts"],
        exclude: ["**/node_modules/**", ...(gpu ? [] : ["**/*.gpu.test.ts"])]
      }
    }))
  }
})
