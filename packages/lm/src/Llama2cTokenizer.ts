/**
 * llama2.c's `tokenizer.bin` (SentencePiece BPE pieces with scores, e.g. `tok512.bin` of stories260K) with
 * encoding and decoding that follow `run.c` byte for byte: a dummy-prefix space, UTF-8 code points looked up
 * whole with byte fallback (`<0xXX>` = id byte + 3), then greedy merging of the best-scoring adjacent pair.
 * `toHuggingFace` converts it to a Llama-style `tokenizer.json` that transformers.js encodes the same way.
 */
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect"
import { addedTokens } from "./internal/tokenizerJson.ts"

/** The file is not a llama2.c tokenizer.bin. */
export class Llama2cTokenizerError extends Schema.TaggedError<Llama2cTokenizerError>()("Llama2cTokenizerError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** A parsed tokenizer: raw piece bytes and merge scores by id. */
export interface Llama2cTokenizer {
  readonly pieces: ReadonlyArray<Uint8Array>
  readonly scores: Float32Array
  readonly maxTokenLength: number
  /** piece (as a latin-1 string of its bytes) → lowest id with that piece. */
  readonly lookup: ReadonlyMap<string, number>
}

/** BOS id in llama2.c vocabularies. */
export const bos = 1
/** EOS id in llama2.c vocabularies. */
export const eos = 2

const latin1 = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) s += String.fromCharCode(b)
  return s
}

/** Parse tokenizer.bin bytes: int32 max_token_length, then per token float32 score, int32 length, bytes. */
export const parse = (
  bytes: Uint8Array,
  path: string,
  vocabSize?: number
): Effect.Effect<Llama2cTokenizer, Llama2cTokenizerError> =>
  Effect.gen(function* () {
    const fail = (detail: string) => new Llama2cTokenizerError({ path, detail })
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (bytes.length < 4) return yield* fail("shorter than its 4-byte header")
    const maxTokenLength = view.getInt32(0, true)
    if (maxTokenLength <= 0 || maxTokenLength > 1024)
      return yield* fail(`implausible max_token_length ${maxTokenLength}`)
    const pieces: Array<Uint8Array> = []
    const scores: Array<number> = []
    let o = 4
    const limit = vocabSize ?? Number.POSITIVE_INFINITY
    while (o < bytes.length && pieces.length < limit) {
      if (o + 8 > bytes.length) return yield* fail(`truncated entry ${pieces.length} at byte ${o}`)
      const score = view.getFloat32(o, true)
      const len = view.getInt32(o + 4, true)
      if (len < 0 || len > maxTokenLength || o + 8 + len > bytes.length)
        return yield* fail(`entry ${pieces.length} at byte ${o} has invalid length ${len}`)
      scores.push(score)
      pieces.push(bytes.slice(o + 8, o + 8 + len))
      o += 8 + len
    }
    if (vocabSize !== undefined && pieces.length !== vocabSize)
      return yield* fail(`holds ${pieces.length} tokens, the model has ${vocabSize}`)
    if (o !== bytes.length) return yield* fail(`${bytes.length - o} bytes after the last of ${pieces.length} tokens`)
    const lookup = new Map<string, number>()
    pieces.forEach((p, id) => {
      const key = latin1(p)
      if (!lookup.has(key)) lookup.set(key, id)
    })
    return { pieces, scores: Float32Array.from(scores), maxTokenLength, lookup }
  })

/** Read and parse a tokenizer.bin file. */
export const read = (
  path: string,
  vocabSize?: number
): Effect.Effect<Llama2cTokenizer, Llama2cTokenizerError | PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    return yield* parse(yield* fs.readFile(path), path, vocabSize)
  })

/** Options for `encode`. */
export interface EncodeOptions {
  /** Prepend BOS (default true, as run.c's prompt encoding). */
  readonly bos?: boolean
  /** Append EOS (default false). */
  readonly eos?: boolean
}

