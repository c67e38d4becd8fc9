/**
 * Cost of the load-time integrity checks: writes a safetensors file with the tensor shapes of a real config (default
 * Qwen2.5-0.5B) in BF16 or F32, then times `Pretrained.loadWeights` without a hash record (the NaN/±Infinity scan
 * only), with a `trainer_state.json` record (sha256 while reading, plus the scan), the scan alone over the loaded
 * weights, and a separate streamed sha256 of the file for comparison (what a second read would cost):
 * `node packages/lm/bench/integrity.ts [config] [BF16|F32] [dir]`.
 */
import { NodeServices } from "@effect/platform-node"
import { Hash } from "@realm-lm/core"
import { Effect } from "effect"
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as Weights from "../src/Weights.ts"

const name = process.argv[2] ?? "Qwen2.5-0.5B"
const dtype = process.argv[3] === "F32" ? "F32" : "BF16"
const dir = join(process.argv[4] ?? tmpdir(), `realm-lm-integrity-${process.pid}`)
const json = JSON.parse(readFileSync(join(import.meta.dirname, "..", "test", "fixtures", "configs", `${name}.json`), "utf8")) as Record<string, unknown>
const config = Effect.runSync(ModelConfig.fromHf(json, { maxContext: 4096 }))
const size = dtype === "F32" ? 4 : 2

const entries: Record<string, unknown> = { __metadata__: { format: "pt" } }
let offset = 0
for (const p of Weights.spec(config)) {
  const bytes = size * Weights.numel(p.shape)
  entries[p.name] = { dtype, shape: p.shape, data_offsets: [offset, offset + bytes] }
  offset += bytes
}
const header = new TextEncoder().encode(JSON.stringify(entries))
const prefix = new Uint8Array(8)
new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true)
// Finite values of typical weight magnitude, 16 MiB at a time.
const chunk = new Uint8Array(1 << 24)
if (dtype === "F32") new Float32Array(chunk.buffer).forEach((_, i, a) => void (a[i] = ((i * 7919) % 2001 - 1000) * 1e-4))
else for (let i = 0; i < chunk.length; i += 2) [chunk[i], chunk[i + 1]] = [(i * 7919) & 0xff, 0x3c + ((i >> 9) & 3)]
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, "config.json"), JSON.stringify(json))
const fd = openSync(join(dir, "model.safetensors"), "w")
writeSync(fd, prefix)
writeSync(fd, header)
for (let left = offset; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length))
closeSync(fd)

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.runPromise(Effect.provide(effect, NodeServices.layer))
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
const best = { loadWithScan: Infinity, loadWithHashAndScan: Infinity, scanAllWeights: Infinity, scanLargestTensor: Infinity, separateStreamedSha256: Infinity }
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
  best.loadWithHashAndScan = Math.min(best.loadWithHashAndScan, (await time(() => run(Pretrained.loadWeights(dir, config))))[1])
  best.separateStreamedSha256 = Math.min(best.separateStreamedSha256, (await time(() => run(Hash.hashFile(join(dir, "model.safetensors")))))[1])
}
const largest = Weights.spec(config).reduce((a, b) => (Weights.numel(b.shape) > Weights.numel(a.shape) ? b : a))
console.log(JSON.stringify({
  model: name,
  dtype,
  parameters: Weights.spec(config).reduce((n, p) => n + Weights.numel(p.shape), 0),
  fileBytes: 8 + header.length + offset,
  largestTensor: `[${largest.shape.join(", ")}] (${(4 * Weights.numel(largest.shape) / 2 ** 20).toFixed(0)} MiB float32)`,
  bestOf: rounds,
  seconds: best
}, null, 2))
rmSync(dir, { recursive: true, force: true })
