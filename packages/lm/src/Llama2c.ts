/**
 * Import of llama2.c "legacy" (version 0) fp32 checkpoints, such as the tinyllamas stories260K model, into
 * Hugging Face names and conventions. llama2.c rotates adjacent pairs (2i, 2i+1) with RoPE while transformers'
 * Llama rotates halves (i, i + d/2); the import permutes the rows of wq and wk per head (as transformers'
 * `convert_llama_weights_to_hf.py` does), so the converted model computes exactly what llama2.c computes.
 */
import { Effect, FileSystem, Schema } from "effect"
import type { PlatformError } from "effect"
import { readAt } from "./internal/readAt.ts"
import * as ModelConfig from "./ModelConfig.ts"
import * as Weights from "./Weights.ts"

/** The file is not a llama2.c legacy checkpoint, or is truncated or inconsistent. */
export class Llama2cFormatError extends Schema.TaggedError<Llama2cFormatError>()("Llama2cFormatError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** The 7 int32 header fields of a legacy checkpoint. */
export interface Llama2cHeader {
  readonly dim: number
  readonly hiddenDim: number
  readonly nLayers: number
  readonly nHeads: number
  readonly nKvHeads: number
  /** Negative in the file when the classifier is stored separately (untied). */
  readonly vocabSize: number
  readonly seqLen: number
}

const headerBytes = 28
const v1v2Magic = 0x616b3432 // "ak42": llama2.c export versions 1 (fp32) and 2 (Q8_0)

/**
 * Rows of a `[heads · headDim, cols]` projection reordered from llama2.c's interleaved pairs to transformers'
 * halves: within each head, new row `t · headDim/2 + i` is old row `2i + t` (t ∈ {0, 1}).
 */
export const permuteRotary = (w: Float32Array, heads: number, headDim: number, cols: number): Float32Array => {
  const out = new Float32Array(w.length)
  const half = headDim / 2
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let t = 0; t < 2; t++) {
        const from = (h * headDim + 2 * i + t) * cols
        const to = (h * headDim + t * half + i) * cols
        out.set(w.subarray(from, from + cols), to)
      }
    }
  }
  return out
}

/** The `ModelConfig` of a llama2.c checkpoint (RMSNorm eps 1e-5, RoPE theta 10000, BOS 1, EOS 2). */
export const configOf = (
  header: Llama2cHeader
): Effect.Effect<ModelConfig.ModelConfig, ModelConfig.InvalidModelConfig> =>
  ModelConfig.llama({
    vocabSize: Math.abs(header.vocabSize),
    hiddenSize: header.dim,
    intermediateSize: header.hiddenDim,
    numLayers: header.nLayers,
    numHeads: header.nHeads,
    numKvHeads: header.nKvHeads,
    headDim: header.dim / header.nHeads,
    maxContext: header.seqLen,
    tieWordEmbeddings: header.vocabSize > 0,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: null
  })

/** Expected file size in bytes for a header (float32 arrays, freq_cis tables included). */
export const expectedSize = (h: Llama2cHeader): number => {
  const vocab = Math.abs(h.vocabSize)
  const kvDim = (h.dim * h.nKvHeads) / h.nHeads
  const headSize = h.dim / h.nHeads
  const floats =
    vocab * h.dim +
    h.nLayers * (2 * h.dim + h.dim * h.dim * 2 + 2 * kvDim * h.dim + 3 * h.dim * h.hiddenDim) +
    h.dim +
    h.seqLen * headSize +
    (h.vocabSize < 0 ? vocab * h.dim : 0)
  return headerBytes + 4 * floats
}

const parseHeader = (
  bytes: Uint8Array,
  fileSize: number,
  path: string
): Effect.Effect<Llama2cHeader, Llama2cFormatError> => {
  const fail = (detail: string) => Effect.fail(new Llama2cFormatError({ path, detail }))
  if (fileSize < headerBytes) return fail(`${fileSize} bytes is shorter than the 28-byte header`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes)
  if (view.getUint32(0, true) === v1v2Magic) {
    return fail(
      `this is a llama2.c version ${view.getInt32(4, true)} export ("ak42" magic); only legacy version-0 fp32 files are read (export with --version 0)`
    )
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = Array.from({ length: 7 }, (_, i) =>
    view.getInt32(4 * i, true)
  ) as [number, number, number, number, number, number, number]
  const header = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen }
  const positive = [dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen, Math.abs(vocabSize)].every(
    (v) => v > 0 && v < 1 << 24
  )
  if (!positive || dim % nHeads !== 0 || nHeads % nKvHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    return fail(`implausible header ${JSON.stringify(header)} (not a llama2.c checkpoint?)`)
  }
  const expected = expectedSize(header)
  if (fileSize !== expected) {
    return fail(
      `header ${JSON.stringify(header)} implies ${expected} bytes but the file has ${fileSize}${fileSize < expected ? " (truncated?)" : ""}`
    )
  }
  return Effect.succeed(header)
}