/** Encode text exactly as run.c's `encode()`. */
export const encode = (tok: Llama2cTokenizer, text: string, options: EncodeOptions = {}): Array<number> => {
  const tokens: Array<number> = []
  if (options.bos ?? true) tokens.push(bos)
  const utf8 = new TextEncoder().encode(text)
  if (utf8.length > 0) {
    const space = tok.lookup.get(" ")
    if (space !== undefined) tokens.push(space) // run.c's add_dummy_prefix
  }
  // One UTF-8 code point (at most 4 bytes) at a time: the whole code point if it is a piece, else its bytes.
  let start = 0
  for (let i = 0; i < utf8.length; i++) {
    const continues = i + 1 < utf8.length && (utf8[i + 1]! & 0xc0) === 0x80
    if (continues && i + 1 - start < 4) continue
    const chunk = utf8.subarray(start, i + 1)
    const id = tok.lookup.get(latin1(chunk))
    if (id !== undefined) tokens.push(id)
    else for (const b of chunk) tokens.push(b + 3)
    start = i + 1
  }
  // Merge the adjacent pair whose concatenation is the best-scoring piece, until none is a piece.
  for (;;) {
    let bestScore = -1e10
    let bestId = -1
    let bestIdx = -1
    for (let i = 0; i + 1 < tokens.length; i++) {
      const id = tok.lookup.get(latin1(tok.pieces[tokens[i]!]!) + latin1(tok.pieces[tokens[i + 1]!]!))
      if (id !== undefined && tok.scores[id]! > bestScore) {
        bestScore = tok.scores[id]!
        bestId = id
        bestIdx = i
      }
    }
    if (bestIdx === -1) break
    tokens.splice(bestIdx, 2, bestId)
  }
  if (options.eos ?? false) tokens.push(eos)
  return tokens
}

const bytePiece = /^<0x([0-9A-Fa-f]{1,2})/

/** run.c's `decode(prev, token)`: the bytes of a piece, minus a leading space after BOS, `<0xXX>` as its byte. */
export const decodePiece = (tok: Llama2cTokenizer, prev: number, token: number): Uint8Array => {
  let piece = tok.pieces[token]!
  if (prev === bos && piece[0] === 0x20) piece = piece.subarray(1)
  const m = bytePiece.exec(latin1(piece))
  return m !== null ? Uint8Array.of(parseInt(m[1]!, 16)) : piece
}

/** run.c's `safe_printf` filter: a single byte that is neither printable ASCII nor whitespace prints nothing. */
export const printable = (piece: Uint8Array): Uint8Array => {
  const end = piece.indexOf(0) // printf stops at NUL
  const s = end === -1 ? piece : piece.subarray(0, end)
  if (s.length === 1) {
    const b = s[0]!
    if (!((b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d))) return new Uint8Array(0)
  }
  return s
}

/**
 * The bytes run.c prints while generating `tokens` (the first is the prompt's last token, usually BOS): for each
 * next token, its printable decoded piece; stops at BOS like run.c. run.c adds a final "\n" after the loop.
 */
