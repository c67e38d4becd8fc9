/**
 * EAAI quickstart: a cosine schedule over 100 steps, decisions for a batch, a rescue for a failed group, and a
 * snapshot restored into a fresh curriculum. Run: `node packages/eaai/examples/quickstart.ts` (Node 24).
 */
import { Curriculum as CoreCurriculum } from "@realm-lm/core"
import type { Problem } from "@realm-lm/core"
import { Curriculum, EaaiConfig, Schedule } from "@realm-lm/eaai"
import { ConfigProvider, Effect } from "effect"

const problems: Array<Problem.Problem> = ["p0", "p1", "p2"].map((id) => ({
  id,
  domain: "demo",
  question: `question ${id}`,
  gold: "1",
  answerType: "number",
  difficulty: 1,
  split: "train",
  metadata: {}
}))

// The config as a pipeline would load it (YAML/JSON), read from config path `curriculum`.
const provider = ConfigProvider.fromUnknown({
  curriculum: { seed: 7, schedule: { kind: "cosine", totalSteps: 100, warmupSteps: 10, autonomousFraction: 0.2 } }
})

/** Schedule values, a batch of decisions, one rescue, and an exact restore. */
export const program = Effect.gen(function* () {
  const config = EaaiConfig.timed(yield* EaaiConfig.config.parse(provider))
  const curve = [0, 10, 30, 50, 79, 80, 99].map((t) => [t, Number(Schedule.strength(config.schedule, t).toFixed(3))])
  const curriculum = yield* CoreCurriculum.Curriculum
  const decisions = yield* curriculum.decide(30, problems)
  // Every sample of p1's autonomous group failed: the curriculum answers with a rescue decision (a hint).
  const rescues = yield* curriculum.observe(30, [
    {
      problemId: "p1",
      guidance: { mode: "autonomous", strength: 0, routeIds: [] },
      correct: [false, false, false, false],
      rewards: [0, 0, 0, 0]
    }
  ])
  const snapshot = yield* curriculum.snapshot
  const fresh = yield* Curriculum.make(config)
  yield* fresh.restore(JSON.parse(JSON.stringify(snapshot)))
  const same =
    JSON.stringify(yield* fresh.decide(31, problems)) === JSON.stringify(yield* curriculum.decide(31, problems))
  return { curve, decisions, rescues, snapshot, same }
}).pipe(Effect.provide(Curriculum.layer), Effect.provide(ConfigProvider.layer(provider)))

if (import.meta.main) {
  const out = await Effect.runPromise(program)
  console.log("s(t):", JSON.stringify(out.curve))
  for (const d of out.decisions) console.log("decide:", JSON.stringify(d))
  for (const r of out.rescues) console.log("rescue:", JSON.stringify(r))
  console.log("snapshot:", JSON.stringify(out.snapshot))
  console.log("restored decisions identical:", out.same)
}
