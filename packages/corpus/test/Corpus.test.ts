import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { Teacher } from "@realm-lm/core"
import { Jsonl, RunDir } from "@realm-lm/core/node"
import type { CorpusRecord, Problem } from "@realm-lm/core"
import { FileSystems } from "@realm-lm/test-support"
import { Effect, Exit, Layer, Path, Stream } from "effect"
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import * as Corpus from "../src/Corpus.ts"
import * as Input from "../src/Input.ts"
import type { Progress } from "../src/Progress.ts"
import * as RuleTeacher from "../src/RuleTeacher.ts"
import { fixtureProblems, judgeLayer } from "./support.ts"

const roots: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "realm-corpus-"))
  roots.push(dir)
  return dir
}
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })))

const env = (teacher: Teacher.Teacher["Service"]) =>
  Layer.mergeAll(NodeServices.layer, judgeLayer, Layer.succeed(Teacher.Teacher, teacher))

const run = (
  config: Corpus.CorpusConfig,
  problems: ReadonlyArray<Problem.Problem>,
  teacher = RuleTeacher.make(),
  onProgress?: (p: Progress) => Effect.Effect<void>
) =>
  Corpus.build(config, {
    problems: Stream.fromIterable(problems),
    total: problems.length,
    ...(onProgress === undefined ? {} : { onProgress })
  }).pipe(Effect.provide(env(teacher)))

const records = (runDir: string) =>
  readFileSync(join(runDir, "corpus", "corpus.jsonl"), "utf8")
    .trim()
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as CorpusRecord.CorpusRecord)

const config = (runDir: string, extra: Partial<Corpus.CorpusConfig> = {}) =>
  Effect.runSync(Corpus.decodeConfig({ runDir, routesPerProblem: 4, negativesPerProblem: 2, ...extra }))

/** A teacher that writes the same correct route `copies` times and, when `wrong`, one wrong route. */
const fixedTeacher = (copies: number, wrong: boolean): Teacher.Teacher["Service"] =>
  Teacher.Teacher.of({
    name: "fixed",
    routes: ({ problem }) =>
      Effect.succeed([
        ...Array.from({ length: copies }, () => ({ steps: problem.goldSteps ?? [], answer: problem.gold })),
        ...(wrong ? [{ steps: ["guess = 1"], answer: String(Number(problem.gold) + 1) }] : [])
      ])
  })

