/**
 * @realm-lm/pipeline: typed composition of realm-lm stages with run directories and manifests.
 */
export * as CorpusJob from "./CorpusJob.ts"
export * as CustomModule from "./CustomModule.ts"
export * as Demo from "./Demo.ts"
export * as EvalJob from "./EvalJob.ts"
export * as Implementation from "./Implementation.ts"
export * as Methods from "./Methods.ts"
export * as Pipeline from "./Pipeline.ts"
export * as PipelineConfig from "./PipelineConfig.ts"
export * as Registry from "./Registry.ts"
export * as ReportJob from "./ReportJob.ts"
export * as Resolve from "./Resolve.ts"
export * as Routes from "./Routes.ts"
export * as Stage from "./Stage.ts"
export * as StageRunner from "./StageRunner.ts"
export * as TrainJob from "./TrainJob.ts"
export * as Wiring from "./Wiring.ts"
