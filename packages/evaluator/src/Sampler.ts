/**
 * Where the evaluator's completions come from: a checkpoint loaded as an `@realm-lm/lm` policy (`local`), or a served
 * model behind an OpenAI-compatible endpoint (`EndpointSampler`). Both take the verifier's prompts and return k
 * completion texts per prompt, the first greedy, so prompts, judging, metrics and the results format are the
 * evaluator's own whichever generates.
 */
import { Evaluator as CoreEvaluator } from "@realm-lm/core"
import type { Prompt } from "@realm-lm/core"
import { Policy, PromptText } from "@realm-lm/lm"
import { Effect } from "effect"
import type { FileSystem, Path, Scope } from "effect"

/** What to sample for each prompt. */
export interface SamplePlan {
  /** Completions per prompt, k: the first greedy, the rest sampled. */
  readonly samples: number
  /** Temperature of samples 2..k. */
  readonly temperature: number
  /** Most tokens generated per completion. */
  readonly maxNewTokens: number
  /** Seed of samples 2..k. */
  readonly seed: number
  /** The evaluation mode, so that sampled streams differ between modes where a sampler seeds per prompt. */
  readonly mode: string
}

/** A source of completions. */
export interface Sampler {
  /** k completion texts per prompt, in prompt order; the first of each greedy. */
  readonly complete: (
    prompts: ReadonlyArray<Prompt.Prompt>,
    plan: SamplePlan
  ) => Effect.Effect<Array<Array<string>>, CoreEvaluator.EvaluatorError>
}

/** `evaluating <checkpoint>: <what>: <message>` as an `EvaluatorError`. */
export const failWith = (checkpoint: string, what: string) => (error: { readonly message: string }) =>
  new CoreEvaluator.EvaluatorError({ checkpoint, detail: `${what}: ${error.message}`, cause: error })

/**
 * A checkpoint directory loaded as a policy (released with the scope): prompts through its tokenizer's chat template
 * (`PromptText.encode`), all greedy completions in one `generate` batch, then all sampled ones in another.
 */
export const local = (
  checkpoint: string,
  policyConfig: Policy.PolicyConfig
): Effect.Effect<Sampler, CoreEvaluator.EvaluatorError, Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const policy = yield* Policy.load(checkpoint, policyConfig).pipe(
      Effect.mapError(failWith(checkpoint, "cannot load the checkpoint"))
    )
    const tokenizer = policy.tokenizer
    if (tokenizer === undefined) {
      return yield* new CoreEvaluator.EvaluatorError({
        checkpoint,
        detail: "the checkpoint has no tokenizer.json; evaluation needs its tokenizer"
      })
    }
    return {
      complete: (prompts, plan) =>
        Effect.gen(function* () {
          const ids = yield* Effect.forEach(prompts, (prompt) =>
            PromptText.encode(tokenizer, prompt).pipe(Effect.mapError(failWith(checkpoint, "chat template")))
          )
          const greedy = yield* policy
            .generate(
              ids.map((prompt) => ({ prompt })),
              { maxNewTokens: plan.maxNewTokens }
            )
            .pipe(Effect.mapError(failWith(checkpoint, "generation")))
          const sampled =
            plan.samples > 1
              ? yield* policy
                  .generate(
                    ids.map((prompt) => ({ prompt, samples: plan.samples - 1 })),
                    {
                      maxNewTokens: plan.maxNewTokens,
                      sampling: { temperature: plan.temperature, topK: 0, topP: 1 },
                      seed: plan.seed
                    }
                  )
                  .pipe(Effect.mapError(failWith(checkpoint, "generation")))
              : prompts.map(() => [])
          return prompts.map((_, i) => [...(greedy[i] ?? []), ...(sampled[i] ?? [])].map((c) => c.text ?? ""))
        })
    } satisfies Sampler
  })
