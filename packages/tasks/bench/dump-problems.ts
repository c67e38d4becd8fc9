/**
 * Write generated problems as JSONL (one `Problem` per line) to stdout, e.g. for `realm corpus build --tasks`
 * or as a fixture: `node packages/tasks/bench/dump-problems.ts parcel train 1,2,3 100 0 > problems.jsonl`.
 * Arguments: domain (parcel | arith), split, levels (comma list), count, seed. The problems are the task source's
 * stream, exactly what a pipeline writes (evaluation splits hold each question once).
 */
import { Problem } from "@realm-lm/core"
import { Jsonl } from "@realm-lm/core/node"
import { Effect, Stream } from "effect"
import * as Arithmetic from "../src/Arithmetic.ts"
import * as ParcelDomain from "../src/ParcelDomain.ts"

const [domain = "parcel", split = "train", levels = "1,2,3", count = "100", seed = "0"] = process.argv.slice(2)
const input = { seed: Number(seed), levels: levels.split(",").map(Number), counts: { [split]: Number(count) } }
const problems =
  domain === "arith"
    ? Arithmetic.problems(Arithmetic.decodeConfig(input), split as Problem.Split)
    : ParcelDomain.problems(ParcelDomain.decodeConfig(input), split as Problem.Split)
const encode = Jsonl.encodeLines(Problem.Problem)
Effect.runPromise(Stream.runForEach(problems, (p) => Effect.sync(() => process.stdout.write(encode([p]))))).catch(
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 1
  }
)
