/**
 * What the trainer benches share: synthetic parcel-fee problems shaped like the built-in domain (short questions,
 * 3-6 step routes, one positive and two negative routes each), their corpus file and tokenizer texts, and a verifier
 * for them.
 */
import { Rng, Verifier } from "@realm-lm/core"
import type { CorpusRecord, Problem, Route } from "@realm-lm/core"
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"

/** A parcel-like problem with consistent arithmetic (not the real tariff). */
export const problem = (rng: Rng.Rng, i: number): { problem: Problem.Problem; routes: Array<Route.Route> } => {
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

export const render = (r: Pick<Route.Route, "steps" | "answer">) =>
  `${r.steps.map((s, k) => `Step ${k + 1}: ${s}`).join("\n")}\nAnswer: ${r.answer}`

/**
 * An MRPV-shaped verifier for the benches: routes rendered in full, reward = answer correct + format. With `spread`,
 * a third component, half the share of ASCII letters and digits among the completion's characters, gives every group
 * of a random-weight model a reward spread, so no group has zero variance and the update trains every completion
 * (the busiest step a real run can have); without it such a model earns 0 everywhere and RL skips its updates.
 */
export const verifier = (spread: boolean) =>
  Verifier.Verifier.of({
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
      const alnum = spread
        ? (0.5 * (completion.match(/[A-Za-z0-9]/g)?.length ?? 0)) / Math.max(1, completion.length)
        : 0
      return Effect.succeed({
        total: (correct ? 1 : 0) + format + alnum,
        components: { answer: correct ? 1 : 0, format, ...(spread ? { alnum } : {}) },
        correct
      })
    }
  })

/** `count` problems from `seed` written as a corpus at `<dir>/corpus.jsonl`, and the texts a tokenizer would train on. */
export const writeCorpus = (
  dir: string,
  count: number,
  seed: number
): { readonly corpus: string; readonly texts: Array<string> } => {
  const rng = Rng.Rng.make(seed, "bench")
  const data = Array.from({ length: count }, (_, i) => problem(rng, i))
  const records: Array<CorpusRecord.CorpusRecord> = data.map((d) => ({
    problem: d.problem,
    routes: d.routes,
    teacher: "bench"
  }))
  const corpus = join(dir, "corpus.jsonl")
  writeFileSync(corpus, records.map((r) => JSON.stringify(r)).join("\n") + "\n")
  const texts = data.flatMap((d) => [d.problem.question, ...d.routes.map(render), "Verify each route, then solve."])
  return { corpus, texts }
}