describe("Corpus.build", () => {
  it.effect("labels K routes per problem against gold, with decisive steps, SFT view, summary and manifest", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const seen: Array<Progress> = []
      const summary = yield* run(config(runDir), fixtureProblems, RuleTeacher.make(), (p) =>
        Effect.sync(() => void seen.push(p))
      )
      const out = records(runDir)
      assert.strictEqual(out.length, fixtureProblems.length)
      assert.deepStrictEqual(new Set(out.map((r) => r.problem.id)), new Set(fixtureProblems.map((p) => p.id)))
      for (const record of out) {
        // 2 wrong routes and 2 distinct correct ones, fewer only when the solution has a single valid order.
        const blocks = new Map<number, number>()
        for (const step of (record.problem.metadata.program as { steps: Array<{ block?: number }> }).steps) {
          if (step.block !== undefined) blocks.set(step.block, (blocks.get(step.block) ?? 0) + 1)
        }
        const orders = [...blocks.values()].reduce((n, size) => n * (size > 1 ? size : 1), 1)
        assert.strictEqual(
          record.routes.filter((r) => r.label === "positive").length,
          Math.min(2, orders),
          record.problem.id
        )
        assert.strictEqual(record.routes.filter((r) => r.label === "negative").length, 2, record.problem.id)
        for (const route of record.routes) {
          assert.strictEqual(route.label === "positive", Number(route.answer) === Number(record.problem.gold))
          if (route.label === "negative")
            assert.isTrue(route.decisiveStep !== undefined && route.decisiveStep < route.steps.length)
        }
        assert.isTrue(
          record.routes.some((r) => r.label === "positive") && record.routes.some((r) => r.label === "negative")
        )
      }
      assert.strictEqual(summary.status, "complete")
      assert.strictEqual(summary.records, fixtureProblems.length)
      assert.strictEqual(summary.positives + summary.negatives, summary.routes)
      assert.strictEqual(summary.decisive.teacher, summary.negatives)
      const sft = readFileSync(join(runDir, "corpus", "sft.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as CorpusRecord.SftExample)
      assert.strictEqual(sft.length, fixtureProblems.length)
      const first = sft.find((s) => s.problemId === "parcel/train/1")
      assert.strictEqual(first?.prompt, fixtureProblems[1]?.question)
      assert.match(first?.completion ?? "", /^Step 1: base zone .*\nAnswer: \d+$/s)
      assert.notInclude(first?.prompt ?? "", "R1") // rules-free
      const manifest = yield* RunDir.readManifest(runDir, "corpus")
      assert.strictEqual(manifest?.status, "complete")
      assert.deepStrictEqual(manifest?.outputs.map((o) => o.path).slice(0, 3), [
        "corpus.jsonl",
        "sft.jsonl",
        "summary.json"
      ])
      yield* RunDir.verify(runDir, manifest!)
      assert.strictEqual(seen.at(-1)?.done, fixtureProblems.length)
      assert.strictEqual(seen.at(-1)?.positives, summary.positives)
      assert.isTrue(seen.every((p, i) => i === 0 || p.done >= seen[i - 1]!.done))
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("re-running skips finished problems, and the corpus stays the same", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      yield* run(config(runDir, { concurrency: 1 }), fixtureProblems)
      const before = readFileSync(join(runDir, "corpus", "corpus.jsonl"), "utf8")
      const again = yield* run(config(runDir, { concurrency: 3 }), fixtureProblems)
      assert.strictEqual(again.resumed, fixtureProblems.length)
      assert.strictEqual(again.built, 0)
      assert.strictEqual(readFileSync(join(runDir, "corpus", "corpus.jsonl"), "utf8"), before)
    })
  )

  it.effect("cuts a torn final line and rebuilds that problem", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const ten = fixtureProblems.slice(0, 10)
      yield* run(config(runDir, { concurrency: 1 }), ten)
      const path = join(runDir, "corpus", "corpus.jsonl")
      const full = readFileSync(path, "utf8")
      const lines = full.trim().split("\n")
      writeFileSync(path, lines.slice(0, 7).join("\n") + "\n")
      appendFileSync(path, lines[7]!.slice(0, 50)) // a writer killed mid-line
      const resumed = yield* run(config(runDir, { concurrency: 1 }), ten)
      assert.strictEqual(resumed.resumed, 7)
      assert.strictEqual(resumed.built, 3)
      assert.strictEqual(readFileSync(path, "utf8"), full)
    })
  )

  it.effect("refuses to resume with other content settings or other input problems", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const ten = fixtureProblems.slice(0, 10)
      yield* run(config(runDir, { concurrency: 1 }), ten)
      const error = yield* Effect.flip(run(config(runDir, { routesPerProblem: 5 }), ten))
      assert.strictEqual(error._tag, "ResumeMismatch")
      // Other input problems (a changed problems file) are refused too, instead of being appended.
      const freshInputs = freshDir()
      const withInputs = (sha: string) =>
        Corpus.build(config(freshInputs, { concurrency: 1 }), {
          problems: Stream.fromIterable(ten),
          total: ten.length,
          inputs: [{ path: "problems.jsonl", sha256: sha.repeat(64), bytes: 1 }]
        }).pipe(Effect.provide(env(RuleTeacher.make())))
      yield* withInputs("a")
      assert.strictEqual((yield* withInputs("a")).resumed, 10)
      const changed = yield* Effect.flip(withInputs("b"))
      assert.strictEqual(changed._tag, "ResumeMismatch")
      assert.match(changed.message, /other problems or settings/)
    })
  )

  it.effect("counts duplicate input ids once and deduplicates identical routes", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const five = fixtureProblems.slice(0, 5)
      const summary = yield* run(
        config(runDir, { balanceAttempts: 0 }),
        [...five, ...five.slice(0, 2)],
        fixedTeacher(3, true)
      )
      assert.strictEqual(summary.records, 5)
      assert.strictEqual(summary.duplicates, 2)
      assert.strictEqual(summary.deduplicated, 10) // 3 identical correct routes -> 1, per problem
      for (const r of records(runDir)) {
        assert.strictEqual(r.routes.length, 2)
        const negative = r.routes.find((x) => x.label === "negative")
        assert.strictEqual(negative?.decisiveStep, 0) // by alignment against the gold steps
      }
      assert.strictEqual(summary.decisive.alignment, 5)
    })
  )

  it.effect(
    "balance: unbalanced problems are kept and counted, or dropped (and not retried) with onUnbalanced=drop",
    () =>
      Effect.gen(function* () {
        const five = fixtureProblems.slice(0, 5)
        const kept = yield* run(config(freshDir()), five, fixedTeacher(1, false))
        assert.strictEqual(kept.unbalanced, 5)
        assert.strictEqual(kept.records, 5)
        const runDir = freshDir()
        const dropped = yield* run(config(runDir, { onUnbalanced: "drop" }), five, fixedTeacher(1, false))
        assert.strictEqual(dropped.dropped, 5)
        assert.strictEqual(dropped.records, 0)
        const rerun = yield* run(config(runDir, { onUnbalanced: "drop" }), five, fixedTeacher(1, false))
        assert.strictEqual(rerun.resumed, 5)
        assert.strictEqual(rerun.dropped, 0)
      })
  )

  it.effect("records teacher failures without stopping, and a later run completes them", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const ten = fixtureProblems.slice(0, 10)
      const first = yield* run(config(runDir), ten, flakyTeacher)
      assert.strictEqual(first.failed, 2)
      assert.strictEqual(first.records, 8)
      // By default any failed problem fails the build (maxFailedFraction 0).
      assert.strictEqual(first.status, "failed")
      assert.deepStrictEqual(first.failedByReason, { server: 2 })
      const failures = yield* Stream.runCollect(Jsonl.read(join(runDir, "corpus", "failures.jsonl"), Corpus.Failure))
      assert.deepStrictEqual(
        failures.map((f) => f.reason),
        ["server", "server"]
      )
      const second = yield* run(config(runDir), ten)
      assert.strictEqual(second.built, 2)
      assert.strictEqual(second.records, 10)
      assert.strictEqual(second.status, "complete")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a bad input line fails the build with file and line, and marks the manifest failed", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const input = join(runDir, "problems.jsonl")
      writeFileSync(input, `${JSON.stringify(fixtureProblems[0])}\n{oops\n${JSON.stringify(fixtureProblems[1])}\n`)
      const error = yield* Effect.flip(
        Corpus.build(config(runDir), { problems: Input.readProblems(input, "strict") }).pipe(
          Effect.provide(env(RuleTeacher.make()))
        )
      )
      assert.strictEqual(error._tag, "MalformedLine")
      assert.match(error.message, /problems\.jsonl:2: invalid JSON/)
      const manifest = yield* RunDir.readManifest(runDir, "corpus")
      assert.strictEqual(manifest?.status, "failed")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it("rejects inconsistent configs with the field path", () => {
    assert.throws(
      () => Effect.runSync(Corpus.decodeConfig({ runDir: "x", routesPerProblem: 2, negativesPerProblem: 3 })),
      /negativesPerProblem/
    )
    assert.throws(
      () => Effect.runSync(Corpus.decodeConfig({ runDir: "x", routesPerProblem: 2, minPositives: 2, minNegatives: 1 })),
      /minNegatives/
    )
    assert.throws(() => Effect.runSync(Corpus.decodeConfig({ runDir: "x", dedupThreshold: 0 })), /dedupThreshold/)
  })
})

