import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { AnswerJudge, Curriculum, TaskSource, Teacher, Verifier } from "@realm-lm/core"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as CustomModule from "../src/CustomModule.ts"
import * as Resolve from "../src/Resolve.ts"
import { builtins } from "../src/Registry.ts"

/** Every built-in here needs only other slots and the platform, so the composed layer is closed. */
const closed = <A, E>(layer: Layer.Layer<A, E, unknown>) => layer as Layer.Layer<A, E>

describe("Registry", () => {
  it.effect(
    "the default built-ins compose: parcel tasks, answer judge, rule teacher, MRPV verifier, EAAI curriculum",
    () =>
      Effect.gen(function* () {
        const tasks = yield* TaskSource.TaskSource
        const [problem] = yield* Stream.runCollect(Stream.take(tasks.problems("train"), 1))
        assert.isDefined(problem)
        if (problem === undefined) return
        const teacher = yield* Teacher.Teacher
        const routes = yield* teacher.routes({ problem, count: 3, negatives: 1, seed: 1 })
        assert.strictEqual(routes.length, 3)
        const judge = yield* AnswerJudge.AnswerJudge
        assert.isTrue(judge.judge(problem, `Answer: ${problem.gold}`).correct)
        const curriculum = yield* Curriculum.Curriculum
        const [decision] = yield* curriculum.decide(0, [problem])
        assert.isDefined(decision)
        if (decision === undefined) return
        const verifier = yield* Verifier.Verifier
        const labelled = routes.map((r, i) => ({
          id: `r${i}`,
          steps: r.steps,
          answer: r.answer,
          source: "rule",
          label: judge.equivalent(problem, r.answer, problem.gold) ? ("positive" as const) : ("negative" as const)
        }))
        const example = yield* verifier.example({ problem, routes: labelled, decision })
        const reward = yield* verifier.score({
          problem,
          prompt: example.prompt,
          routes: labelled,
          completion: example.completion
        })
        assert.isTrue(reward.correct)
      }).pipe(
        Effect.provide(
          closed(
            Layer.mergeAll(
              CustomModule.toLayer(builtins.tasks.parcel!, {
                counts: { train: 4, validation: 1, test: 1, heldout: 1, transfer: 1 }
              }),
              CustomModule.toLayer(builtins.teacher.rule!, {}),
              CustomModule.toLayer(builtins.curriculum.eaai!, { schedule: { totalSteps: 100 } }),
              CustomModule.toLayer(builtins.verifier.mrpv!, {})
            ).pipe(
              Layer.provideMerge(CustomModule.toLayer(builtins.judge.answer!, {})),
              Layer.provide(NodeServices.layer)
            )
          )
        )
      )
  )

  it.effect("a built-in rejects bad settings with the field path before doing any work", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(closed(CustomModule.toLayer(builtins.tasks.parcel!, { levels: [9] }))).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "CustomStageInvalid")
      assert.include(error.message, "levels[0]: ")
      assert.match(error.message, /^built-in tasks implementation "@realm-lm\/tasks\/parcel": invalid settings/)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect(
    "a task source's data files are hashed by content, so editing one changes the problems stage's config",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "realm-datahash-"))
        const train = join(dir, "train.jsonl")
        writeFileSync(train, `${JSON.stringify({ q: "1 + 1?", a: "2" })}\n`)
        const choice = {
          use: "files",
          with: {
            name: "mine",
            files: { train, test: join(dir, "missing.jsonl") },
            mapping: { question: "q", gold: "a" }
          }
        }
        const first = yield* Resolve.dataHashes("tasks", choice, dir)
        assert.deepStrictEqual(
          first.map((h) => h.path),
          [train],
          "missing files are left to the loader's own error"
        )
        writeFileSync(train, `${JSON.stringify({ q: "1 + 1?", a: "3" })}\n`)
        const second = yield* Resolve.dataHashes("tasks", choice, dir)
        assert.notStrictEqual(second[0]?.sha256, first[0]?.sha256)
        assert.deepStrictEqual(
          yield* Resolve.dataHashes("tasks", { use: "parcel" }, dir),
          [],
          "generated domains read no files"
        )
        const bad = yield* Effect.flip(Resolve.dataHashes("tasks", { use: "files", with: { name: "mine" } }, dir))
        assert.match(bad.message, /^built-in tasks implementation "@realm-lm\/tasks\/files": invalid settings/)
      }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("relative paths in settings resolve against the config's directory, not the working directory", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "realm-paths-"))
      mkdirSync(join(dir, "sub", "data"), { recursive: true })
      writeFileSync(join(dir, "sub", "data", "train.jsonl"), `${JSON.stringify({ q: "1 + 1?", a: "2" })}\n`)
      const choice = {
        use: "files",
        with: { name: "mine", files: { train: "data/train.jsonl" }, mapping: { question: "q", gold: "a" } }
      }
      assert.notStrictEqual(process.cwd(), join(dir, "sub"))
      const problemsWith = (c: Resolve.Choice, baseDir: string) =>
        Effect.flatMap(Resolve.layer("tasks", c, baseDir), (layer) =>
          Effect.gen(function* () {
            const tasks = yield* TaskSource.TaskSource
            return yield* Stream.runCollect(tasks.problems("train"))
          }).pipe(Effect.provide(closed(layer)))
        )
      const fromConfig = yield* problemsWith(choice, join(dir, "sub"))
      assert.deepStrictEqual(
        fromConfig.map((p) => p.gold),
        ["2"]
      )
      // Settings read from their own file (`--tasks-config sub/tasks.yaml`) resolve against that file's directory.
      const fromSettingsFile = yield* problemsWith({ ...choice, settingsDir: join(dir, "sub") }, dir)
      assert.deepStrictEqual(
        fromSettingsFile.map((p) => p.gold),
        ["2"]
      )
      const wrongDir = yield* Effect.flip(problemsWith(choice, dir))
      assert.include(wrongDir.message, join(dir, "data", "train.jsonl"))
      // Data hashes follow the same rule and keep the path as written.
      const hashes = yield* Resolve.dataHashes("tasks", choice, join(dir, "sub"))
      assert.deepStrictEqual(
        hashes.map((h) => h.path),
        ["data/train.jsonl"]
      )
      // The benchmark directory and the local teacher's model are paths too.
      const resolveIn = (p: string) => join("/base", p)
      assert.deepStrictEqual(builtins.tasks.benchmark!.resolvePaths?.({ name: "gsm8k", dir: "bench" }, resolveIn), {
        name: "gsm8k",
        dir: "/base/bench"
      })
      assert.deepStrictEqual(builtins.teacher.local!.resolvePaths?.({ model: "models/t", temperature: 1 }, resolveIn), {
        model: "/base/models/t",
        temperature: 1
      })
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
