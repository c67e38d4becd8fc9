/**
 * @realm-lm/core: the shared vocabulary of realm-lm. Records (Effect Schemas), service contracts every stage
 * implements, strict settings decoding and a seeded splittable PRNG. Free of Node built-ins, so it bundles for the
 * browser; hashing, JSONL files and run directories are in `@realm-lm/core/node` (`./node.ts`).
 */
export * as AnswerJudge from "./AnswerJudge.ts"
export * as ChatEndpoint from "./ChatEndpoint.ts"
export * as Checkpoint from "./Checkpoint.ts"
export * as Completion from "./Completion.ts"
export * as ConfigDecode from "./ConfigDecode.ts"
export * as CorpusRecord from "./CorpusRecord.ts"
export * as Curriculum from "./Curriculum.ts"
export * as EvalResult from "./EvalResult.ts"
export * as Evaluator from "./Evaluator.ts"
export * as FileErrors from "./FileErrors.ts"
export * as ModelSource from "./ModelSource.ts"
export * as PolicyTrainer from "./PolicyTrainer.ts"
export * as Problem from "./Problem.ts"
export * as Prompt from "./Prompt.ts"
export * as Protobuf from "./Protobuf.ts"
export * as Reward from "./Reward.ts"
export * as Rng from "./Rng.ts"
export * as Route from "./Route.ts"
export * as RunManifest from "./RunManifest.ts"
export * as StepProgram from "./StepProgram.ts"
export * as TaskSource from "./TaskSource.ts"
export * as Teacher from "./Teacher.ts"
export * as Verifier from "./Verifier.ts"