/** A teacher whose every request fails, as an endpoint answering 401 to a wrong key makes the HTTP teacher fail. */
const unauthorized = Teacher.Teacher.of({
  name: "rule-teacher",
  routes: (request) =>
    Effect.fail(
      new Teacher.TeacherError({
        teacher: "rule-teacher",
        problemId: request.problem.id,
        reason: "unavailable",
        detail: "HTTP 401: check the key in OPENAI_API_KEY (after 1 attempt)"
      })
    )
})

/** The rule teacher, failing on problems whose id ends in /3 or /4. */
const flakyTeacher = Teacher.Teacher.of({
  name: "rule-teacher",
  routes: (request) =>
    request.problem.id.endsWith("/3") || request.problem.id.endsWith("/4")
      ? Effect.fail(
          new Teacher.TeacherError({
            teacher: "rule-teacher",
            problemId: request.problem.id,
            reason: "server",
            detail: "HTTP 500"
          })
        )
      : RuleTeacher.make().routes(request)
})

const dead = 2_147_483_646 // no process has this id

describe("Corpus.build: problems in flight", () => {
  /** A teacher that records how many of its calls overlap (each takes 20 ms of live time). */
  const overlapping = (concurrency: number | undefined) => {
    let now = 0
    const seen = { max: 0 }
    const teacher = Teacher.Teacher.of({
      name: "slow",
      ...(concurrency === undefined ? {} : { concurrency }),
      routes: ({ problem }) =>
        Effect.acquireUseRelease(
          Effect.sync(() => void (seen.max = Math.max(seen.max, ++now))),
          () => Effect.as(Effect.sleep("20 millis"), [{ steps: ["s"], answer: problem.gold }]),
          () => Effect.sync(() => void now--)
        )
    })
    return { teacher, seen }
  }
  const problems = fixtureProblems.slice(0, 8)
  const settings = { routesPerProblem: 1, negativesPerProblem: 0, minNegatives: 0, balanceAttempts: 0 }

  it.live("keeps the teacher's concurrency in flight unless the config sets one; 4 without either", () =>
    Effect.gen(function* () {
      const asked = overlapping(6)
      yield* run(config(freshDir(), settings), problems, asked.teacher)
      assert.strictEqual(asked.seen.max, 6)
      const configured = overlapping(6)
      yield* run(config(freshDir(), { ...settings, concurrency: 2 }), problems, configured.teacher)
      assert.strictEqual(configured.seen.max, 2)
      const neither = overlapping(undefined)
      yield* run(config(freshDir(), settings), problems, neither.teacher)
      assert.strictEqual(neither.seen.max, Corpus.defaultConcurrency)
    })
  )
})

