/**
 * Off-policy route traces (`rl.routeTraces`): every group of a step (a decided group or a rescue group, each on its own
 * prompt) whose completions all failed gets one more completion, the verifier's SFT target for that group's exact
 * prompt (`Verifier.example`; MRPV writes the problem's gold steps when it has them, else a positive route the prompt
 * shows, else only the answer line), scored by the verifier like a sampled one. One problem can so get up to 1 +
 * `maxRescueRounds` traces in a step. Sampling at low entropy never writes a step the policy has not learnt (a parcel
 * count it never multiplied by, a rule it never applied); the trace carries such steps into the group, where its
 * advantage is high against the failed samples. A trace is added only when it is exactly a reply to the group's prompt
 * (the same token ids), fits `maxNewTokens` and is judged right; otherwise it is counted as skipped with its reason.
 */
import { Prompt } from "@realm-lm/core"
import type { Verifier } from "@realm-lm/core"
import { Effect, Result } from "effect"
import type { EngineFailed } from "../TrainerErrors.ts"
import type { Engine } from "./engine.ts"
import type { Group, Sample } from "./rollout.ts"
import { shownRoutes } from "./rollout.ts"

/** Why a failed group got no trace. */
export type SkipReason = "no-example" | "other-prompt" | "too-long" | "judged-wrong"

/** Groups with their traces, and what was added or skipped. */
export interface Traced {
  readonly groups: Array<Group>
  readonly added: number
  readonly skipped: Readonly<Record<SkipReason, number>>
}

/** No failed group skipped, for each reason. */
export const noneSkipped = (): Record<SkipReason, number> => ({
  "no-example": 0,
  "other-prompt": 0,
  "too-long": 0,
  "judged-wrong": 0
})

/** Whether every completion of a group failed (no right answer to learn from on-policy). */
export const allFailed = (group: Group): boolean =>
  group.samples.length > 0 && group.samples.every((s) => !s.reward.correct)

const sameIds = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** The trace for one failed group, or why there is none. */
const traceFor = (
  engine: Engine,
  verifier: Verifier.Verifier["Service"],
  group: Group,
  maxNewTokens: number
): Effect.Effect<Result.Result<Sample, SkipReason>, EngineFailed | Verifier.VerifierError> =>
  Effect.gen(function* () {
    const request = group.request
    // A verifier that cannot write a target for this prompt says so with a VerifierError.
    const example = yield* Effect.result(verifier.example(request))
    if (Result.isFailure(example)) return Result.fail("no-example" as const)
    if (!sameIds(yield* engine.encodePrompt(example.success.prompt), group.promptIds))
      return Result.fail("other-prompt" as const)
    const tokens = engine.encodeCompletion(example.success.completion)
    if (tokens.length > maxNewTokens) return Result.fail("too-long" as const)
    const reward = yield* verifier.score({
      problem: request.problem,
      prompt: group.prompt,
      routes: shownRoutes(request, group.prompt),
      completion: Prompt.reply(group.prompt, example.success.completion)
    })
    if (!reward.correct) return Result.fail("judged-wrong" as const)
    return Result.succeed({
      tokens,
      logProbs: [],
      finishReason: "eos" as const,
      text: example.success.completion,
      reward,
      offPolicy: true
    })
  })

/** Add a route trace to every group whose completions all failed. */
export const add = (
  engine: Engine,
  verifier: Verifier.Verifier["Service"],
  groups: ReadonlyArray<Group>,
  maxNewTokens: number
): Effect.Effect<Traced, EngineFailed | Verifier.VerifierError> =>
  Effect.gen(function* () {
    const skipped = noneSkipped()
    let added = 0
    const out: Array<Group> = []
    for (const group of groups) {
      if (!allFailed(group)) {
        out.push(group)
        continue
      }
      const trace = yield* traceFor(engine, verifier, group, maxNewTokens)
      if (Result.isFailure(trace)) {
        skipped[trace.failure] += 1
        out.push(group)
      } else {
        added += 1
        out.push({ ...group, samples: [...group.samples, trace.success] })
      }
    }
    return { groups: out, added, skipped }
  })
