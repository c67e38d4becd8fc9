/**
 * Throughput of MRPV prompt building, target rendering and parse+score on the quickstart problem, plus the
 * parser on a large adversarial input. Prints a table and writes bench/results/mrpv-score.json.
 * Run: `node packages/mrpv/bench/score.ts` (Node 24, from the repository root).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join } from "node:path"
import { Rng } from "@realm-lm/core"
import type { Route } from "@realm-lm/core"
import { CompletionParser, MrpvConfig, PromptBuilder, Rewards, Target } from "@realm-lm/mrpv"
import { Result } from "effect"
import { judge, problem } from "../examples/quickstart.ts"

const routes: Array<Route.Route> = Array.from({ length: 8 }, (_, i) => ({
  id: `r${i}`,
  label: i % 2 === 0 ? "positive" : "negative",
  source: "bench",
  answer: i % 2 === 0 ? "800" : `${900 + i}`,
  steps: ["claim after deductible = 1200 - 200 = 1000", `payout = 1000 * 80% = ${i % 2 === 0 ? 800 : 900 + i}`]
}))
const config = MrpvConfig.defaults

const time = (name: string, n: number, f: (i: number) => void) => {
  for (let i = 0; i < Math.min(n, 200); i++) f(i) // warm-up
  const t0 = performance.now()
  for (let i = 0; i < n; i++) f(i)
  const ms = performance.now() - t0
  return { name, n, totalMs: Number(ms.toFixed(1)), perSecond: Math.round((n / ms) * 1000) }
}

/** A fully assisted prompt (4 of the 8 routes, no hints) drawn with `seed`. */
const buildPrompt = (seed: number) =>
  PromptBuilder.buildPrompt(config, problem, routes, {
    problemId: problem.id,
    strength: 1,
    routeCount: 4,
    hintFraction: 0,
    rescue: false,
    seed
  })

const built = Array.from({ length: 64 }, (_, s) => Result.getOrThrow(buildPrompt(s)))
const targets = built.map((b) => Target.renderTarget(problem, b.shown))
const rng = Rng.Rng.make(1)
const noisy = targets.map((t) =>
  t
    .split("\n")
    .filter(() => rng.bernoulli(0.8))
    .join("\n")
)
const adversarial = "Route A: wrong at step 1\n**Step 1**: x\nReflection: y\n".repeat(20_000)

const rows = [
  time("buildPrompt (8 routes available, k=4)", 20_000, buildPrompt),
  time("renderTarget (4 routes)", 20_000, (i) => Target.renderTarget(problem, built[i % 64]!.shown)),
  time("parse+score ideal completion", 20_000, (i) =>
    Rewards.scoreCompletion({ config, problem, shown: built[i % 64]!.shown, completion: targets[i % 64]!, judge })
  ),
  time("parse+score noisy completion", 20_000, (i) =>
    Rewards.scoreCompletion({ config, problem, shown: built[i % 64]!.shown, completion: noisy[i % 64]!, judge })
  ),
  time(`parseCompletion ${(adversarial.length / 1e6).toFixed(2)} MB adversarial`, 5, () =>
    CompletionParser.parseCompletion(adversarial)
  )
]
const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version }
console.table(rows)
console.log(machine)
const dir = join(import.meta.dirname, "results")
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, "mrpv-score.json"), JSON.stringify({ machine, rows }, null, 2))
