/**
 * @realm-lm/trainer: guided-CoT SFT, RFT and GRPO-family RL on ONNX Runtime, with checkpoints, metrics and
 * TensorBoard logs.
 */
export * as Advantages from "./Advantages.ts"
export * as Batching from "./Batching.ts"
export * as Checkpoint from "./Checkpoint.ts"
export * as FixedCurriculum from "./FixedCurriculum.ts"
export * as LrSchedule from "./LrSchedule.ts"
export * as Metrics from "./Metrics.ts"
export * as PolicyTrainer from "./PolicyTrainer.ts"
export * as Progress from "./Progress.ts"
export * as Rft from "./Rft.ts"
export * as Rl from "./Rl.ts"
export * as Scratch from "./Scratch.ts"
export * as Sft from "./Sft.ts"
export * as TensorBoard from "./TensorBoard.ts"
export * as TrainerConfig from "./TrainerConfig.ts"
export * as TrainerErrors from "./TrainerErrors.ts"
