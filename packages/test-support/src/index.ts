/**
 * Test fixtures that several packages' tests share. Private: never published, never a runtime dependency of a
 * published package (only a devDependency), so it may use `@effect/platform-node` and write plain fixtures.
 */
export * as FileSystems from "./FileSystems.ts"
export * as Problems from "./Problems.ts"
