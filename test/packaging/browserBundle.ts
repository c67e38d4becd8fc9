/**
 * esbuild browser bundles for the packaging tests: bundle an entry for `platform: "browser"` and list every Node
 * built-in the bundle would need. Used on the workspace source (`BrowserBundle.test.ts`) and usable on installed
 * tarballs, by passing that project's directory as `resolveDir` and no `source` condition.
 */
import { builtinModules } from "node:module"
import * as esbuild from "esbuild"

/** A bundle as an IIFE that assigns the entry's exports to `globalThis[globalName]`, with esbuild's metafile. */
export interface BrowserBundle {
  readonly code: string
  readonly metafile: esbuild.Metafile
}

/**
 * Bundle `contents` (TypeScript, imports resolved from `resolveDir`) for the browser. esbuild refuses Node built-ins
 * (`node:fs`, `crypto`, …) on this platform, so a module that imports one makes this reject with the importing file
 * and line. `conditions` are extra `exports` conditions, e.g. `["source"]` to bundle the workspace's TypeScript.
 */
export const bundleForBrowser = async (options: {
  readonly contents: string
  readonly resolveDir: string
  readonly globalName: string
  readonly conditions?: ReadonlyArray<string>
}): Promise<BrowserBundle> => {
  const result = await esbuild.build({
    stdin: { contents: options.contents, resolveDir: options.resolveDir, loader: "ts", sourcefile: "browser-entry.ts" },
    absWorkingDir: options.resolveDir,
    bundle: true,
    platform: "browser",
    format: "iife",
    globalName: options.globalName,
    conditions: [...(options.conditions ?? [])],
    write: false,
    metafile: true,
    logLevel: "silent"
  })
  return { code: result.outputFiles[0]!.text, metafile: result.metafile }
}

/** Web platform globals a browser has (and a bare `vm` context lacks); deliberately no Node globals. */
export const webGlobals = {
  TextEncoder,
  TextDecoder,
  URL,
  URLSearchParams,
  AbortController,
  console,
  setTimeout,
  clearTimeout,
  queueMicrotask,
  structuredClone,
  performance,
  crypto
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))

/**
 * `"<input> imports <module>"` for every Node built-in, external import or Node-only package (`@effect/platform-node`,
 * `onnxruntime-node`) in a bundle's metafile; empty for a browser-safe bundle.
 */
export const nodeImports = (metafile: esbuild.Metafile): Array<string> => {
  const found: Array<string> = []
  for (const [input, info] of Object.entries(metafile.inputs)) {
    if (input.startsWith("node:") || /@effect\/platform-node|onnxruntime-node/.test(input))
      found.push(`${input} is bundled`)
    for (const imp of info.imports) {
      if (imp.path.startsWith("node:") || builtins.has(imp.path) || imp.external === true)
        found.push(`${input} imports ${imp.path}`)
    }
  }
  return found
}

/** `"<file>: <match>"` for each use of a Node global (`process.`, `Buffer.`, `require(`, `__dirname`) in source text, comments ignored. */
export const nodeGlobals = (file: string, source: string): Array<string> => {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1")
  return [...code.matchAll(/\b(?:process|Buffer)\s*\.\s*[A-Za-z_$]+|\brequire\s*\(|\b__dirname\b|\b__filename\b/g)].map(
    (m) => `${file}: ${m[0]}`
  )
}
