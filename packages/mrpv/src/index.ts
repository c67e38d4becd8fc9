/**
 * @realm-lm/mrpv: Multi-Route Process Verification. MRPV prompts (labelled routes shown unlabelled, shuffled),
 * the completion format and its parser, structured rewards, decisive-pattern extraction and SFT targets, and
 * the `Verifier` service implementing core's contract.
 */
export * as CompletionParser from "./CompletionParser.ts"
export * as DecisivePattern from "./DecisivePattern.ts"
export * as Drills from "./Drills.ts"
export * as MrpvConfig from "./MrpvConfig.ts"
export * as PromptBuilder from "./PromptBuilder.ts"
export * as Rewards from "./Rewards.ts"
export * as Target from "./Target.ts"
export * as Verifier from "./Verifier.ts"
