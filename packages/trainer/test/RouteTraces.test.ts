/**
 * Route traces on hand-built groups (no model): only groups whose completions all failed get one; the trace is the
 * verifier's target for the group's prompt, ends in eos, is marked off-policy and gets the group's highest advantage;
 * a trace for another prompt, one longer than `maxNewTokens`, one judged wrong or one the verifier cannot write is
 * skipped with its reason.
 */
import { assert, describe, it } from "@effect/vitest"
import { Verifier } from "@realm-lm/core"
import type { Curriculum, Prompt } from "@realm-lm/core"
import { Effect } from "effect"
import type { Engine } from "../src/internal/engine.ts"
import * as RlStep from "../src/internal/rlStep.ts"
import type { Group, Sample } from "../src/internal/rollout.ts"
import * as RouteTraces from "../src/internal/routeTraces.ts"
import * as Toy from "./fixtures/toy.ts"

const EOS = 0

/** Just what route traces use of an engine: characters as token ids, eos after a completion. */
const engine = {
  encodePrompt: (prompt: Prompt.Prompt) =>
    Effect.succeed([...prompt.messages.map((m) => m.content).join("\n")].map((c) => c.charCodeAt(0))),
  encodeCompletion: (text: string) => [...[...text].map((c) => c.charCodeAt(0)), EOS]
} as unknown as Engine

const decision = (problemId: string): Curriculum.GuidanceDecision => ({
  problemId,
  strength: 1,
  routeCount: 0,
  hintFraction: 0,
  rescue: false,
  seed: 0
})

/** A group of `answers` sampled on the problem's autonomous prompt, scored by the toy verifier. */
const group = (index: number, answers: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const problem = Toy.problems(index + 1)[index]!
    const request = { problem, routes: Toy.routesOf(problem), decision: decision(problem.id) }
    const prompt = yield* Toy.verifier.prompt(request)
    const samples: Array<Sample> = []
    for (const text of answers) {
      const reward = yield* Toy.verifier.score({ problem, prompt, routes: [], completion: text })
      samples.push({ tokens: engine.encodeCompletion(text), logProbs: [-1, -1], finishReason: "eos", text, reward })
    }
    const promptIds = yield* engine.encodePrompt(prompt)
    return { request, prompt, promptIds, samples, round: 0 } satisfies Group
  })

describe("RouteTraces.add", () => {
  it.effect("adds the verifier's target to the groups that all failed, with the group's highest advantage", () =>
    Effect.gen(function* () {
      const failed = yield* group(0, ["9", "8", "9"]) // gold of toy/0 is 3
      const solved = yield* group(1, ["0", "1", "0"]) // gold of toy/1 is 0
      const traced = yield* RouteTraces.add(engine, Toy.verifier, [failed, solved], 8)
      assert.strictEqual(traced.added, 1)
      assert.deepStrictEqual(traced.skipped, RouteTraces.noneSkipped())
      assert.strictEqual(traced.groups[1], solved, "a group with a right completion is left as it was")
      const trace = traced.groups[0]!.samples.at(-1)!
      assert.isTrue(trace.offPolicy)
      assert.strictEqual(trace.text, "3")
      assert.deepStrictEqual(trace.tokens, ["3".charCodeAt(0), EOS])
      assert.isTrue(trace.reward.correct)
      const prepared = RlStep.prepare(traced.groups, "std", false)
      assert.deepStrictEqual(prepared.offPolicy, [3], "the trace is the failed group's fourth rollout")
      const advantages = prepared.rollouts
        .slice(0, 4)
        .map((r) => (typeof r.advantage === "number" ? r.advantage : r.advantage[0]!))
      assert.isAbove(advantages[3]!, 0)
      for (const a of advantages.slice(0, 3)) assert.isBelow(a, 0)
      assert.deepStrictEqual(prepared.rollouts[3]!.prompt, failed.promptIds, "trained on exactly the group's prompt")
    })
  )

  it.effect("skips a trace for another prompt, one too long, one judged wrong or one the verifier cannot write", () =>
    Effect.gen(function* () {
      const failed = yield* group(0, ["9", "9"])
      const skipsFor = (groups: ReadonlyArray<Group>, verifier: Verifier.Verifier["Service"], maxNewTokens = 8) =>
        Effect.map(RouteTraces.add(engine, verifier, groups, maxNewTokens), (t) => {
          assert.strictEqual(t.added, 0)
          assert.deepStrictEqual(t.groups, [...groups])
          return Object.entries(t.skipped).filter(([, n]) => n > 0)
        })
      assert.deepStrictEqual(yield* skipsFor([{ ...failed, promptIds: [1, 2, 3] }], Toy.verifier), [
        ["other-prompt", 1]
      ])
      assert.deepStrictEqual(yield* skipsFor([failed], Toy.verifier, 1), [["too-long", 1]])
      const wrong = Verifier.Verifier.of({
        ...Toy.verifier,
        score: (request) => Effect.map(Toy.verifier.score(request), (r) => ({ ...r, correct: false }))
      })
      assert.deepStrictEqual(yield* skipsFor([failed], wrong), [["judged-wrong", 1]])
      const unable = Verifier.Verifier.of({
        ...Toy.verifier,
        example: (request) =>
          Effect.fail(new Verifier.VerifierError({ problemId: request.problem.id, detail: "no target" }))
      })
      assert.deepStrictEqual(yield* skipsFor([failed], unable), [["no-example", 1]])
    })
  )
})
