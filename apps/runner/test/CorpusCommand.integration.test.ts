import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Problems } from "@realm-lm/test-support"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

const bin = join(import.meta.dirname, "..", "src", "bin.ts")
const realm = (...args: Array<string>) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 })

describe("realm corpus build (spawned)", () => {
  const dir = mkdtempSync(join(tmpdir(), "realm-corpus-cli-"))
  const settings = join(dir, "parcel.yaml")
  writeFileSync(settings, "counts:\n  train: 40\n  validation: 2\n  test: 2\n  heldout: 2\n  transfer: 2\n")
  const out = join(dir, "run")
  /** `realm corpus build` of the parcel domain (40 train problems) into `runDir`, with more flags after. */
  const buildParcel = (runDir: string, ...flags: Array<string>) =>
    realm("corpus", "build", "--tasks", "parcel", "--tasks-config", settings, "--out", runDir, ...flags)

  it("builds a labelled corpus from the built-in domain, then resumes without rebuilding", () => {
    const first = buildParcel(out, "--routes", "3", "--negatives", "1")
    assert.notInclude(first.stderr, "Error")
    assert.strictEqual(first.status, 0)
    assert.match(first.stdout, /corpus complete: 40 problems \(40 built, 0 resumed\)/)
    const lines = readFileSync(join(out, "corpus", "corpus.jsonl"), "utf8")
      .trim()
      .split("\n")
    assert.lengthOf(lines, 40)
    const records = lines.map((l) => JSON.parse(l) as { routes: Array<{ label: string }> })
    // At most 3 routes each (near-duplicates are removed), with both labels across the corpus.
    assert.strictEqual(Math.max(...records.map((r) => r.routes.length)), 3)
    const labels = records.flatMap((r) => r.routes.map((route) => route.label))
    assert.include(labels, "positive")
    assert.include(labels, "negative")
    const again = buildParcel(out, "--routes", "3", "--negatives", "1")
    assert.strictEqual(again.status, 0)
    assert.match(again.stdout, /\(0 built, 40 resumed\)/)
  })

  it("names the available teachers when an unknown one is asked for", () => {
    const r = buildParcel(join(dir, "other"), "--teacher", "oracle")
    assert.strictEqual(r.status, 1)
    assert.include(r.stderr, 'no built-in teacher named "oracle"')
    assert.include(r.stderr, "rule, http")
  })

  it("rejects a teacher config with an unknown key before any request, naming the key it resembles", () => {
    const teacher = join(dir, "teacher.yaml")
    writeFileSync(teacher, "baseUrl: http://127.0.0.1:9/v1\nmodel: m\napiKey: sk-secret\n")
    const r = buildParcel(join(dir, "http"), "--teacher", "http", "--teacher-config", teacher)
    assert.strictEqual(r.status, 1)
    assert.include(r.stderr, 'apiKey: unknown key "apiKey"; did you mean "apiKeyEnv"?')
  })
})

describe("realm corpus build fails loudly (spawned)", () => {
  const dir = mkdtempSync(join(tmpdir(), "realm-corpus-fail-"))
  const problems = join(dir, "problems.jsonl")
  const toy = Problems.toyProblems(5)
  writeFileSync(problems, Problems.jsonl(toy))
  let requests = 0
  /** An OpenAI-compatible endpoint that refuses every key. */
  const server = createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      requests++
      res
        .writeHead(401, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: "Incorrect API key provided" } }))
    })
  })
  let baseUrl = ""
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const address = server.address()
    baseUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/v1`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  /** Spawned without blocking this process, which serves the endpoint. */
  const realmAsync = (...args: Array<string>) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, REALM_TEST_KEY: "sk-wrong" } })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
      child.on("close", (status) => resolve({ status, stdout, stderr }))
    })
  let configs = 0
  /** `realm corpus build` of the toy problems into `out` with the HTTP teacher and these teacher settings. */
  const buildHttp = (settings: Record<string, unknown>, out: string) => {
    const path = join(dir, `teacher-${configs++}.json`)
    writeFileSync(path, JSON.stringify(settings))
    return realmAsync(
      "corpus",
      "build",
      "--tasks",
      problems,
      "--teacher",
      "http",
      "--teacher-config",
      path,
      "--out",
      out
    )
  }

  it("every request refused (wrong key): exits 1 with the cause, and the manifest and summary say failed", async () => {
    const out = join(dir, "unauthorized")
    const r = await buildHttp({ baseUrl, model: "m", apiKeyEnv: "REALM_TEST_KEY", maxRetries: 0 }, out)
    assert.strictEqual(r.status, 1)
    assert.include(r.stdout, "corpus failed: 0 problems")
    assert.match(
      r.stderr,
      /CorpusIncomplete: corpus build failed: 5 of 5 problems failed \(unavailable 5\); first: toy\/\d: unavailable: HTTP 401: check the key in REALM_TEST_KEY: Incorrect API key provided/
    )
    assert.include(r.stderr, "maxFailedFraction")
    assert.notInclude(r.stderr, "sk-wrong")
    const manifest = JSON.parse(readFileSync(join(out, "corpus", "manifest.json"), "utf8")) as { status: string }
    assert.strictEqual(manifest.status, "failed")
    const summary = JSON.parse(readFileSync(join(out, "corpus", "summary.json"), "utf8")) as {
      status: string
      failed: number
    }
    assert.deepInclude(summary, { status: "failed", failed: 5 })
  })

  it("a baseUrl with credentials or a query string is refused before any request, saying what to do", async () => {
    const before = requests
    const credentials = await buildHttp(
      { baseUrl: baseUrl.replace("http://", "http://user:pw-3c1d@"), model: "m" },
      join(dir, "credentials")
    )
    assert.strictEqual(credentials.status, 1)
    assert.include(credentials.stderr, "baseUrl: must not carry credentials")
    assert.include(credentials.stderr, "apiKeyEnv")
    assert.notInclude(credentials.stderr, "pw-3c1d")
    const query = await buildHttp({ baseUrl: `${baseUrl}?api-version=2024`, model: "m" }, join(dir, "query"))
    assert.strictEqual(query.status, 1)
    assert.include(query.stderr, "baseUrl: must not have a query string (?...): remove it")
    assert.strictEqual(requests, before)
    assert.isFalse(existsSync(join(dir, "credentials")))
  })

  it("--policy strict: a bad problems line exits 1 naming file and line, and writes nothing", () => {
    const bad = join(dir, "bad.jsonl")
    writeFileSync(
      bad,
      `${JSON.stringify(toy[0])}\n${JSON.stringify(toy[1])}\n{"id": "torn\n${JSON.stringify(toy[2])}\n`
    )
    const out = join(dir, "strict")
    const r = realm("corpus", "build", "--tasks", bad, "--out", out, "--policy", "strict")
    assert.strictEqual(r.status, 1)
    assert.match(r.stderr, /bad\.jsonl:3: invalid JSON/)
    assert.isFalse(existsSync(out))
  })
})
