/**
 * A small byte-level BPE tokenizer for models trained from scratch: trained here on a corpus, written as a standard
 * Hugging Face `tokenizer.json` + `tokenizer_config.json` (ChatML chat template) that transformers and
 * transformers.js load unchanged, with its own encoder and decoder so the package needs no runtime to tokenize.
 * With zero merges it is a plain byte-level (character-like) tokenizer. Digits are always split one per token.
 */
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect"
import { byteToChar, decodeChars, encodeBytes } from "./internal/byteLevel.ts"
import { addedTokens } from "./internal/tokenizerJson.ts"

/** Pre-tokenizer: contractions, words, single digits, punctuation runs, whitespace (GPT-2's, digits split). */
export const splitPattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/** ChatML: `<|im_start|>role\ncontent<|im_end|>\n` per message, then `<|im_start|>assistant\n` when asked. */
export const chatTemplate =
  "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"

/**
 * Training settings. `vocabSize`: most ids incl. specials and the 256 bytes (fewer when merges run out).
 * `minFrequency` (default 2): stop merging when the best pair is rarer. `specialTokens` (default
 * `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`): ids 0.. in order; the first is BOS and padding, the last EOS.
 */
export const TrainConfig = Schema.Struct({
  vocabSize: Schema.Int.check(Schema.isGreaterThanOrEqualTo(256)),
  minFrequency: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  specialTokens: Schema.Array(Schema.String.check(Schema.isMinLength(1)))
}).check(
  Schema.makeFilter((c) =>
    c.vocabSize >= 256 + c.specialTokens.length && new Set(c.specialTokens).size === c.specialTokens.length
      ? undefined
      : { path: ["vocabSize"], issue: "vocabSize must cover the 256 bytes plus distinct special tokens" }
  )
)
/** Validated training settings. */
export type TrainConfig = typeof TrainConfig.Type

/** Defaults for `TrainConfig`. */
export const defaultTrainConfig: TrainConfig = {
  vocabSize: 512,
  minFrequency: 2,
  specialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
}

/** A trained tokenizer: token strings by id (byte-level symbols; specials verbatim) and merges in priority order. */
export interface BuiltinTokenizer {
  readonly tokens: ReadonlyArray<string>
  readonly merges: ReadonlyArray<readonly [string, string]>
  readonly specialTokens: ReadonlyArray<string>
  /** token string → id. */
  readonly ids: ReadonlyMap<string, number>
  /** "left right" → merge rank. */
  readonly ranks: ReadonlyMap<string, number>
}

/** Ids: specials, then the 256 byte symbols, then each merge's result the first time it appears. */
const make = (
  specialTokens: ReadonlyArray<string>,
  merges: ReadonlyArray<readonly [string, string]>
): BuiltinTokenizer => {
  const tokens = [...specialTokens, ...byteToChar]
  const seen = new Set(tokens)
  for (const [a, b] of merges) {
    if (!seen.has(a + b)) tokens.push(a + b)
    seen.add(a + b)
  }
  return {
    tokens,
    merges,
    specialTokens,
    ids: new Map(tokens.map((t, i) => [t, i])),
    ranks: new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]))
  }
}

const splitter = () => new RegExp(splitPattern, "gu")

/** Pre-tokenize text into byte-level words. */
const utf8 = new TextEncoder()
const words = (text: string): Array<string> => (text.match(splitter()) ?? []).map((w) => encodeBytes(utf8.encode(w)))

/** Learn merges from `corpus` (each string a document): the classic BPE loop over word frequencies. */
export const train = (corpus: Iterable<string>, config: TrainConfig = defaultTrainConfig): BuiltinTokenizer => {
  const counts = new Map<string, number>()
  for (const doc of corpus) for (const w of words(doc)) counts.set(w, (counts.get(w) ?? 0) + 1)
  const entries = [...counts.entries()].toSorted((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const seqs = entries.map(([w]) => Array.from(w))
  const freq = entries.map(([, c]) => c)
  const pairCounts = new Map<string, number>()
  const pairWords = new Map<string, Set<number>>()
  const addPairs = (wi: number, sign: number) => {
    const s = seqs[wi]!
    for (let i = 0; i + 1 < s.length; i++) {
      const key = `${s[i]} ${s[i + 1]}`
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * freq[wi]!)
      if (sign > 0) {
        let set = pairWords.get(key)
        if (set === undefined) pairWords.set(key, (set = new Set()))
        set.add(wi)
      }
    }
  }
  seqs.forEach((_, wi) => addPairs(wi, 1))
  const merges: Array<readonly [string, string]> = []
  const known = new Set<string>([...config.specialTokens, ...byteToChar])
  while (known.size < config.vocabSize) {
    let best: string | undefined
    let bestCount = 0
    for (const [key, c] of pairCounts) {
      if (c > bestCount || (c === bestCount && best !== undefined && key < best)) {
        best = key
        bestCount = c
      }
    }
    if (best === undefined || bestCount < config.minFrequency) break
    const [a, b] = best.split(" ") as [string, string]
    merges.push([a, b])
    known.add(a + b) // two merge paths can spell the same token: it keeps its first id
    for (const wi of pairWords.get(best) ?? []) {
      const s = seqs[wi]!
      addPairs(wi, -1)
      const merged: Array<string> = []
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          merged.push(a + b)
          i++
        } else merged.push(s[i]!)
      }
      seqs[wi] = merged
      addPairs(wi, 1)
    }
    pairCounts.delete(best)
    for (const [key, c] of pairCounts) if (c <= 0) pairCounts.delete(key)
  }
  return make(config.specialTokens, merges)
}

