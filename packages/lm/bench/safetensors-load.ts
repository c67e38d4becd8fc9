/**
 * Load-memory benchmark: writes a BF16 safetensors file with the exact tensor shapes of a real config (default
 * Qwen2.5-1.5B, 1.54B parameters, 3.1 GB on disk), loads it as float32 through `Pretrained.loadWeights`, and reports
 * time and peak memory relative to the float32 weights: `node packages/lm/bench/safetensors-load.ts [config] [dir]`.
 */
import { NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Pretrained from "../src/Pretrained.ts"
import * as Weights from "../src/Weights.ts"
import * as SyntheticCheckpoint from "./syntheticCheckpoint.ts"

const name = process.argv[2] ?? "Qwen2.5-1.5B"
const dir = join(process.argv[3] ?? tmpdir(), `realm-lm-load-${process.pid}`)
const { config, dataBytes, headerBytes } = SyntheticCheckpoint.write(dir, name, "BF16")

let peakRss = 0
let peakBuffers = 0
const sample = () => {
  const m = process.memoryUsage()
  peakRss = Math.max(peakRss, m.rss)
  peakBuffers = Math.max(peakBuffers, m.arrayBuffers)
}
const baseline = process.memoryUsage()
const timer = setInterval(sample, 5)
const start = performance.now()
const weights = await Effect.runPromise(Effect.provide(Pretrained.loadWeights(dir, config), NodeServices.layer))
const seconds = (performance.now() - start) / 1000
sample()
clearInterval(timer)
const f32Bytes = 4 * Weights.count(weights)
const result = {
  model: name,
  parameters: Weights.count(weights),
  fileBytes: 8 + headerBytes + dataBytes,
  float32Bytes: f32Bytes,
  seconds: Number(seconds.toFixed(2)),
  readMBps: Number((dataBytes / 1e6 / seconds).toFixed(0)),
  peakArrayBuffersOverWeights: Number(((peakBuffers - baseline.arrayBuffers) / f32Bytes).toFixed(3)),
  peakRssOverWeights: Number(((peakRss - baseline.rss) / f32Bytes).toFixed(3))
}
console.log(JSON.stringify(result, null, 2))
rmSync(dir, { recursive: true, force: true })
