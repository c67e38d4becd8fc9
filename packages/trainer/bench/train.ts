/**
 * Trainer throughput on the CPU for two from-scratch model sizes, on synthetic parcel-fee texts shaped like the
 * built-in domain (short questions, 3-6 step routes): SFT tokens/s, then RL step time split into rollout
 * (generation), scoring (verifier + log-prob passes) and update, with route-less prompts and with 3-route
 * MRPV-style prompts. Prints a table and writes JSON to bench/results/.
 *
 *   node packages/trainer/bench/train.ts [--quick] [--threads N]
 */
import { NodeServices } from "@effect/platform-node"
import { Rng, Verifier } from "@realm-lm/core"
import type { CorpusRecord, Problem, Route } from "@realm-lm/core"
import { Effect, Layer } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import * as FixedCurriculum from "../src/FixedCurriculum.ts"
import * as Metrics from "../src/Metrics.ts"
import * as Rl from "../src/Rl.ts"
import * as Scratch from "../src/Scratch.ts"
import * as Sft from "../src/Sft.ts"
import * as TrainerConfig from "../src/TrainerConfig.ts"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const threads = Number(args[args.indexOf("--threads") + 1] ?? 0) || 2

/** A parcel-like problem with consistent arithmetic (not the real tariff). */
const problem = (rng: Rng.Rng, i: number): { problem: Problem.Problem; routes: Array<Route.Route> } => {
  const zone = rng.pick(["A", "B", "C", "D"])
  const kg = rng.intBetween(1, 12)
  const options = rng.shuffle(["fragile", "express", "member", "remote", "insured"]).slice(0, rng.intBetween(0, 3))
  const steps: Array<string> = []
  let fee = { A: 8, B: 12, C: 15, D: 20 }[zone] as number
  steps.push(`base zone ${zone} = ${fee}`)
  const w = kg > 5 ? 8 : kg > 2 ? 4 : 0
  fee += w
  steps.push(`weight ${kg}kg +${w} = ${fee}`)
  for (const o of options) {
    const add = o === "member" ? -Math.floor(fee / 10) : o === "express" ? 10 : o === "remote" ? 6 : 5
    fee += add
    steps.push(`${o} ${add >= 0 ? "+" : ""}${add} = ${fee}`)
  }
  const question = `Parcel: zone ${zone}, ${kg}kg${options.map((o) => `, ${o}`).join("")}. Fee?`
  const wrong = steps.map((s, k) => (k === 1 ? s.replace(/= \d+$/, `= ${fee + 3}`) : s))
  return {
    problem: {
      id: `bench/${i}`,
      domain: "parcel-bench",
      question,
      gold: String(fee),
      answerType: "number",
      difficulty: 2,
      split: "train",
      metadata: {}
    },
    routes: [
      { id: `${i}/p`, steps, answer: String(fee), source: "bench", label: "positive" },
      { id: `${i}/n1`, steps: wrong, answer: String(fee + 3), source: "bench", label: "negative", decisiveStep: 1 },
      { id: `${i}/n2`, steps: steps.slice(0, -1), answer: String(fee - 2), source: "bench", label: "negative" }
    ]
  }
}

const render = (r: Pick<Route.Route, "steps" | "answer">) =>
  `${r.steps.map((s, k) => `Step ${k + 1}: ${s}`).join("\n")}\nAnswer: ${r.answer}`

/** An MRPV-shaped verifier for the bench: routes rendered in full, reward = answer correct + format. */
const verifier = Verifier.Verifier.of({
  prompt: ({ problem: p, routes, decision }) => {
    const shown = routes.slice(0, decision.routeCount)
    const text =
      shown.length === 0
        ? `Q: ${p.question}\nSolve.`
        : `Q: ${p.question}\n${shown.map((r, k) => `Route ${"ABC"[k]}:\n${render(r)}`).join("\n")}\nVerify each route, then solve.`
    return Effect.succeed({
      problemId: p.id,
      messages: [{ role: "user", content: text }],
      guidance: {
        mode: shown.length > 0 ? "assisted" : "autonomous",
        strength: decision.strength,
        routeIds: shown.map((r) => r.id)
      }
    })
  },
  example: () => Effect.die("unused"),
  score: ({ problem: p, completion }) => {
    const answer = /Answer:\s*(-?\d+)/.exec(completion)?.[1]
    const correct = answer === p.gold
    const format = answer === undefined ? 0 : 0.2
    return Effect.succeed({
      total: (correct ? 1 : 0) + format,
      components: { answer: correct ? 1 : 0, format },
      correct
    })
  }
})

const median = (xs: ReadonlyArray<number>): number => {
  const s = xs.filter(Number.isFinite).toSorted((a, b) => a - b)
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2
}

const sizes = [
  { name: "S", hiddenSize: 96, intermediateSize: 256, layers: 4, heads: 4, kvHeads: 2 },
  { name: "M", hiddenSize: 192, intermediateSize: 512, layers: 4, heads: 6, kvHeads: 2 }
]

