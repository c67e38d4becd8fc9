/**
 * The methods a pipeline can train and compare, as data: where each starts from, which training phase it runs,
 * and how its external guidance is set. ReaLM and ReaLM-Zero use the configured curriculum (EAAI by default);
 * the CoT-Synthesizer-style baseline always shows routes, in training and in its assisted evaluation.
 */
import { Schema } from "effect"

/** Method names accepted in `methods:`. */
export const MethodName = Schema.Literals(["sft", "rft", "cot-synthesizer", "realm", "realm-zero"])
export type MethodName = typeof MethodName.Type

/** How one method is produced. */
export interface Method {
  readonly name: MethodName
  /** Label in tables and reports. */
  readonly label: string
  /** Stage whose checkpoint it starts from: the base model or the SFT checkpoint. */
  readonly from: "base" | "sft"
  readonly phase: "sft" | "rft" | "rl"
  /** `configured`: the pipeline's curriculum; `always-routes`: a constant full-strength schedule (routes every prompt). */
  readonly guidance: "configured" | "always-routes" | "none"
}

/** Every method, in training order (SFT first: the others may start from it). */
export const methods: ReadonlyArray<Method> = [
  { name: "sft", label: "SFT (guided CoT distillation)", from: "base", phase: "sft", guidance: "none" },
  { name: "rft", label: "RFT", from: "sft", phase: "rft", guidance: "none" },
  { name: "cot-synthesizer", label: "CoT-Synthesizer-style", from: "sft", phase: "rl", guidance: "always-routes" },
  { name: "realm", label: "ReaLM (SFT → MRPV + EAAI)", from: "sft", phase: "rl", guidance: "configured" },
  { name: "realm-zero", label: "ReaLM-Zero (RL from base)", from: "base", phase: "rl", guidance: "configured" }
]

/** The methods to run for a selection, adding SFT when another selected method starts from it. */
export const plan = (selected: ReadonlyArray<MethodName>): Array<Method> => {
  const wanted = new Set<MethodName>(selected)
  if (methods.some((m) => wanted.has(m.name) && m.from === "sft")) wanted.add("sft")
  return methods.filter((m) => wanted.has(m.name))
}

/** Curriculum settings that show the maximum number of routes in every prompt (EAAI with a constant s = 1). */
export const alwaysRoutesSchedule = (totalSteps: number | undefined) => ({
  kind: "constant",
  initial: 1,
  ...(totalSteps === undefined ? {} : { totalSteps }),
  autonomousFraction: 0,
  allowNoAutonomousPhase: true
})
