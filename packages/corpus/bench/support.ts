/** What the corpus benches share: a numeric answer judge and the result row they print and write. */
import { AnswerJudge } from "@realm-lm/core"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join } from "node:path"

const numeric = (text: string) => [...text.matchAll(/-?\d+/g)].at(-1)?.[0]

/** The last integer of a text is its answer (the built-in domains' answers are integers, so this labels as they would). */
export const numericJudge = AnswerJudge.AnswerJudge.of({
  extract: (_p, text) => numeric(text),
  equivalent: (_p, a, b) => a.trim() !== "" && Number(a) === Number(b),
  judge: (p, text) => ({ extracted: numeric(text), correct: Number(numeric(text)) === Number(p.gold) })
})

/** Prints `row` with the machine's CPU, cores and Node version as a table, and writes it to bench/results/<name>.json. */
export const report = (name: string, row: Record<string, unknown>): void => {
  const full = { ...row, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version }
  console.table([full])
  mkdirSync(join(import.meta.dirname, "results"), { recursive: true })
  writeFileSync(join(import.meta.dirname, "results", `${name}.json`), `${JSON.stringify(full, null, 2)}\n`)
}