/** BPE of one byte-level word: repeatedly merge the leftmost occurrence of the lowest-ranked pair. */
const bpe = (tok: BuiltinTokenizer, word: string): Array<string> => {
  const s = Array.from(word)
  for (;;) {
    let bestRank = Infinity
    let at = -1
    for (let i = 0; i + 1 < s.length; i++) {
      const r = tok.ranks.get(`${s[i]} ${s[i + 1]}`)
      if (r !== undefined && r < bestRank) {
        bestRank = r
        at = i
      }
    }
    if (at === -1) return s
    s.splice(at, 2, s[at]! + s[at + 1]!)
  }
}

/** Encode text to ids. Special-token strings in the text become their ids (as in transformers). */
export const encode = (tok: BuiltinTokenizer, text: string): Array<number> => {
  const out: Array<number> = []
  const specials = tok.specialTokens.toSorted((a, b) => b.length - a.length)
  let rest = text
  while (rest.length > 0) {
    let at = rest.length
    let which: string | undefined
    for (const sp of specials) {
      const i = rest.indexOf(sp)
      if (i !== -1 && i < at) {
        at = i
        which = sp
      }
    }
    for (const w of words(rest.slice(0, at))) for (const piece of bpe(tok, w)) out.push(tok.ids.get(piece) as number)
    if (which === undefined) break
    out.push(tok.ids.get(which) as number)
    rest = rest.slice(at + which.length)
  }
  return out
}

/** Decode ids to text (invalid UTF-8 becomes U+FFFD); specials are kept unless `skipSpecialTokens`. */
export const decode = (
  tok: BuiltinTokenizer,
  ids: ReadonlyArray<number>,
  options: { readonly skipSpecialTokens?: boolean } = {}
): string => {
  let text = ""
  let bytes: Array<number> = []
  const flush = () => {
    text += new TextDecoder().decode(Uint8Array.from(bytes))
    bytes = []
  }
  for (const id of ids) {
    if (id < tok.specialTokens.length) {
      flush()
      if (!(options.skipSpecialTokens ?? false)) text += tok.specialTokens[id]!
    } else bytes.push(...decodeChars(tok.tokens[id] ?? ""))
  }
  flush()
  return text
}

/** `tokenizer.json` (Hugging Face tokenizers format) for a trained tokenizer. */
export const tokenizerJson = (tok: BuiltinTokenizer): Record<string, unknown> => ({
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: addedTokens(tok.specialTokens),
  normalizer: null,
  pre_tokenizer: {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: splitPattern }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }
    ]
  },
  post_processor: null,
  decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
  model: {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab: Object.fromEntries(tok.tokens.map((t, i) => [t, i]).slice(tok.specialTokens.length)),
    merges: tok.merges.map(([a, b]) => [a, b])
  }
})

/** `tokenizer_config.json`: first special is BOS and padding, last is EOS; ChatML chat template. */
export const tokenizerConfig = (tok: BuiltinTokenizer, modelMaxLength: number): Record<string, unknown> => ({
  tokenizer_class: "PreTrainedTokenizerFast",
  bos_token: tok.specialTokens[0] ?? null,
  eos_token: tok.specialTokens.at(-1) ?? null,
  pad_token: tok.specialTokens[0] ?? null,
  unk_token: null,
  add_bos_token: false,
  clean_up_tokenization_spaces: false,
  model_max_length: modelMaxLength,
  chat_template: chatTemplate,
  added_tokens_decoder: Object.fromEntries(
    tok.specialTokens.map((content, id) => [
      String(id),
      { content, lstrip: false, rstrip: false, normalized: false, single_word: false, special: true }
    ])
  )
})

/** Write `tokenizer.json` and `tokenizer_config.json` into `dir`. */
export const save = (
  dir: string,
  tok: BuiltinTokenizer,
  modelMaxLength = 2048
): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(dir, { recursive: true })
    yield* fs.writeFileString(path.join(dir, "tokenizer.json"), `${JSON.stringify(tokenizerJson(tok), null, 1)}\n`)
    yield* fs.writeFileString(
      path.join(dir, "tokenizer_config.json"),
      `${JSON.stringify(tokenizerConfig(tok, modelMaxLength), null, 2)}\n`
    )
  })

/** `tokenizer.json` is not one this module wrote. */
export class NotABuiltinTokenizer extends Schema.TaggedError<NotABuiltinTokenizer>()("NotABuiltinTokenizer", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}; load other tokenizers with Tokenizer.load`
  }
}

/** Read back a tokenizer written by `save` (checks the pre-tokenizer and that vocab ids match merge order). */
export const read = (
  dir: string
): Effect.Effect<
  BuiltinTokenizer,
  NotABuiltinTokenizer | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dir, "tokenizer.json")
    const text = yield* fs.readFileString(file)
    const bad = (detail: string) => new NotABuiltinTokenizer({ path: file, detail })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as Record<string, unknown>,
      catch: () => bad("not JSON")
    })
    const pre = JSON.stringify(json.pre_tokenizer)
    if (pre !== JSON.stringify(tokenizerJson(make([], [])).pre_tokenizer)) return yield* bad("different pre-tokenizer")
    const model = json.model as
      | { type?: string; merges?: Array<[string, string]>; vocab?: Record<string, number> }
      | undefined
    const specials = (json.added_tokens as Array<{ content: string }> | undefined)?.map((t) => t.content) ?? []
    if (model?.type !== "BPE" || !Array.isArray(model.merges)) return yield* bad("not a BPE model with merges")
    const tok = make(
      specials,
      model.merges.map(([a, b]) => [a, b] as const)
    )
    const vocab = model.vocab ?? {}
    if (
      Object.keys(vocab).length !== tok.tokens.length - specials.length ||
      !Object.entries(vocab).every(([t, id]) => tok.ids.get(t) === id)
    ) {
      return yield* bad("vocab ids do not follow specials, bytes, merges order")
    }
    return tok
  })