export const runCOutput = (tok: Llama2cTokenizer, tokens: ReadonlyArray<number>): Uint8Array => {
  const parts: Array<Uint8Array> = []
  for (let i = 1; i < tokens.length; i++) {
    if (tokens[i] === bos) break
    parts.push(printable(decodePiece(tok, tokens[i - 1]!, tokens[i]!)))
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Decode ids (BOS/EOS dropped) to text: pieces and byte-fallback bytes joined, then UTF-8 decoded. */
export const decode = (tok: Llama2cTokenizer, ids: ReadonlyArray<number>): string => {
  const parts: Array<number> = []
  let prev = -1
  for (const id of ids) {
    if (id !== bos && id !== eos) for (const b of decodePiece(tok, prev, id)) parts.push(b)
    prev = id
  }
  return new TextDecoder().decode(Uint8Array.from(parts))
}

const special = ["<unk>", "<s>", "</s>"] as const
const meta = "\u2581" // SentencePiece's "▁", which llama2.c's export replaced by a plain space

/**
 * A Llama-2-style Hugging Face tokenizer (`tokenizer.json`, `tokenizer_config.json`) with the same vocabulary:
 * pieces with "▁" for spaces, ids 0-2 as `<unk>`, `<s>`, `</s>`, byte fallback, and merges ranked by the score of
 * the merged piece (transformers' SentencePiece extraction), which is what run.c's greedy best-score merging
 * computes. Fails if a piece is not valid UTF-8.
 */
export const toHuggingFace = (
  tok: Llama2cTokenizer,
  modelMaxLength = 2048
): Effect.Effect<
  { readonly tokenizerJson: Record<string, unknown>; readonly tokenizerConfig: Record<string, unknown> },
  Llama2cTokenizerError
> =>
  Effect.gen(function* () {
    const decoder = new TextDecoder("utf-8", { fatal: true })
    const pieces: Array<string> = []
    for (const [id, bytes] of tok.pieces.entries()) {
      if (id < special.length) {
        pieces.push(special[id]!)
        continue
      }
      const text = yield* Effect.try({
        try: () => decoder.decode(bytes),
        catch: () => new Llama2cTokenizerError({ path: "(tokenizer)", detail: `piece ${id} is not valid UTF-8` })
      })
      pieces.push(text.replaceAll(" ", meta))
    }
    const vocab = new Map<string, number>()
    pieces.forEach((p, id) => {
      if (!vocab.has(p)) vocab.set(p, id)
    })
    const isByte = (id: number) => id >= 3 && id < 259 && /^<0x[0-9A-F]{2}>$/.test(pieces[id]!)
    const merges: Array<{ readonly pair: readonly [string, string]; readonly score: number }> = []
    pieces.forEach((piece, id) => {
      if (id < special.length || isByte(id)) return
      const chars = Array.from(piece)
      const local: Array<readonly [string, string]> = []
      for (let i = 1; i < chars.length; i++) {
        const left = chars.slice(0, i).join("")
        const right = chars.slice(i).join("")
        if (vocab.has(left) && vocab.has(right)) local.push([left, right])
      }
      local.sort(
        (a, b) =>
          (vocab.get(a[0]) as number) - (vocab.get(b[0]) as number) ||
          (vocab.get(a[1]) as number) - (vocab.get(b[1]) as number)
      )
      for (const pair of local) merges.push({ pair, score: tok.scores[id]! })
    })
    const ranked = merges.toSorted((a, b) => b.score - a.score) // stable: ties keep vocabulary order
    const tokenizerJson = {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: addedTokens(special),
      normalizer: {
        type: "Sequence",
        normalizers: [
          { type: "Prepend", prepend: meta },
          { type: "Replace", pattern: { String: " " }, content: meta }
        ]
      },
      pre_tokenizer: null,
      post_processor: {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [
          { SpecialToken: { id: "<s>", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "<s>", type_id: 1 } },
          { Sequence: { id: "B", type_id: 1 } }
        ],
        special_tokens: { "<s>": { id: "<s>", ids: [bos], tokens: ["<s>"] } }
      },
      decoder: {
        type: "Sequence",
        decoders: [
          { type: "Replace", pattern: { String: meta }, content: " " },
          { type: "ByteFallback" },
          { type: "Fuse" },
          { type: "Strip", content: " ", start: 1, stop: 0 }
        ]
      },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: "<unk>",
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        ignore_merges: false,
        vocab: Object.fromEntries(vocab),
        merges: ranked.map((m) => [...m.pair])
      }
    }
    const tokenizerConfig = {
      tokenizer_class: "LlamaTokenizer",
      bos_token: "<s>",
      eos_token: "</s>",
      unk_token: "<unk>",
      pad_token: null,
      add_bos_token: true,
      add_eos_token: false,
      clean_up_tokenization_spaces: false,
      legacy: true,
      model_max_length: modelMaxLength,
      added_tokens_decoder: Object.fromEntries(
        addedTokens(special).map((t) => [
          String(t.id),
          { content: t.content, lstrip: false, rstrip: false, normalized: false, single_word: false, special: true }
        ])
      )
    }
    return { tokenizerJson, tokenizerConfig }
  })

/** Write the `toHuggingFace` files into `dir` (loadable with `Tokenizer.load`). */
export const saveHuggingFace = (
  dir: string,
  tok: Llama2cTokenizer,
  modelMaxLength = 2048
): Effect.Effect<void, Llama2cTokenizerError | PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { tokenizerJson, tokenizerConfig } = yield* toHuggingFace(tok, modelMaxLength)
    yield* fs.makeDirectory(dir, { recursive: true })
    yield* fs.writeFileString(path.join(dir, "tokenizer.json"), `${JSON.stringify(tokenizerJson)}\n`)
    yield* fs.writeFileString(path.join(dir, "tokenizer_config.json"), `${JSON.stringify(tokenizerConfig, null, 2)}\n`)
  })
