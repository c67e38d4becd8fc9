/**
 * Benchmark: the local-model teacher writing a corpus. `node --conditions=@realm-lm/source
 * packages/corpus/bench/local-teacher.ts <model-dir> <problems.jsonl> [concurrency] [routes] [maxNewTokens] [batchProblems]` builds a
 * corpus with K routes per problem from the model (sampled, temperature 0.8) and prints problems/s; writes
 * bench/results/local-teacher.json. Any Hugging Face directory with a tokenizer works (e.g. `<run>/base/model` of a
 * from-scratch pipeline run). Answers are judged numerically, as for the built-in domains.
 */
import { NodeServices } from "@effect/platform-node"
import { AnswerJudge } from "@realm-lm/core"
import { Effect, Layer, Schema } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Corpus from "../src/Corpus.ts"
import * as Input from "../src/Input.ts"
import * as LocalTeacher from "../src/LocalTeacher.ts"
import { numericJudge, report } from "./support.ts"

const [model = "", problemsPath = "", concurrency = "16", routes = "4", maxNewTokens = "64", batchProblems = "16"] =
  process.argv.slice(2)

const runDir = mkdtempSync(join(tmpdir(), "realm-local-teacher-bench-"))
const program = Effect.gen(function* () {
  const total = yield* Input.countProblems(problemsPath, "strict")
  const config = yield* Corpus.decodeConfig({
    runDir,
    concurrency: Number(concurrency),
    routesPerProblem: Number(routes),
    negativesPerProblem: 0,
    minNegatives: 0,
    balanceAttempts: 0
  })
  const teacher = LocalTeacher.layer(
    yield* Schema.decodeUnknownEffect(LocalTeacher.LocalTeacherConfig)({
      model,
      maxNewTokens: Number(maxNewTokens),
      batchProblems: Number(batchProblems)
    })
  )
  const t0 = performance.now()
  const summary = yield* Corpus.build(config, { problems: Input.readProblems(problemsPath, "strict"), total }).pipe(
    Effect.provide(teacher)
  )
  const seconds = (performance.now() - t0) / 1000
  const row = {
    model,
    problems: summary.records,
    routesPerProblem: Number(routes),
    maxNewTokens: Number(maxNewTokens),
    concurrency: Number(concurrency),
    batchProblems: Number(batchProblems),
    seconds: Number(seconds.toFixed(2)),
    problemsPerSecond: Number((summary.records / seconds).toFixed(2))
  }
  report("local-teacher", row)
}).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, Layer.succeed(AnswerJudge.AnswerJudge, numericJudge))))

Effect.runPromise(program).then(
  () => rmSync(runDir, { recursive: true, force: true }),
  (error: unknown) => {
    console.error(String(error))
    process.exit(1)
  }
)