const program = Effect.gen(function* () {
  const root = mkdtempSync(join(tmpdir(), "realm-trainer-bench-"))
  const rng = Rng.Rng.make(7, "bench")
  const data = Array.from({ length: 400 }, (_, i) => problem(rng, i))
  const records: Array<CorpusRecord.CorpusRecord> = data.map((d) => ({
    problem: d.problem,
    routes: d.routes,
    teacher: "bench"
  }))
  const corpus = join(root, "corpus.jsonl")
  writeFileSync(corpus, records.map((r) => JSON.stringify(r)).join("\n") + "\n")
  const texts = data.flatMap((d) => [d.problem.question, ...d.routes.map(render), "Verify each route, then solve."])
  const common = {
    runtime: { intraOpThreads: threads },
    batching: { buckets: [64, 96, 128, 192, 256, 384, 512], microBatch: 16 },
    generation: { maxPromptTokens: 384, maxNewTokens: 128 },
    checkpoint: { every: 0, onnx: "never" as const },
    log: { tensorboard: false }
  }
  const rows: Array<Record<string, string | number>> = []
  const load = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  console.error(`load average at start: ${load()}`)
  for (const size of sizes) {
    const dir = join(root, size.name)
    const created = yield* Scratch.create(join(dir, "init"), texts, { ...size, maxContext: 512 })
    const sftSteps = quick ? 20 : 100
    const sftConfig = TrainerConfig.decodeSync({
      ...common,
      sft: { steps: sftSteps, batchSize: 32, lr: { peak: 3e-3, warmupSteps: 5 }, heldOutFraction: 0 }
    })
    const sft = yield* Sft.train(
      { init: join(dir, "init"), corpus, outDir: join(dir, "sft"), resume: false },
      sftConfig
    )
    const sftLog = Metrics.parse(readFileSync(join(dir, "sft", Metrics.metricsFile), "utf8")).slice(3)
    const sftRow = {
      model: `${size.name}: d${size.hiddenSize}, ${size.layers} layers, ffn ${size.intermediateSize}, vocab ${created.config.vocabSize}`,
      params: `${(created.parameters / 1e6).toFixed(2)}M`,
      "SFT tokens/s": Math.round(median(sftLog.map((l) => l["tokens_per_second"] as number))),
      "SFT step s (32 ex)": median(sftLog.map((l) => l["time_update"] as number)).toFixed(2),
      "SFT padding": median(sftLog.map((l) => l["padding_fraction"] as number)).toFixed(2)
    }
    for (const [mode, curriculum] of [
      ["no routes", FixedCurriculum.never()],
      ["3 routes", FixedCurriculum.alwaysRoutes(3)]
    ] as const) {
      const rlSteps = quick ? 3 : 6
      const rlConfig = TrainerConfig.decodeSync({ ...common, rl: { steps: rlSteps, batchSize: 64, groupSize: 8 } })
      const out = join(dir, `rl-${mode.replace(" ", "-")}`)
      yield* Rl.train({ init: sft.path, corpus, outDir: out, resume: false }, rlConfig).pipe(
        Effect.provide(FixedCurriculum.layer(curriculum))
      )
      const log = Metrics.parse(readFileSync(join(out, Metrics.metricsFile), "utf8")).slice(1)
      const m = (k: string) => median(log.map((l) => l[k] as number))
      rows.push({
        ...sftRow,
        "RL prompts": `8×8, ${mode}`,
        "completion tokens": m("completion_tokens").toFixed(0),
        trained: m("trained_completions").toFixed(0),
        "rollout s": m("time_rollout").toFixed(2),
        "scoring s": m("time_scoring").toFixed(3),
        "update s": m("time_update").toFixed(2),
        "RL step s": (m("time_rollout") + m("time_scoring") + m("time_update")).toFixed(2),
        "gen tokens/s": Math.round(m("tokens_per_second")),
        "update tokens/s": Math.round(m("update_tokens_per_second"))
      })
    }
  }
  console.error(`load average at end: ${load()}`)
  const keys = Object.keys(rows[0]!)
  console.log(`| ${keys.join(" | ")} |\n|${keys.map(() => "---").join("|")}|`)
  for (const r of rows) console.log(`| ${keys.map((k) => r[k]).join(" | ")} |`)
  const results = join(import.meta.dirname, "results")
  mkdirSync(results, { recursive: true })
  writeFileSync(
    join(results, `train-${Date.now()}.json`),
    JSON.stringify(
      { machine: { cpus: cpus().map((c) => c.model)[0], count: cpus().length, threads }, node: process.version, rows },
      null,
      2
    )
  )
})

Effect.runPromise(
  program.pipe(Effect.provide(Layer.merge(NodeServices.layer, Layer.succeed(Verifier.Verifier, verifier))))
).catch((e) => {
  console.error(e)
  process.exit(1)
})
