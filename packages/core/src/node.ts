/**
 * @realm-lm/core/node: the parts of core that need Node.js (`node:crypto`, `node:fs`, `process`). Content hashes,
 * JSONL files, run directories with atomic writes and manifests, and the shared-data lookup. The main entry
 * (`@realm-lm/core`) holds no Node built-ins, so it bundles for the browser.
 */
export * as Hash from "./Hash.ts"
export * as Jsonl from "./Jsonl.ts"
export * as RunDir from "./RunDir.ts"
export * as SharedData from "./SharedData.ts"
