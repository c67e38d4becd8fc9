/**
 * Rollouts: for each (problem, guidance decision) build the verifier's prompt, encode it, sample G completions in
 * one batched generate call (each group from its own seeded stream), and score every completion with the verifier
 * on exactly the prompt and routes it was sampled with.
 */
import type { Curriculum, Problem, Reward, Route, Verifier } from "@realm-lm/core"
import { Prompt, Rng } from "@realm-lm/core"
import { Sampling } from "@realm-lm/lm"
import { Effect } from "effect"
import type { GenerationSection } from "../TrainerConfig.ts"
import { EngineFailed } from "../TrainerErrors.ts"
import type { Engine } from "./engine.ts"

/** One group to sample. */
export interface GroupRequest {
  readonly problem: Problem.Problem
  readonly routes: ReadonlyArray<Route.Route>
  readonly decision: Curriculum.GuidanceDecision
}

/** A sampled completion with its reward. */
export interface Sample {
  readonly tokens: ReadonlyArray<number>
  /** log π(token) under the sampling weights, on `promptIds` (raw distribution). */
  readonly logProbs: ReadonlyArray<number>
  readonly finishReason: "eos" | "stop" | "length"
  /** The completion's text (what the policy wrote, after the prompt's prefill if it has one). */
  readonly text: string
  readonly reward: Reward.Reward
  /** Not sampled: a route trace the trainer added (`rl.routeTraces`); its `logProbs` are empty until scored. */
  readonly offPolicy?: boolean
}

/** A group of G samples of one prompt. */
export interface Group {
  readonly request: GroupRequest
  readonly prompt: Prompt.Prompt
  readonly promptIds: ReadonlyArray<number>
  readonly samples: ReadonlyArray<Sample>
  /** 0 for the step's decided groups, r for the r-th rescue round. */
  readonly round: number
}

/** Result of sampling a set of groups. */
export interface Sampled {
  readonly groups: Array<Group>
  /** Problems whose prompt exceeded `maxPromptTokens` (skipped). */
  readonly tooLong: number
  readonly generateSeconds: number
  readonly scoreSeconds: number
  readonly generatedTokens: number
}

/**
 * Sample `groupSize` completions for each request. Group i of round r at step t draws from
 * `Rng.make(seed, "rl-sample", t, r, problemId)`, so samples depend only on (seed, step, round, problem) and the weights.
 */
export const sample = (
  engine: Engine,
  verifier: Verifier.Verifier["Service"],
  requests: ReadonlyArray<GroupRequest>,
  options: {
    readonly seed: number
    readonly step: number
    readonly round: number
    readonly groupSize: number
    readonly generation: GenerationSection
    readonly greedy?: boolean
  }
): Effect.Effect<Sampled, EngineFailed | Verifier.VerifierError> =>
  Effect.gen(function* () {
    const prepared: Array<{ request: GroupRequest; prompt: Prompt.Prompt; ids: Array<number> }> = []
    let tooLong = 0
    for (const request of requests) {
      const prompt = yield* verifier.prompt({
        problem: request.problem,
        routes: request.routes,
        decision: request.decision
      })
      const ids = yield* engine.encodePrompt(prompt)
      if (ids.length > options.generation.maxPromptTokens) tooLong += 1
      else prepared.push({ request, prompt, ids })
    }
    const g = options.generation
    const t0 = performance.now()
    const out =
      prepared.length === 0
        ? []
        : yield* engine.policy
            .generate(
              prepared.map((p) => ({
                prompt: p.ids,
                samples: options.groupSize,
                rng: Rng.Rng.make(options.seed, "rl-sample", options.step, options.round, p.request.problem.id)
              })),
              {
                maxNewTokens: g.maxNewTokens,
                sampling:
                  options.greedy === true
                    ? Sampling.greedy
                    : { temperature: g.temperature, topK: g.topK, topP: g.topP },
                stopTokens: [engine.eos]
              }
            )
            .pipe(
              Effect.mapError((e) => new EngineFailed({ operation: "generate", detail: `${e._tag}: ${e.message}` }))
            )
    const t1 = performance.now()
    const groups: Array<Group> = []
    let generatedTokens = 0
    for (const [i, p] of prepared.entries()) {
      const shown = shownRoutes(p.request, p.prompt)
      const samples: Array<Sample> = []
      for (const c of out[i] ?? []) {
        const text = c.text ?? engine.tokenizer.decode(c.tokens, { skipSpecialTokens: true })
        const reward = yield* verifier.score({
          problem: p.request.problem,
          prompt: p.prompt,
          routes: shown,
          completion: Prompt.reply(p.prompt, text)
        })
        generatedTokens += c.tokens.length
        samples.push({ tokens: c.tokens, logProbs: c.logProbs, finishReason: c.finishReason, text, reward })
      }
      groups.push({ request: p.request, prompt: p.prompt, promptIds: p.ids, samples, round: options.round })
    }
    return {
      groups,
      tooLong,
      generateSeconds: (t1 - t0) / 1000,
      scoreSeconds: (performance.now() - t1) / 1000,
      generatedTokens
    }
  })

/** The routes a prompt shows, in its order (what the verifier scores a completion of it against). */
export const shownRoutes = (request: GroupRequest, prompt: Prompt.Prompt): ReadonlyArray<Route.Route> =>
  prompt.guidance.routeIds.flatMap((id) => request.routes.filter((r) => r.id === id))

/** The curriculum's view of a group. */
export const outcome = (group: Group): Curriculum.GroupOutcome => ({
  problemId: group.request.problem.id,
  guidance: group.prompt.guidance,
  correct: group.samples.map((s) => s.reward.correct),
  rewards: group.samples.map((s) => s.reward.total)
})
