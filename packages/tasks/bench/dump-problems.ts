/**
 * Write generated problems as JSONL (one `Problem` per line) to stdout, e.g. for `realm corpus build --tasks`
 * or as a fixture: `node packages/tasks/bench/dump-problems.ts parcel train 1,2,3 100 0 > problems.jsonl`.
 * Arguments: domain (parcel | arith), split, levels (comma list), count, seed.
 */
import { Jsonl, Problem } from "@realm-lm/core"
import { Result } from "effect"
import * as Arithmetic from "../src/Arithmetic.ts"
import * as ParcelDomain from "../src/ParcelDomain.ts"

const [domain = "parcel", split = "train", levels = "1,2,3", count = "100", seed = "0"] = process.argv.slice(2)
const input = { seed: Number(seed), levels: levels.split(",").map(Number), counts: { [split]: Number(count) } }
const encode = Jsonl.encodeLines(Problem.Problem)
for (let i = 0; i < Number(count); i++) {
  const generated = domain === "arith"
    ? Arithmetic.generate(Arithmetic.decodeConfig(input), split as Problem.Split, i)
    : ParcelDomain.generate(ParcelDomain.decodeConfig(input), split as Problem.Split, i)
  if (Result.isFailure(generated)) {
    process.stderr.write(`${generated.failure.detail}\n`)
    process.exit(1)
  }
  process.stdout.write(encode([generated.success]))
}
