/**
 * Benchmark: build a rule-teacher corpus from a problems JSONL file and print throughput.
 * `node packages/corpus/bench/build.ts <problems.jsonl> <runDir> [concurrency]`; writes bench/results/build.json.
 * Answers of the built-in domains are integers, so a plain numeric judge labels exactly as @realm-lm/tasks would.
 */
import { NodeServices } from "@effect/platform-node"
import { AnswerJudge, Teacher } from "@realm-lm/core"
import { Effect, Layer } from "effect"
import { rmSync } from "node:fs"
import * as Corpus from "../src/Corpus.ts"
import * as Input from "../src/Input.ts"
import * as RuleTeacher from "../src/RuleTeacher.ts"
import { numericJudge, report } from "./support.ts"

const [problemsPath = "", runDir = "", concurrency = "4"] = process.argv.slice(2)

rmSync(runDir, { recursive: true, force: true })
const program = Effect.gen(function* () {
  const total = yield* Input.countProblems(problemsPath, "strict")
  const config = yield* Corpus.decodeConfig({ runDir, concurrency: Number(concurrency) })
  const t0 = performance.now()
  const summary = yield* Corpus.build(config, { problems: Input.readProblems(problemsPath, "strict"), total })
  const seconds = (performance.now() - t0) / 1000
  const row = {
    problems: summary.records,
    routes: summary.routes,
    positives: summary.positives,
    negatives: summary.negatives,
    seconds: Number(seconds.toFixed(2)),
    problemsPerSecond: Number((summary.records / seconds).toFixed(1))
  }
  report("build", row)
}).pipe(
  Effect.provide(
    Layer.mergeAll(
      NodeServices.layer,
      Layer.succeed(AnswerJudge.AnswerJudge, numericJudge),
      Layer.succeed(Teacher.Teacher, RuleTeacher.make())
    )
  )
)

Effect.runPromise(program).catch((error: unknown) => {
  console.error(String(error))
  process.exit(1)
})
