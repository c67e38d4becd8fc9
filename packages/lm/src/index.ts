/**
 * @realm-lm/lm: Llama-family small language models. Architecture from a Hugging Face `config.json`, weights by
 * Hugging Face names, safetensors and llama2.c checkpoints, tokenizers and chat templates (transformers.js, offline)
 * plus a built-in byte-level BPE, an independent plain-TypeScript reference forward, the decoder as ONNX graphs,
 * batched KV-cache generation with log-probs, scoring, SFT and policy-gradient objectives, and export that
 * transformers.js runs. `Policy` ties them together for trainers.
 */
export * as Batches from "./Batches.ts"
export * as BuiltinTokenizer from "./BuiltinTokenizer.ts"
export * as Export from "./Export.ts"
export * as Generator from "./Generator.ts"
export * as Llama2c from "./Llama2c.ts"
export * as Llama2cTokenizer from "./Llama2cTokenizer.ts"
export * as Lora from "./Lora.ts"
export * as Model from "./Model.ts"
export * as ModelConfig from "./ModelConfig.ts"
export * as ModelSize from "./ModelSize.ts"
export * as Objectives from "./Objectives.ts"
export * as Peft from "./Peft.ts"
export * as Policy from "./Policy.ts"
export * as Pretrained from "./Pretrained.ts"
export * as PromptText from "./PromptText.ts"
export * as ReferenceModel from "./ReferenceModel.ts"
export * as Rope from "./Rope.ts"
export * as Safetensors from "./Safetensors.ts"
export * as Sampling from "./Sampling.ts"
export * as Scoring from "./Scoring.ts"
export * as Tokenizer from "./Tokenizer.ts"
export * as Weights from "./Weights.ts"