describe("Corpus.build: a corpus unfit for training says so", () => {
  it.effect("no positive route: the build completes with a warning in the summary, summary.json and manifest", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const wrongOnly = Teacher.Teacher.of({
        name: "wrong",
        routes: ({ problem }) => Effect.succeed([{ steps: ["guess = 1"], answer: String(Number(problem.gold) + 1) }])
      })
      const problems = fixtureProblems.slice(0, 3)
      const summary = yield* run(
        config(runDir, { routesPerProblem: 1, negativesPerProblem: 0, minPositives: 0, minNegatives: 1 }),
        problems,
        wrongOnly
      )
      assert.strictEqual(summary.status, "complete")
      assert.strictEqual(summary.positives, 0)
      assert.strictEqual(summary.warnings.length, 1)
      assert.include(
        summary.warnings[0],
        "the corpus has no positive routes: none of its 3 routes over 3 problems reached the gold answer"
      )
      assert.include(summary.warnings[0], join(runDir, "corpus", "corpus.jsonl"))
      const written = JSON.parse(readFileSync(join(runDir, "corpus", "summary.json"), "utf8")) as {
        warnings: Array<string>
      }
      assert.deepStrictEqual(written.warnings, summary.warnings)
      const manifest = yield* RunDir.readManifest(runDir, "corpus")
      assert.deepStrictEqual(
        (manifest?.summary as { warnings?: Array<string> } | undefined)?.warnings,
        summary.warnings
      )
      // A corpus with positives has no warning.
      const good = yield* run(config(freshDir()), problems)
      assert.deepStrictEqual(good.warnings, [])
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("Corpus.build: failures are not success", () => {
  it.effect(
    "a build whose every request failed (a wrong key) is failed, not complete, in summary, summary.json and manifest; a re-run retries the problems",
    () =>
      Effect.gen(function* () {
        const runDir = freshDir()
        const five = fixtureProblems.slice(0, 5)
        const summary = yield* run(config(runDir), five, unauthorized)
        assert.strictEqual(summary.status, "failed")
        assert.strictEqual(summary.failed, 5)
        assert.strictEqual(summary.records, 0)
        assert.deepStrictEqual(summary.failedByReason, { unavailable: 5 })
        assert.match(summary.firstFailure ?? "", /HTTP 401: check the key in OPENAI_API_KEY/)
        const onDisk = JSON.parse(readFileSync(join(runDir, "corpus", "summary.json"), "utf8")) as { status: string }
        assert.strictEqual(onDisk.status, "failed")
        const manifest = yield* RunDir.readManifest(runDir, "corpus")
        assert.strictEqual(manifest?.status, "failed")
        yield* RunDir.verify(runDir, manifest!)
        const refused = yield* Effect.flip(Corpus.requireComplete(summary, join(runDir, "corpus")))
        assert.strictEqual(refused._tag, "CorpusIncomplete")
        assert.match(
          refused.message,
          /^corpus build failed: 5 of 5 problems failed \(unavailable 5\); first: parcel\/train\/\d+: unavailable: HTTP 401/
        )
        assert.include(refused.message, `${join(runDir, "corpus")}/failures.jsonl`)
        assert.include(refused.message, "maxFailedFraction")
        // Failed problems are not done: the next run (key fixed) builds them.
        const again = yield* run(config(runDir), five)
        assert.strictEqual(again.status, "complete")
        assert.strictEqual(again.built, 5)
        assert.strictEqual(again.failed, 0)
        assert.strictEqual((yield* RunDir.readManifest(runDir, "corpus"))?.status, "complete")
        assert.strictEqual(yield* Corpus.requireComplete(again, join(runDir, "corpus")), again)
      }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("maxFailedFraction: failures up to that share still complete; it is not part of the resume check", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const ten = fixtureProblems.slice(0, 10)
      const tolerant = yield* run(config(runDir, { maxFailedFraction: 0.2 }), ten, flakyTeacher)
      assert.strictEqual(tolerant.failed, 2)
      assert.strictEqual(tolerant.status, "complete")
      const strict = yield* run(config(runDir, { maxFailedFraction: 0.1 }), ten, flakyTeacher)
      assert.strictEqual(strict.resumed, 8)
      assert.strictEqual(strict.failed, 2)
      assert.strictEqual(strict.status, "failed")
      assert.throws(() => config(runDir, { maxFailedFraction: 1.5 }), /maxFailedFraction/)
    })
  )

  it.effect("a teacher defect leaves the manifest failed, not running", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const buggy = Teacher.Teacher.of({ name: "rule-teacher", routes: () => Effect.die(new Error("teacher bug")) })
      const exit = yield* Effect.exit(run(config(runDir), fixtureProblems.slice(0, 3), buggy))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual((yield* RunDir.readManifest(runDir, "corpus"))?.status, "failed")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a full disk names corpus.jsonl and ENOSPC, marks the manifest failed and leaves no temporary file", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const error = yield* Effect.flip(
        Corpus.build(config(runDir), { problems: Stream.fromIterable(fixtureProblems.slice(0, 3)) }).pipe(
          Effect.provide(
            Layer.mergeAll(
              FileSystems.diskFull(/corpus\.jsonl$/),
              Path.layer,
              judgeLayer,
              Layer.succeed(Teacher.Teacher, RuleTeacher.make())
            )
          )
        )
      )
      assert.strictEqual(error._tag, "PlatformError")
      assert.include(error.message, `(${join(runDir, "corpus", "corpus.jsonl")}): no space left on device (ENOSPC)`)
      assert.strictEqual((yield* RunDir.readManifest(runDir, "corpus"))?.status, "failed")
      assert.deepStrictEqual(
        readdirSync(join(runDir, "corpus")).filter((f) => f.includes(".tmp-")),
        []
      )
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("temporary files a killed run left are removed by the next (resumed) run", () =>
    Effect.gen(function* () {
      const runDir = freshDir()
      const five = fixtureProblems.slice(0, 5)
      yield* run(config(runDir), five)
      const dir = join(runDir, "corpus")
      const leftovers = [`summary.json.tmp-${dead}-k1ll3d`, `sft.jsonl.tmp-${dead}`, `manifest.json.tmp-${dead}-x0x0x0`]
      for (const name of leftovers) writeFileSync(join(dir, name), '{"half": ')
      const resumed = yield* run(config(runDir), five)
      assert.strictEqual(resumed.resumed, 5)
      assert.strictEqual(resumed.status, "complete")
      assert.deepStrictEqual(
        readdirSync(dir).filter((f) => f.includes(".tmp-")),
        []
      )
    })
  )
})
