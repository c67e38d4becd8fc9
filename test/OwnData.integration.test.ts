/**
 * The README's "Your own model, data and teacher" walk-through, run as written: the shell lines between
 * `<!-- commands:walkthrough -->` markers are executed in order in a folder holding a user's own JSONL files (plain
 * `question`/`answer` fields), `my-tasks.yaml`, a tiny model directory, a `teacher.yaml` pointing at a loopback
 * OpenAI-compatible teacher, and a tiny `train.yaml`; `realm serve` gets `--port 0` and answers one request.
 */
import { spawn } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

const root = join(import.meta.dirname, "..")
const bin = join(root, "apps", "runner", "src", "bin.ts")

/** The walk-through's command lines, comments stripped, `./realm` arguments split on spaces. */
const walkthrough = (): Array<Array<string>> => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const block = /<!-- commands:walkthrough -->\n```sh\n([\s\S]*?)```\n<!-- \/commands:walkthrough -->/.exec(readme)?.[1]
  if (block === undefined) throw new Error("README.md has no <!-- commands:walkthrough --> block")
  return block
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l.startsWith("./realm "))
    .map((l) => l.split(/\s+/).slice(1))
}

/** The README's example files (the YAML block holding `# my-tasks.yaml`, `# teacher.yaml` and `# train.yaml`). */
const exampleFiles = (): Record<string, string> => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const block = /```yaml\n(# my-tasks\.yaml[\s\S]*?)```/.exec(readme)?.[1] ?? ""
  return Object.fromEntries(block.split("\n---\n").map((doc) => [/^# ([\w.-]+)/.exec(doc)?.[1] ?? "", doc]))
}

const realm = (cwd: string, args: ReadonlyArray<string>) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

/** A user's own records: sums with plain field names. */
const rows = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => ({
    question: `What is ${i + offset} plus ${(i * 3) % 7}?`,
    answer: String(i + offset + ((i * 3) % 7))
  }))

/** An OpenAI-compatible teacher: a correct route, or (for one seed in three) a wrong one, for "What is A plus B?". */
const teacher = createServer((req, res) => {
  let text = ""
  req.on("data", (d: Buffer) => (text += d.toString()))
  req.on("end", () => {
    const body = JSON.parse(text) as { messages: Array<{ role: string; content: string }>; n?: number; seed?: number }
    const asked = body.messages.map((m) => m.content).join("\n")
    const [, a = "0", b = "0"] = /What is (\d+) plus (\d+)\?/.exec(asked) ?? []
    const sum = Number(a) + Number(b) + ((body.seed ?? 0) % 3 === 0 ? 1 : 0)
    const content = `Step 1: ${a} + ${b} = ${sum}\nAnswer: ${sum}`
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        choices: Array.from({ length: body.n ?? 1 }, (_, index) => ({
          index,
          message: { role: "assistant", content },
          finish_reason: "stop"
        })),
        usage: { prompt_tokens: 50, completion_tokens: 12 }
      })
    )
  })
})

