/**
 * Cost of choosing one token from a real vocabulary's logits and recording its log-probabilities (`Sampling.choose`,
 * what every sampled token of a rollout pays per sequence), against two references in the same run: the definition
 * written plainly (`candidates` with every id sorted for a filter and arrays built by per-element callbacks, the coin
 * walk, then `logProb`: the implementation before 2026-12-07) and a ceiling, one `Math.exp` pass over the vocabulary
 * (the least any exact softmax sampler does).
 * Logits are random normal × scale: 0.1 is near-flat (a random-weight model), 3 is peaked (a trained one).
 *
 * Run: `node --conditions=@realm-lm/source packages/lm/bench/sampling.ts [--reps N]`; prints a table.
 */
import { Rng } from "@realm-lm/core"
import * as Sampling from "../src/Sampling.ts"
import { candidatesByDefinition } from "../test/samplingDefinition.ts"

const repsAt = process.argv.indexOf("--reps")
const reps = repsAt < 0 ? 40 : Number(process.argv[repsAt + 1])
if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`--reps must be a whole number ≥ 1`)

const walk = (c: Sampling.Candidates, coin: number): number => {
  let cdf = 0
  for (let i = 0; i < c.ids.length; i++) {
    cdf += c.probs[i]!
    if (coin < cdf) return c.ids[i]!
  }
  return c.ids[c.ids.length - 1]!
}

/** Median ms per call of `f` over `reps` calls, after 3 warm-up calls. */
const time = (f: () => unknown): number => {
  for (let i = 0; i < 3; i++) f()
  const ms: Array<number> = []
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now()
    f()
    ms.push(performance.now() - t0)
  }
  return ms.toSorted((a, b) => a - b)[Math.floor(ms.length / 2)]!
}

const rows: Array<string> = []
for (const vocab of [49152, 151936]) {
  for (const scale of [0.1, 3]) {
    const rng = Rng.Rng.make(vocab + scale, "sampling-bench")
    const logits = Float32Array.from({ length: vocab }, () => rng.normal() * scale)
    const ceiling = time(() => {
      let s = 0
      for (let i = 0; i < vocab; i++) s += Math.exp(logits[i]!)
      return s
    })
    for (const config of [
      Sampling.pure,
      { temperature: 1, topK: 0, topP: 0.95 },
      { temperature: 0.7, topK: 50, topP: 1 }
    ]) {
      const coin = rng.float()
      const before = () => {
        const token = walk(candidatesByDefinition(logits, config), coin)
        return { token, logProb: Sampling.logProb(logits, token) }
      }
      const fast = time(() => Sampling.choose(logits, config, coin))
      const slow = time(before)
      const [now, then] = [Sampling.choose(logits, config, coin), before()]
      if (now.token !== then.token || now.logProb !== then.logProb)
        throw new Error(`the two implementations chose differently at vocab ${vocab}, scale ${scale}`)
      rows.push(
        `| ${vocab.toLocaleString("en")} | ${scale} | T ${config.temperature}, top-k ${config.topK}, top-p ${config.topP} | ${fast.toFixed(2)} | ${slow.toFixed(2)} | ${(slow / fast).toFixed(1)}× | ${ceiling.toFixed(2)} | ${(fast / ceiling).toFixed(1)}× |`
      )
    }
  }
}
console.log(`Node ${process.version}, median of ${reps} calls after 3 warm-ups`)
console.log(
  "| vocab | logit scale | sampling | `choose` ms | plain definition ms | speed-up | one exp pass ms (ceiling) | `choose` ÷ ceiling |"
)
console.log("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
for (const r of rows) console.log(r)
