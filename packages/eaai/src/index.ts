/**
 * @realm-lm/eaai: Enabling Autonomy via Asymptotic Induction. Fading schedules of external signal, the
 * guidance policy, per-problem adaptive fading and rescue, and the `Curriculum` service implementing core's
 * contract, plus the data an off-policy correction needs.
 */
export * as AdaptiveState from "./AdaptiveState.ts"
export * as Curriculum from "./Curriculum.ts"
export * as EaaiConfig from "./EaaiConfig.ts"
export * as GuidancePolicy from "./GuidancePolicy.ts"
export * as OffPolicy from "./OffPolicy.ts"
export * as Schedule from "./Schedule.ts"