describe("README walk-through: your own data, model and teacher", () => {
  const dir = mkdtempSync(join(tmpdir(), "realm-own-data-"))
  const project = join(dir, "project")
  beforeAll(async () => {
    await new Promise<void>((resolve) => teacher.listen(0, "127.0.0.1", resolve))
    const address = teacher.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    // A tiny model whose tokenizer knows these texts: the base model of the path-rule fixture's from-scratch run.
    const setup = join(dir, "setup")
    cpSync(join(import.meta.dirname, "fixtures", "path-rule"), setup, { recursive: true })
    const made = await realm(setup, ["run", "pipeline.yaml"])
    if (made.status !== 0) throw new Error(`setup run failed: ${made.stderr}`)
    mkdirSync(join(project, "data"), { recursive: true })
    cpSync(join(setup, "out", "path-rule", "base", "model"), join(project, "models", "my-model"), { recursive: true })
    writeFileSync(
      join(project, "data", "train.jsonl"),
      rows(24, 1)
        .map((r) => `${JSON.stringify(r)}\n`)
        .join("")
    )
    writeFileSync(
      join(project, "data", "test.jsonl"),
      rows(4, 40)
        .map((r) => `${JSON.stringify(r)}\n`)
        .join("")
    )
    const examples = exampleFiles()
    assert.deepStrictEqual(Object.keys(examples), ["my-tasks.yaml", "teacher.yaml", "train.yaml"])
    // The README's own tasks config, verbatim; its train.yaml is checked below, the test trains with a tiny one.
    writeFileSync(join(project, "my-tasks.yaml"), examples["my-tasks.yaml"]!)
    writeFileSync(join(project, "readme-train.yaml"), examples["train.yaml"]!)
    writeFileSync(
      join(project, "teacher.yaml"),
      `baseUrl: http://127.0.0.1:${port}/v1\nmodel: my-teacher\nmaxRetries: 0\n`
    )
    writeFileSync(
      join(project, "train.yaml"),
      [
        "trainer:",
        "  use: onnx",
        "  with:",
        "    generation: { maxNewTokens: 16, maxPromptTokens: 400 }",
        "    batching: { buckets: [64, 128, 256, 448], microBatch: 16 }",
        "    checkpoint: { every: 0, onnx: never }",
        "    log: { tensorboard: false }",
        "    sft: { steps: 3, batchSize: 8, evalEvery: 0 }",
        "    rl: { steps: 2, batchSize: 4, groupSize: 2 }",
        "evaluator: { use: default, with: { samples: 1, maxNewTokens: 16 } }"
      ].join("\n") + "\n"
    )
  }, 300_000)
  afterAll(() => new Promise<void>((resolve) => teacher.close(() => resolve())))

  it("the README's train.yaml is a valid pipeline config", async () => {
    const checked = await realm(project, ["config", "check", "readme-train.yaml"])
    assert.strictEqual(checked.stderr, "")
    assert.strictEqual(checked.status, 0)
  })

  it("every command of the README block runs as written, from data to a served model", async () => {
    const commands = walkthrough()
    assert.deepStrictEqual(
      commands.map((c) => c.slice(0, 2).join(" ")),
      [
        "problems my-tasks.yaml",
        "corpus build",
        "train sft",
        "train rl",
        "problems my-tasks.yaml",
        "corpus build",
        "eval runs/mine/rl/final",
        "serve runs/mine/rl/final"
      ]
    )
    for (const args of commands.slice(0, -1)) {
      const r = await realm(project, args)
      assert.notInclude(r.stderr, "realm: ", `realm ${args.join(" ")}`)
      assert.strictEqual(r.status, 0, `realm ${args.join(" ")}`)
    }
    const corpus = JSON.parse(readFileSync(join(project, "runs", "mine", "corpus", "summary.json"), "utf8")) as {
      records: number
      positives: number
      negatives: number
    }
    assert.strictEqual(corpus.records, 24)
    assert.isAbove(corpus.positives, 0)
    const results = JSON.parse(
      readFileSync(join(project, "runs", "mine", "rl", "final", "eval-test.json"), "utf8")
    ) as Array<{ mode: string; split: string }>
    assert.deepStrictEqual(
      results.map((r) => `${r.split} ${r.mode}`),
      ["test assisted", "test autonomous"]
    )

    const serve = commands.at(-1) as Array<string>
    const server = spawn(process.execPath, [bin, ...serve, "--port", "0"], { cwd: project })
    let stdout = ""
    let stderr = ""
    server.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => server.on("exit", (code) => resolve(code)))
    try {
      const [model, baseUrl] = await new Promise<[string, string]>((resolve, reject) => {
        server.stdout.on("data", (d: Buffer) => {
          stdout += d.toString()
          const m = /serving (\S+) \(.*\) at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(stdout)
          if (m !== null) resolve([m[1]!, m[2]!])
        })
        void exited.then((code) => reject(new Error(`realm serve exited with ${code}: ${stderr}`)))
      })
      const reply = await fetch(`${baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model,
          messages: [{ role: "user", content: "What is 2 plus 3?" }],
          max_tokens: 8,
          temperature: 0
        })
      })
      assert.strictEqual(reply.status, 200)
      const answer = (await reply.json()) as {
        choices: Array<{ message: { content: string } }>
        usage: { completion_tokens: number }
      }
      assert.lengthOf(answer.choices, 1)
      assert.isAbove(answer.usage.completion_tokens, 0)
    } finally {
      server.kill("SIGINT")
    }
    assert.isNotNull(await exited)
    assert.notInclude(stderr, "realm: ")
  })
})
