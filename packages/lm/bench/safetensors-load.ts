/**
 * Load-memory benchmark: writes a BF16 safetensors file with the exact tensor shapes of a real config (default
 * Qwen2.5-1.5B, 1.54B parameters, 3.1 GB on disk), loads it as float32 through `Pretrained.loadWeights`, and reports
 * time and peak memory relative to the float32 weights: `node packages/lm/bench/safetensors-load.ts [config] [dir]`.
 */
import { NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as Weights from "../src/Weights.ts"

const name = process.argv[2] ?? "Qwen2.5-1.5B"
const dir = join(process.argv[3] ?? tmpdir(), `realm-lm-load-${process.pid}`)
const json = JSON.parse(readFileSync(join(import.meta.dirname, "..", "test", "fixtures", "configs", `${name}.json`), "utf8")) as Record<string, unknown>
const config = Effect.runSync(ModelConfig.fromHf(json, { maxContext: 4096 }))
const spec = Weights.spec(config)

// Header by hand, then data streamed in 16 MiB chunks of varied BF16 values (never all of it in memory).
const entries: Record<string, unknown> = { __metadata__: { format: "pt" } }
let offset = 0
for (const p of spec) {
  const bytes = 2 * Weights.numel(p.shape)
  entries[p.name] = { dtype: "BF16", shape: p.shape, data_offsets: [offset, offset + bytes] }
  offset += bytes
}
const header = new TextEncoder().encode(JSON.stringify(entries))
const prefix = new Uint8Array(8)
new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true)
const chunk = new Uint8Array(1 << 24)
for (let i = 0; i < chunk.length; i += 2) {
  chunk[i] = (i * 7919) & 0xff
  chunk[i + 1] = 0x3c + ((i >> 9) & 3) // exponents around 2^-7..2^-4, both signs absent: typical weight magnitudes
}
const { mkdirSync } = await import("node:fs")
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, "config.json"), JSON.stringify(json))
const fd = openSync(join(dir, "model.safetensors"), "w")
writeSync(fd, prefix)
writeSync(fd, header)
for (let left = offset; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length))
closeSync(fd)

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
  fileBytes: 8 + header.length + offset,
  float32Bytes: f32Bytes,
  seconds: Number(seconds.toFixed(2)),
  readMBps: Number((offset / 1e6 / seconds).toFixed(0)),
  peakArrayBuffersOverWeights: Number(((peakBuffers - baseline.arrayBuffers) / f32Bytes).toFixed(3)),
  peakRssOverWeights: Number(((peakRss - baseline.rss) / f32Bytes).toFixed(3))
}
console.log(JSON.stringify(result, null, 2))
rmSync(dir, { recursive: true, force: true })
