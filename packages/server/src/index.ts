/**
 * @realm-lm/server: an OpenAI-compatible `/v1/chat/completions` for a realm-lm checkpoint.
 */
export * as Admission from "./Admission.ts"
export * as ApiError from "./ApiError.ts"
export * as ApiKey from "./ApiKey.ts"
export * as Batcher from "./Batcher.ts"
export * as ChatEngine from "./ChatEngine.ts"
export * as ChatRequest from "./ChatRequest.ts"
export * as ChatResponse from "./ChatResponse.ts"
export * as HttpServer from "./HttpServer.ts"
export * as PromptLimits from "./PromptLimits.ts"
export * as Serve from "./Serve.ts"
export * as ServerConfig from "./ServerConfig.ts"
export * as TextStream from "./TextStream.ts"
