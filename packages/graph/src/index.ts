/**
 * @realm-lm/graph: build static-shape ONNX graphs in TypeScript, differentiate them into standard ONNX
 * ops, add in-graph optimizers, and train them on onnxruntime-node (CPU, WebGPU, CUDA).
 */
export * as Autodiff from "./Autodiff.ts"
export * as Device from "./Device.ts"
export * as Executor from "./Executor.ts"
export * as GradCheck from "./GradCheck.ts"
export * as Graph from "./Graph.ts"
export * as Init from "./Init.ts"
export * as Layout from "./Layout.ts"
export * as LmHead from "./LmHead.ts"
export * as Loss from "./Loss.ts"
export * as Nn from "./Nn.ts"
export * as Onnx from "./Onnx.ts"
export * as Ops from "./Ops.ts"
export * as Optimizer from "./Optimizer.ts"
export * as Placement from "./Placement.ts"
export * as Recompute from "./Recompute.ts"
export * as Session from "./Session.ts"
export * as State from "./State.ts"
export * as Trainer from "./Trainer.ts"
export * as Training from "./Training.ts"
export * as Worker from "./Worker.ts"
