/**
 * Cost of the load-time integrity checks: writes a safetensors file with the tensor shapes of a real config (default
 * Qwen2.5-0.5B) in BF16 or F32, then times `Pretrained.loadWeights` without a hash record (the NaN/±Infinity scan
 * only), with a `trainer_state.json` record (sha256 while reading, plus the scan), the scan alone over the loaded
 * weights, and a separate streamed sha256 of the file for comparison (what a second read would cost):
 * `node packages/lm/bench/integrity.ts [config] [BF16|F32] [dir]`.
 */
import { NodeServices } from "@effect/platform-node"
import { Hash } from "@realm-lm/core/node"
import { Effect } from "effect"
import { rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Pretrained from "../src/Pretrained.ts"
import * as Weights from "../src/Weights.ts"
import * as SyntheticCheckpoint from "./syntheticCheckpoint.ts"

const name = process.argv[2] ?? "Qwen2.5-0.5B"
const dtype = process.argv[3] === "F32" ? "F32" : "BF16"
const dir = join(process.argv[4] ?? tmpdir(), `realm-lm-integrity-${process.pid}`)
const { config, dataBytes, headerBytes } = SyntheticCheckpoint.write(dir, name, dtype)

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) =>
  Effect.runPromise(Effect.provide(effect, NodeServices.layer))
const time = async <A>(f: () => Promise<A>): Promise<[A, number]> => {
  const start = performance.now()
  const a = await f()
  return [a, Number(((performance.now() - start) / 1000).toFixed(3))]
}

// Warm the page cache so every timing reads from memory, not disk; each figure is the best of `rounds`.
await run(Hash.hashFile(join(dir, "model.safetensors")))
const files = await run(Effect.forEach(["config.json", "model.safetensors"], (f) => Hash.hashFile(join(dir, f), f)))
writeFileSync(join(dir, Pretrained.stateFile), JSON.stringify({ files }))
const rounds = 3
const best = {
  loadWithScan: Infinity,
  loadWithHashAndScan: Infinity,
  scanAllWeights: Infinity,
  scanLargestTensor: Infinity,
  separateStreamedSha256: Infinity
}
/** Load without a record, then time the scan over the loaded weights; the weights are dropped on return. */
const loadAndScan = async () => {
  const [w, load] = await time(() => run(Pretrained.loadWeights(dir, config, { verifyHashes: false })))
  const [, all] = await time(async () => {
    for (const t of w.values()) if (Weights.firstNonFinite(t.data) >= 0) throw new Error("non-finite")
  })
  const biggest = [...w.values()].reduce((a, b) => (b.data.length > a.data.length ? b : a))
  const [, one] = await time(async () => Weights.firstNonFinite(biggest.data))
  return { load, all, one }
}
for (let r = 0; r < rounds; r++) {
  const { load, all, one } = await loadAndScan()
  best.loadWithScan = Math.min(best.loadWithScan, load)
  best.scanAllWeights = Math.min(best.scanAllWeights, all)
  best.scanLargestTensor = Math.min(best.scanLargestTensor, one)
  best.loadWithHashAndScan = Math.min(
    best.loadWithHashAndScan,
    (await time(() => run(Pretrained.loadWeights(dir, config))))[1]
  )
  best.separateStreamedSha256 = Math.min(
    best.separateStreamedSha256,
    (await time(() => run(Hash.hashFile(join(dir, "model.safetensors")))))[1]
  )
}
const largest = Weights.spec(config).reduce((a, b) => (Weights.numel(b.shape) > Weights.numel(a.shape) ? b : a))
console.log(
  JSON.stringify(
    {
      model: name,
      dtype,
      parameters: Weights.spec(config).reduce((n, p) => n + Weights.numel(p.shape), 0),
      fileBytes: 8 + headerBytes + dataBytes,
      largestTensor: `[${largest.shape.join(", ")}] (${((4 * Weights.numel(largest.shape)) / 2 ** 20).toFixed(0)} MiB float32)`,
      bestOf: rounds,
      seconds: best
    },
    null,
    2
  )
)
rmSync(dir, { recursive: true, force: true })
