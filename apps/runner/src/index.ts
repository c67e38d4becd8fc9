/**
 * @realm-lm/runner: the `realm` command line as a library (for tests and embedding).
 */
export * as Cli from "./Cli.ts"
export * as ConfigFile from "./ConfigFile.ts"
export * as CorpusCommand from "./CorpusCommand.ts"
export * as Failure from "./Failure.ts"
export * as ProgressBar from "./ProgressBar.ts"
export * as RunCommand from "./RunCommand.ts"
export * as EvalCommand from "./EvalCommand.ts"
export * as ModelDir from "./ModelDir.ts"
export * as ServeCommand from "./ServeCommand.ts"
