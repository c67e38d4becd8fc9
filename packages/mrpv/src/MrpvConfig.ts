/**
 * The MRPV stage config (config path `verifier`): prompt style, how many routes and which positive/negative
 * mix to show, reward weights and the optional length penalty. Every field has a default; cross-field checks
 * reject nonsense before any work starts, naming the field path.
 */
import { ConfigDecode } from "@realm-lm/core"
import { Config, Schema } from "effect"

const { withDefault } = ConfigDecode

const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Weight = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/** Prompt style: `compact` for tiny character-level models, `verbose` natural-language instructions for chat models. */
export const PromptStyle = Schema.Literals(["compact", "verbose"])
export type PromptStyle = typeof PromptStyle.Type

/**
 * Where the route verdicts go in an assisted completion. `verify-first` (the paper's order): verdicts and the
 * reflection, then the policy's own steps and answer. `solve-first`: the policy's own steps and answer first, then
 * the verdicts and reflection, so a small model checks each route against an answer it has already written instead
 * of judging it before computing anything (see the package README, "Completion order").
 */
export const CompletionOrder = Schema.Literals(["verify-first", "solve-first"])
export type CompletionOrder = typeof CompletionOrder.Type

/**
 * Positive/negative composition of the routes shown. For each prompt: with probability `allNegative` every
 * route shown is negative, with probability `allPositive` every one is positive, otherwise each slot is
 * positive with probability `positiveRatio`. Availability wins: the requested route count is filled from the
 * other label when one runs short.
 */
export const MixConfig = Schema.Struct({
  /** Per-slot probability of a positive route in mixed prompts. Default 0.5. */
  positiveRatio: Probability.pipe(withDefault(0.5)),
  /** Probability of an all-positive prompt. Default 0.15. */
  allPositive: Probability.pipe(withDefault(0.15)),
  /** Probability of an all-negative prompt. Default 0.15. */
  allNegative: Probability.pipe(withDefault(0.15))
}).check(
  Schema.makeFilter((m) =>
    m.allPositive + m.allNegative <= 1
      ? undefined
      : {
          path: ["allPositive"],
          issue: `allPositive + allNegative must be at most 1, got ${m.allPositive} + ${m.allNegative}`
        }
  )
)
export type MixConfig = typeof MixConfig.Type

/** Reward weights; each component is its score in [0, 1] times its weight. */
export const WeightsConfig = Schema.Struct({
  /** Final answer correct against gold (the truth check). Default 1. */
  answer: Weight.pipe(withDefault(1)),
  /** Fraction of shown routes given the right verdict (assisted prompts only). Default 0.5. */
  verdict: Weight.pipe(withDefault(0.5)),
  /** Fraction of negative routes with a known decisive step whose first wrong step is named. Default 0.5. */
  decisive: Weight.pipe(withDefault(0.5)),
  /** Fraction of format checks passed. Default 0.2. */
  format: Weight.pipe(withDefault(0.2))
}).check(
  Schema.makeFilter((w) =>
    w.answer + w.verdict + w.decisive + w.format > 0
      ? undefined
      : {
          path: ["answer"],
          issue: "at least one reward weight must be positive (all are 0, so every completion scores 0)"
        }
  )
)
export type WeightsConfig = typeof WeightsConfig.Type

/** Length penalty: `-weight * clamp((chars - targetChars) / spanChars, 0, 1)`, so it lies in [-weight, 0]. */
export const LengthConfig = Schema.Struct({
  /** Penalty weight; 0 (default) turns the penalty off. */
  weight: Weight.pipe(withDefault(0)),
  /** Completion length in characters below which there is no penalty. Default 1000. */
  targetChars: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).pipe(withDefault(1000)),
  /** Characters past `targetChars` at which the penalty reaches its full weight. Default 1000. */
  spanChars: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).pipe(withDefault(1000))
})
export type LengthConfig = typeof LengthConfig.Type

/** How `Verifier.drills` draws comparison drills (compared-answers format only; `Drills.ts`). */
export const DrillsConfig = Schema.Struct({
  /** Verdict lines per drill (1-26). Default 3. */
  lines: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 26 })).pipe(withDefault(3)),
  /** Smallest own number of a drill line: the domain's smallest answers (a near miss may be up to 12 below). Default 10. */
  min: Schema.Int.pipe(withDefault(10)),
  /** Largest own number of a drill line: the domain's largest answers (a near miss may be up to 12 above). Default 300. */
  max: Schema.Int.pipe(withDefault(300))
}).check(
  Schema.makeFilter((d) =>
    d.min < d.max ? undefined : { path: ["max"], issue: `max (${d.max}) must be above min (${d.min})` }
  )
)
export type DrillsConfig = typeof DrillsConfig.Type

