/**
 * The trainer as core's `PolicyTrainer` stage: `sft`, `rft` and `rl` on a `TrainRequest`, with the verifier,
 * curriculum and answer judge taken from the pipeline's layers when the layer is built. Typed errors of the phases
 * become core's `TrainerError` (reason = the error's tag, detail = its message, step when known, cause = the error).
 */
import { PolicyTrainer } from "@realm-lm/core"
import type { AnswerJudge, Curriculum, Verifier } from "@realm-lm/core"
import { Effect, Layer } from "effect"
import type { Config, FileSystem, Path } from "effect"
import * as Rft from "./Rft.ts"
import * as Rl from "./Rl.ts"
import * as Sft from "./Sft.ts"
import * as TrainerConfig from "./TrainerConfig.ts"
import type { Phase } from "./TrainerErrors.ts"

/** Fold a phase's error into core's `TrainerError`, keeping the error itself as its `cause`. */
export const toTrainerError =
  (phase: Phase) =>
  (error: { readonly _tag: string; readonly message: string; readonly step?: number }): PolicyTrainer.TrainerError =>
    new PolicyTrainer.TrainerError({
      phase,
      reason: error._tag,
      detail: error.message,
      ...(typeof error.step === "number" ? { step: error.step } : {}),
      cause: error
    })

/** The services the phases need, captured when the stage is built. */
export type Requirements =
  | Verifier.Verifier
  | Curriculum.Curriculum
  | AnswerJudge.AnswerJudge
  | FileSystem.FileSystem
  | Path.Path

/** A `PolicyTrainer` for a decoded config. */
export const make = (
  config: TrainerConfig.TrainerConfig
): Effect.Effect<PolicyTrainer.PolicyTrainer["Service"], never, Requirements> =>
  Effect.map(Effect.context<Requirements>(), (context) =>
    PolicyTrainer.PolicyTrainer.of({
      sft: (request) =>
        Sft.train(request, config).pipe(Effect.provideContext(context), Effect.mapError(toTrainerError("sft"))),
      rft: (request) =>
        Rft.train(request, config).pipe(Effect.provideContext(context), Effect.mapError(toTrainerError("rft"))),
      rl: (request) =>
        Rl.train(request, config).pipe(Effect.provideContext(context), Effect.mapError(toTrainerError("rl")))
    })
  )

/** The stage for a decoded config. */
export const layerConfig = (
  config: TrainerConfig.TrainerConfig
): Layer.Layer<PolicyTrainer.PolicyTrainer, never, Requirements> =>
  Layer.effect(PolicyTrainer.PolicyTrainer, make(config))

/** The stage with its config read from config path `trainer`. */
export const layer: Layer.Layer<PolicyTrainer.PolicyTrainer, Config.ConfigError, Requirements> = Layer.effect(
  PolicyTrainer.PolicyTrainer,
  Effect.flatMap(TrainerConfig.config, make)
)
