/**
 * A Hugging Face model directory with the exact tensor shapes of a real config (`test/fixtures/configs/<name>.json`)
 * and finite values of typical weight magnitude, for load benchmarks: `config.json` plus `model.safetensors` written
 * header first, then data in 16 MiB chunks (never the whole file in memory).
 */
import { Effect } from "effect"
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs"
import { join } from "node:path"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as Weights from "../src/Weights.ts"

/** What was written. */
export interface SyntheticCheckpoint {
  readonly config: ModelConfig.ModelConfig
  /** Bytes of tensor data (the file is `8 + headerBytes + dataBytes`). */
  readonly dataBytes: number
  readonly headerBytes: number
}

/** Write `dir/config.json` and `dir/model.safetensors` for config `name` in `dtype`. */
export const write = (dir: string, name: string, dtype: "BF16" | "F32"): SyntheticCheckpoint => {
  const json = JSON.parse(
    readFileSync(join(import.meta.dirname, "..", "test", "fixtures", "configs", `${name}.json`), "utf8")
  ) as Record<string, unknown>
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
  const chunk = new Uint8Array(1 << 24)
  if (dtype === "F32") {
    new Float32Array(chunk.buffer).forEach((_, i, a) => void (a[i] = (((i * 7919) % 2001) - 1000) * 1e-4))
  } else {
    for (let i = 0; i < chunk.length; i += 2) {
      chunk[i] = (i * 7919) & 0xff
      chunk[i + 1] = 0x3c + ((i >> 9) & 3) // exponents around 2^-7..2^-4, positive: typical weight magnitudes
    }
  }
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, "config.json"), JSON.stringify(json))
  const fd = openSync(join(dir, "model.safetensors"), "w")
  writeSync(fd, prefix)
  writeSync(fd, header)
  for (let left = offset; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length))
  closeSync(fd)
  return { config, dataBytes: offset, headerBytes: header.length }
}
