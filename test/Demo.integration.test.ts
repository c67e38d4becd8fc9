import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SpawnSyncReturns } from "node:child_process"
import { Problems } from "@realm-lm/test-support"
import { assert, beforeAll, describe, it } from "vitest"
import { assertSucceeded, bin, corpusSummary, type Estimate, realmIn, root } from "./support/Realm.ts"

const realm = realmIn(root, 900_000)

interface Result {
  method: string
  split: string
  mode: string
  accuracy: Estimate
  metrics: Record<string, Estimate>
  outcomes: Array<{ prompt?: { guidance: { routeIds: Array<string> } }; texts?: Array<string> }>
}

describe("realm demo --quick (end to end, every stage)", () => {
  const out = join(mkdtempSync(join(tmpdir(), "realm-demo-")), "run")
  let first: SpawnSyncReturns<string>
  beforeAll(() => {
    first = realm("demo", "--quick", "--out", out)
  }, 900_000)

  it("runs problems, corpora, base model, every method, evaluation, table and report", () => {
    assert.notMatch(first.stderr, /realm: \w+Error|Defect|Error:/)
    assert.strictEqual(first.status, 0)
    for (const stage of [
      "problems",
      "corpus",
      "routes-test",
      "routes-heldout",
      "base",
      "sft",
      "rft",
      "grpo",
      "cot-synthesizer",
      "realm",
      "realm-zero",
      "eval"
    ]) {
      assert.include(first.stderr, `== ${stage}`)
    }
    const table = first.stdout.split("\n").filter((l) => l.startsWith("|"))
    assert.strictEqual(table[0], "| method | test assisted | test autonomous | heldout assisted | heldout autonomous |")
    assert.lengthOf(table, 2 + 6)
    assert.isTrue(existsSync(join(out, "report.html")))
  })

  it("writes results for 6 methods x 2 splits x 2 modes; assisted prompts show routes, autonomous ones none", () => {
    const results = JSON.parse(readFileSync(join(out, "eval", "results.json"), "utf8")) as Array<Result>
    assert.lengthOf(results, 24)
    for (const r of results) {
      assert.isAtMost(r.accuracy.low, r.accuracy.value)
      assert.isAtLeast(r.accuracy.high, r.accuracy.value)
      assert.lengthOf(r.outcomes, 24)
      const shown = r.outcomes.map((o) => o.prompt?.guidance.routeIds.length ?? -1)
      if (r.mode === "assisted") {
        assert.isTrue(shown.every((n) => n >= 1))
        assert.property(r.metrics, "route-verdict accuracy")
      } else {
        assert.isTrue(shown.every((n) => n === 0))
      }
    }
    // Every trained method left a checkpoint that transformers.js can load (onnx/model.onnx + tokenizer).
    for (const method of ["sft", "rft", "grpo", "cot-synthesizer", "realm", "realm-zero"]) {
      const ref = JSON.parse(readFileSync(join(out, method, "result.json"), "utf8")) as { path: string }
      assert.isTrue(existsSync(join(ref.path, "onnx", "model.onnx")))
      assert.isTrue(existsSync(join(ref.path, "tokenizer.json")))
      assert.isTrue(existsSync(join(out, method, "manifest.json")))
    }
  })

  it("a second run skips every finished stage and prints the same table", () => {
    const again = realm("demo", "--quick", "--out", out)
    assert.strictEqual(again.status, 0)
    for (const stage of ["problems", "base", "sft", "rft", "grpo", "cot-synthesizer", "realm", "realm-zero", "eval"]) {
      assert.include(again.stderr, `${stage}: up to date, skipped`)
    }
    const table = (s: string) =>
      s
        .split("\n")
        .filter((l) => l.startsWith("|"))
        .join("\n")
    assert.strictEqual(table(again.stdout), table(first.stdout))
  })

  it("realm train sft runs one phase from the demo's base model and corpus, and a re-run resumes instead of retraining", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-train-"))
    const config = join(dir, "trainer.yaml")
    writeFileSync(
      config,
      "trainer:\n  use: onnx\n  with:\n    sft: { steps: 2, batchSize: 8, evalEvery: 0 }\n    generation: { maxNewTokens: 64, maxPromptTokens: 448 }\n    batching: { buckets: [64, 128, 256, 512] }\n"
    )
    const args = [
      "train",
      "sft",
      "--init",
      join(out, "base", "model"),
      "--corpus",
      join(out, "corpus", "corpus.jsonl"),
      "--out",
      join(dir, "sft"),
      "--config",
      config
    ]
    const first = realm(...args)
    assertSucceeded(first)
    assert.match(first.stdout, /sft finished at step 2: /)
    const metrics = () =>
      readFileSync(join(dir, "sft", "metrics.jsonl"), "utf8")
        .trim()
        .split("\n").length
    const lines = metrics()
    const again = realm(...args)
    assert.strictEqual(again.status, 0)
    assert.strictEqual(metrics(), lines)
    // The next phase may start from the previous one's output directory (its result.json names the final checkpoint).
    const next = realm(
      ...args.map((a) =>
        a === join(out, "base", "model") ? join(dir, "sft") : a === join(dir, "sft") ? join(dir, "next") : a
      )
    )
    assert.strictEqual(next.status, 0, next.stderr)
    assert.match(next.stdout, /sft finished at step 2: /)
    const bad = realm(
      ...args.map((a) => (a === join(out, "base", "model") ? dir : a === join(dir, "sft") ? join(dir, "bad") : a))
    )
    assert.notStrictEqual(bad.status, 0)
    assert.include(bad.stderr, "no config.json and no result.json here")
  })

  it("a trained checkpoint serves as a local-model teacher for realm corpus build", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-local-teacher-"))
    const tasks = join(dir, "tasks.yaml")
    writeFileSync(tasks, "counts: { train: 6, validation: 1, test: 1, heldout: 1, transfer: 0 }\n")
    const ref = JSON.parse(readFileSync(join(out, "sft", "result.json"), "utf8")) as { path: string }
    const teacher = join(dir, "teacher.yaml")
    writeFileSync(teacher, `model: ${ref.path}\nmaxNewTokens: 48\n`)
    const r = realm(
      "corpus",
      "build",
      "--tasks",
      "parcel",
      "--tasks-config",
      tasks,
      "--teacher",
      "local",
      "--teacher-config",
      teacher,
      "--out",
      join(dir, "run"),
      "--routes",
      "2",
      "--max-failed-fraction",
      "1"
    )
    assertSucceeded(r)
    const summary = corpusSummary(join(dir, "run"))
    assert.strictEqual(summary.teacher, "local:final")
    assert.strictEqual(summary.records + summary.failed, 6)
  })

  it("realm eval re-evaluates the SFT checkpoint outside the pipeline and reproduces the pipeline's results for it", () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-eval-"))
    // The eval stage's own slots from its manifest; samples goes through --samples instead.
    const manifest = JSON.parse(readFileSync(join(out, "eval", "manifest.json"), "utf8")) as {
      config: { evaluator: { use: string; with?: Record<string, unknown> }; verifier: unknown; judge: unknown }
    }
    const { samples = 1, ...evaluatorSettings } = manifest.config.evaluator.with ?? {}
    const config = join(dir, "eval.json")
    writeFileSync(
      config,
      JSON.stringify({
        evaluator: { use: manifest.config.evaluator.use, with: evaluatorSettings },
        verifier: manifest.config.verifier,
        judge: manifest.config.judge
      })
    )
    const ref = JSON.parse(readFileSync(join(out, "sft", "result.json"), "utf8")) as { path: string }
    const r = realm(
      "eval",
      ref.path,
      "--problems",
      join(out, "problems", "test.jsonl"),
      "--routes",
      join(out, "routes-test", "corpus", "corpus.jsonl"),
      "--config",
      config,
      "--samples",
      String(samples)
    )
    assertSucceeded(r)
    assert.include(r.stderr, "evaluating sft on 24 test problems (parcel): assisted, autonomous")
    assert.include(r.stdout, `in ${join(ref.path, "eval-test.json")}`)
    const table = r.stdout.split("\n").filter((l) => l.startsWith("|"))
    assert.strictEqual(table[0], "| method | test assisted | test autonomous |")
    assert.lengthOf(table, 3)
    // Same checkpoint, problems, routes, settings and evaluator seed: the same cells as the pipeline's SFT row.
    const cells = (row: string | undefined) =>
      (row ?? "")
        .split("|")
        .map((c) => c.trim())
        .slice(1, -1)
    const pipelineRow = first.stdout.split("\n").find((l) => l.startsWith("| SFT"))
    assert.deepStrictEqual(cells(table[2]), ["sft", ...cells(pipelineRow).slice(1, 3)])
    // ... and the same results, prompts (the routes each assisted prompt shows) and completions included.
    const written = JSON.parse(readFileSync(join(ref.path, "eval-test.json"), "utf8")) as Array<
      Result & { checkpoint: string }
    >
    const pipeline = JSON.parse(readFileSync(join(out, "eval", "results.json"), "utf8")) as Array<
      Result & { checkpoint: string }
    >
    assert.deepStrictEqual(
      written.map((w) => w.mode),
      ["assisted", "autonomous"]
    )
    for (const w of written) {
      const { method, ...rest } = w
      assert.strictEqual(method, "sft")
      const p = pipeline.find((x) => x.checkpoint === ref.path && x.split === "test" && x.mode === w.mode)
      assert.isDefined(p)
      const { method: _, ...expected } = p as Result & { checkpoint: string }
      assert.deepStrictEqual(rest, expected)
    }
  })

  it("realm serve answers OpenAI-style requests for a run's method directory, feeds realm corpus build's HTTP teacher, and stops on Ctrl-C", async () => {
    const server = spawn(process.execPath, [bin, "serve", join(out, "sft"), "--port", "0"], { cwd: root })
    let stdout = ""
    let stderr = ""
    server.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => server.on("exit", (code) => resolve(code)))
    try {
      const baseUrl = await new Promise<string>((resolve, reject) => {
        server.stdout.on("data", (d: Buffer) => {
          stdout += d.toString()
          const m = /serving sft \(.*\) at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(stdout)
          if (m !== null) resolve(m[1]!)
        })
        void exited.then((code) => reject(new Error(`realm serve exited with ${code}: ${stderr}`)))
      })
      const ask = (body: Record<string, unknown>) =>
        fetch(`${baseUrl}/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "sft",
            messages: [{ role: "user", content: "A 2 kg parcel goes 10 km. Fee?" }],
            max_tokens: 8,
            ...body
          })
        })
      const plain = (await (await ask({ temperature: 0 })).json()) as {
        choices: Array<{ message: { content: string } }>
        usage: { completion_tokens: number }
      }
      assert.lengthOf(plain.choices, 1)
      assert.isAbove(plain.usage.completion_tokens, 0)
      const streamed = await (await ask({ temperature: 0, stream: true })).text()
      const pieces = streamed
        .split("\n\n")
        .filter((e) => e.startsWith("data: {"))
        .map((e) => JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content?: string } }> })
      assert.strictEqual(
        pieces.flatMap((p) => p.choices.map((c) => c.delta.content ?? "")).join(""),
        plain.choices[0]?.message.content
      )
      assert.isTrue(streamed.trimEnd().endsWith("data: [DONE]"))
      assert.strictEqual((await ask({ model: "other" })).status, 404)
      // The corpus builder's HTTP teacher, through the CLI, against the served model.
      const dir = mkdtempSync(join(tmpdir(), "realm-served-teacher-"))
      // Short prompts: the quick demo's model has a 768-token context, less than the parcel rulebook takes.
      writeFileSync(join(dir, "problems.jsonl"), Problems.jsonl(Problems.toyProblems(4)))
      writeFileSync(
        join(dir, "teacher.json"),
        JSON.stringify({ baseUrl, model: "sft", system: "Solve.", maxTokens: 32, maxRetries: 0, concurrency: 4 })
      )
      const built = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            bin,
            "corpus",
            "build",
            "--tasks",
            join(dir, "problems.jsonl"),
            "--teacher",
            "http",
            "--teacher-config",
            join(dir, "teacher.json"),
            "--out",
            join(dir, "run"),
            "--routes",
            "2",
            "--negatives",
            "0"
          ],
          { cwd: root }
        )
        let err = ""
        child.stderr.on("data", (d: Buffer) => (err += d.toString()))
        child.on("exit", (status) => resolve({ status, stderr: err }))
      })
      assertSucceeded(built)
      const summary = corpusSummary(join(dir, "run"))
      assert.strictEqual(summary.teacher, "openai:sft")
      assert.strictEqual(summary.records + summary.failed, 4)
      // Every request was answered (the server reports usage); the quick demo's model may write only blanks, which
      // the teacher records as malformed, never as an HTTP failure.
      assert.isAbove(summary.teacherMetrics.promptTokens, 0)
      const failures = existsSync(join(dir, "run", "corpus", "failures.jsonl"))
        ? readFileSync(join(dir, "run", "corpus", "failures.jsonl"), "utf8")
            .trim()
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as { reason: string })
        : []
      assert.deepStrictEqual(
        failures.filter((f) => f.reason !== "malformed"),
        []
      )
      const health = (await (await fetch(baseUrl.replace(/\/v1$/, "/health"))).json()) as { requests: number }
      assert.isAtLeast(health.requests, 2 + 4 * 2)
    } finally {
      server.kill("SIGINT")
    }
    assert.isNotNull(await exited)
    assert.notInclude(stderr, "realm: ")
  })

  it("realm eval in assisted mode without --routes exits 1 with a one-line error naming the flag", () => {
    const ref = JSON.parse(readFileSync(join(out, "sft", "result.json"), "utf8")) as { path: string }
    const r = realm("eval", ref.path, "--problems", join(out, "problems", "test.jsonl"), "--mode", "assisted")
    assert.strictEqual(r.status, 1)
    assert.include(r.stderr, "realm: EvalRoutesMissing: ")
    assert.include(r.stderr, "add --routes <corpus.jsonl>")
    assert.notInclude(r.stderr, "    at ")
  })
})
