/**
 * @realm-lm/trainer: guided-CoT SFT, RFT and GRPO-family RL on ONNX Runtime, with checkpoints, metrics and
 * TensorBoard logs.
 */
export * as Advantages from "./Advantages.ts"
export * as Batching from "./Batching.ts"
export * as LrSchedule from "./LrSchedule.ts"
export * as TensorBoard from "./TensorBoard.ts"