/** The MRPV verifier config. */
export const MrpvConfig = Schema.Struct({
  /** Prompt style. Default `compact`. */
  style: PromptStyle.pipe(withDefault("compact")),
  /** Order of the sections of an assisted completion. Default `verify-first`. */
  order: CompletionOrder.pipe(withDefault("verify-first")),
  /**
   * Route headers show each route's answer (`Route A: answer 20`) and verdict lines repeat it (`Route A: answer 20,
   * correct`), so a small model checks a route by copying its answer next to its own instead of searching the route's
   * last line. Default false.
   */
  echoAnswers: Schema.Boolean.pipe(withDefault(false)),
  /**
   * Verdict lines put the route's answer next to the completion's own (`Route A: answer 20 vs 21, wrong`), so the
   * verdict follows from comparing two adjacent numbers. Needs `order: solve-first` (the own answer is written
   * before the verdicts) and `echoAnswers: true`. Default false.
   */
  compareAnswers: Schema.Boolean.pipe(withDefault(false)),
  /**
   * Where a hint (a prefix of a positive route) goes: `prompt` shows it in the user message under `Hint:` and the
   * student writes the whole solution; `prefill` makes it the start of the reply (forced decoding), so the student
   * continues the route from the next step and is trained on that continuation only. Default `prompt`.
   */
  hintPlacement: Schema.Literals(["prompt", "prefill"]).pipe(withDefault("prompt")),
  /** Most routes shown in one prompt (1-26, lettered A-Z); the curriculum's route count is capped here. Default 4. */
  maxRoutes: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 26 })).pipe(withDefault(4)),
  mix: MixConfig.pipe(withDefault({})),
  /** When guidance is requested but the problem has no route (or hint source) for it: `fallback` builds the prompt with the guidance that is available and records it; `fail` raises VerifierError. Default `fallback`. */
  missingRoutes: Schema.Literals(["fallback", "fail"]).pipe(withDefault("fallback")),
  weights: WeightsConfig.pipe(withDefault({})),
  /** Whether the format checks of assisted completions include the verdict and reflection lines. Default true; answer-only baselines set false. */
  verdictFormat: Schema.Boolean.pipe(withDefault(true)),
  /** How far (in steps) a named first wrong step may be from the known one and still count. Default 0 (exact). */
  decisiveTolerance: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(0)),
  length: LengthConfig.pipe(withDefault({})),
  /** Comparison drills for SFT (`Verifier.drills`, with `compareAnswers` only). */
  drills: DrillsConfig.pipe(withDefault({}))
}).check(
  Schema.makeFilter((c) =>
    !c.compareAnswers || (c.order === "solve-first" && c.echoAnswers)
      ? undefined
      : {
          path: ["compareAnswers"],
          issue:
            `compareAnswers needs order: solve-first and echoAnswers: true (got order: ${c.order}, echoAnswers: ${c.echoAnswers}); ` +
            "the verdict line compares the route's answer with the answer the completion has already written"
        }
  )
)
export type MrpvConfig = typeof MrpvConfig.Type

/** The config with every default applied. */
export const defaults: MrpvConfig = Schema.decodeUnknownSync(MrpvConfig)({})

/** Decode a config object (missing fields take defaults); fails with a SchemaError naming the field path. */
export const decode = ConfigDecode.decodeUnknownEffect(MrpvConfig)

/** The config read from config path `verifier`; all defaults when the path is absent. */
export const config: Config.Config<MrpvConfig> = Config.schema(MrpvConfig, "verifier").pipe(
  Config.withDefault(defaults)
)

/**
 * The settings that reward the answer and format only: route-verdict and decisive-step weights at 0 and no
 * verdict-line format checks (the pipeline's answer-only methods, `cot-synthesizer` and `eaai-no-verdict`).
 */
export const answerOnly = (settings: MrpvConfig): MrpvConfig => ({
  ...settings,
  weights: { ...settings.weights, verdict: 0, decisive: 0 },
  verdictFormat: false
})