/**
 * Read a llama2.c legacy checkpoint into a config and Hugging Face-named weights. Each array is read with a
 * positioned read straight into its float32 tensor; the freq_cis tables are skipped (RoPE is recomputed).
 */
export const read = (
  path: string
): Effect.Effect<
  { readonly config: ModelConfig.ModelConfig; readonly weights: Weights.Weights; readonly header: Llama2cHeader },
  Llama2cFormatError | ModelConfig.InvalidModelConfig | PlatformError.PlatformError,
  FileSystem.FileSystem
> =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const file = yield* fs.open(path)
      const fileSize = Number((yield* file.stat).size)
      const head = new Uint8Array(headerBytes)
      yield* readAt(file, head, 0)
      const header = yield* parseHeader(head, fileSize, path)
      const config = yield* configOf(header)
      let offset = headerBytes
      const next = (floats: number) =>
        Effect.gen(function* () {
          const out = new Float32Array(floats)
          const n = yield* readAt(file, new Uint8Array(out.buffer), offset)
          if (n !== 4 * floats)
            return yield* new Llama2cFormatError({ path, detail: `file ended at byte ${offset + n}` })
          offset += 4 * floats
          return out
        })
      const { dim, hiddenDim, nLayers: layers } = header
      const vocab = config.vocabSize
      const kvDim = config.numKvHeads * config.headDim
      const perLayer = (rows: number, cols: number) =>
        Effect.map(next(layers * rows * cols), (all) =>
          Array.from({ length: layers }, (_, l) => all.subarray(l * rows * cols, (l + 1) * rows * cols))
        )
      const w = new Map<string, Weights.Tensor>()
      w.set(Weights.embedTokens, Weights.tensor([vocab, dim], yield* next(vocab * dim)))
      const rmsAtt = yield* perLayer(1, dim)
      const wq = yield* perLayer(dim, dim)
      const wk = yield* perLayer(kvDim, dim)
      const wv = yield* perLayer(kvDim, dim)
      const wo = yield* perLayer(dim, dim)
      const rmsFfn = yield* perLayer(1, dim)
      const w1 = yield* perLayer(hiddenDim, dim)
      const w2 = yield* perLayer(dim, hiddenDim)
      const w3 = yield* perLayer(hiddenDim, dim)
      const finalNorm = yield* next(dim)
      offset += 4 * header.seqLen * config.headDim // freq_cis_real and freq_cis_imag: [seq_len, head_size / 2] each
      for (let l = 0; l < layers; l++) {
        const n = Weights.layer(l)
        w.set(n.inputNorm, Weights.tensor([dim], rmsAtt[l]))
        w.set(n.q, Weights.tensor([dim, dim], permuteRotary(wq[l]!, config.numHeads, config.headDim, dim)))
        w.set(n.k, Weights.tensor([kvDim, dim], permuteRotary(wk[l]!, config.numKvHeads, config.headDim, dim)))
        w.set(n.v, Weights.tensor([kvDim, dim], wv[l]))
        w.set(n.o, Weights.tensor([dim, dim], wo[l]))
        w.set(n.postNorm, Weights.tensor([dim], rmsFfn[l]))
        w.set(n.gate, Weights.tensor([hiddenDim, dim], w1[l]))
        w.set(n.down, Weights.tensor([dim, hiddenDim], w2[l]))
        w.set(n.up, Weights.tensor([hiddenDim, dim], w3[l]))
      }
      w.set(Weights.finalNorm, Weights.tensor([dim], finalNorm))
      if (!config.tieWordEmbeddings) w.set(Weights.lmHead, Weights.tensor([vocab, dim], yield* next(vocab * dim)))
      const weights = yield* Weights.validate(config, w, path).pipe(
        Effect.mapError((e) => new Llama2cFormatError({ path, detail: e.message }))
      )
      return { config, weights, header }
    })
  )
