/**
 * `realm eval --endpoint` against `realm serve` on loopback (both spawned): a tiny from-scratch checkpoint is served
 * and evaluated through the endpoint in both modes, and the results equal the local evaluation of the same
 * checkpoint at temperature 0 (same completions, answers, accuracy and every metric; only the `checkpoint` label
 * differs). The journal of served requests is gone once the results are written. An unknown model name and an
 * unreachable server fail with one line naming the URL and the fix.
 */
import { NodeServices } from "@effect/platform-node"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Schema, Stream } from "effect"
import { EvalResult, Problem } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { CorpusJob } from "@realm-lm/pipeline"
import { ParcelDomain } from "@realm-lm/tasks"
import { Scratch } from "@realm-lm/trainer"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

const bin = join(import.meta.dirname, "..", "src", "bin.ts")
const dir = mkdtempSync(join(tmpdir(), "realm-eval-endpoint-"))
const files = {
  problems: join(dir, "problems", "test.jsonl"),
  routes: join(dir, "corpus", "corpus.jsonl"),
  checkpoint: join(dir, "tiny"),
  config: join(dir, "eval.yaml")
}

const realm = (...args: Array<string>) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

const readResults = (file: string) =>
  Schema.decodeUnknownSync(Schema.Array(EvalResult.EvalResult))(JSON.parse(readFileSync(file, "utf8")))

/**
 * Parcel test problems, their rule-teacher routes, and a random-weight checkpoint whose tokenizer knows their texts.
 * A large initialisation std makes its greedy text depend on the whole prompt (at 0.02 the residual stream carries
 * the last prompt token through and the model repeats it), so equal completions mean equal prompts and generation.
 */
const setup = Effect.gen(function* () {
  const parcel = ParcelDomain.make(
    ParcelDomain.decodeConfig({ levels: [1, 2], counts: { train: 0, validation: 0, test: 5, heldout: 0, transfer: 0 } })
  )
  mkdirSync(join(dir, "problems"), { recursive: true })
  yield* Jsonl.writeAll(files.problems, Problem.Problem, parcel.problems("test"))
  yield* CorpusJob.run({
    out: dir,
    problems: { file: files.problems, policy: "strict" },
    teacher: { use: "rule" },
    settings: { routesPerProblem: 3, negativesPerProblem: 1 },
    baseDir: dir
  })
  const problems = yield* Stream.runCollect(Jsonl.read(files.problems, Problem.Problem))
  const texts = problems.flatMap((p) => [p.question, p.rulebook ?? "", `Answer: ${p.gold}`])
  yield* Scratch.create(files.checkpoint, texts, {
    vocabSize: 300,
    hiddenSize: 16,
    intermediateSize: 32,
    layers: 2,
    heads: 2,
    kvHeads: 1,
    maxContext: 2048,
    initStd: 0.5
  })
}).pipe(Effect.provide(NodeServices.layer))

let server: ChildProcess | undefined
let baseUrl = ""

beforeAll(async () => {
  await Effect.runPromise(setup)
  // Compact verifier prompts and short completions keep it quick; k = 1 so every completion is greedy.
  writeFileSync(
    files.config,
    "verifier: { use: mrpv, with: { style: compact } }\nevaluator: { use: default, with: { samples: 1, maxNewTokens: 12 } }\n"
  )
  const child = spawn(process.execPath, [bin, "serve", files.checkpoint, "--port", "0", "--model-name", "tiny"], {
    cwd: dir
  })
  server = child
  let stdout = ""
  let stderr = ""
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  baseUrl = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      const m = /serving tiny \(.*\) at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(stdout)
      if (m !== null) resolve(m[1]!)
    })
    child.on("exit", (code) => reject(new Error(`realm serve exited with ${code}: ${stderr}`)))
  })
}, 180_000)

afterAll(() => {
  server?.kill("SIGTERM")
})

describe("realm eval --endpoint against realm serve (spawned)", () => {
  it("gives the local evaluator's results at temperature 0: same completions, answers, accuracy and metrics", async () => {
    const common = [
      "--problems",
      files.problems,
      "--routes",
      files.routes,
      "--config",
      files.config,
      "--method",
      "tiny"
    ]
    const local = await realm("eval", files.checkpoint, ...common, "--out", "local.json")
    assert.notInclude(local.stderr, "realm: ")
    assert.strictEqual(local.status, 0)
    const served = await realm(
      "eval",
      "--endpoint",
      baseUrl,
      "--model",
      "tiny",
      "--concurrency",
      "3",
      ...common,
      "--out",
      "served.json"
    )
    assert.notInclude(served.stderr, "realm: ")
    assert.strictEqual(served.status, 0)

    const mine = readResults(join(dir, "local.json"))
    const theirs = readResults(join(dir, "served.json"))
    assert.deepStrictEqual(
      theirs.map((r) => r.mode),
      ["assisted", "autonomous"]
    )
    assert.deepStrictEqual(
      theirs.map((r) => r.checkpoint),
      [`tiny at ${baseUrl}`, `tiny at ${baseUrl}`]
    )
    for (const [i, r] of theirs.entries()) {
      const l = mine[i]!
      assert.deepStrictEqual(
        r.outcomes.map((o) => o.texts),
        l.outcomes.map((o) => o.texts)
      )
      // The completions differ between problems: the model's text depends on its prompt.
      assert.isAbove(new Set(r.outcomes.map((o) => o.texts?.[0])).size, 2)
      assert.deepStrictEqual(r.accuracy, l.accuracy)
      assert.deepStrictEqual({ ...r, checkpoint: "" }, { ...l, checkpoint: "" })
    }
    // The request journal served its purpose once the results were written.
    assert.isFalse(existsSync(join(dir, "served.json.requests.jsonl")))
    assert.include(served.stdout, `Results (accuracy %, 95% bootstrap CI) in ${join(dir, "served.json")}`)
  })

  it("an unknown model name fails with the URL and the model the server serves", async () => {
    const r = await realm(
      "eval",
      "--endpoint",
      baseUrl,
      "--model",
      "nope",
      "--problems",
      files.problems,
      "--config",
      files.config,
      "--out",
      "nope.json"
    )
    assert.strictEqual(r.status, 1)
    assert.include(r.stderr, `${baseUrl}/models (model nope): the server does not serve 'nope'; it serves 'tiny'`)
    assert.isFalse(existsSync(join(dir, "nope.json")))
  })

  it("an unreachable server fails after its retries with the URL and how to start one; flags without --endpoint are refused", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer()
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address()
        probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
    writeFileSync(
      join(dir, "quick.yaml"),
      "evaluator: { use: default, with: { endpoint: { maxRetries: 1, initialBackoffMs: 10 } } }\n"
    )
    const r = await realm(
      "eval",
      "--endpoint",
      `http://127.0.0.1:${port}/v1`,
      "--model",
      "tiny",
      "--problems",
      files.problems,
      "--config",
      join(dir, "quick.yaml")
    )
    assert.strictEqual(r.status, 1)
    assert.include(r.stderr, `http://127.0.0.1:${port}/v1/models (model tiny): cannot connect`)
    assert.include(r.stderr, "(after 2 attempts)")
    assert.include(r.stderr, "realm serve <checkpoint>")
    const stray = await realm("eval", files.checkpoint, "--model", "tiny", "--problems", files.problems)
    assert.strictEqual(stray.status, 1)
    assert.include(stray.stderr, "--model: only with --endpoint URL")
  })
})
