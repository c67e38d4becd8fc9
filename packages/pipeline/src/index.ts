/**
 * @realm-lm/pipeline: typed composition of realm-lm stages with run directories and manifests.
 */
export * as Stage from "./Stage.ts"
export * as StageRunner from "./StageRunner.ts"
