/**
 * Hugging Face tokenizers and chat templates through transformers.js, loaded from a local directory
 * (`tokenizer.json` + `tokenizer_config.json`) and never from the network. The `Tokenizer` record hides
 * transformers.js behind plain functions over token id arrays.
 */
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect"
import type * as Transformers from "@huggingface/transformers"
import { offline } from "./internal/transformers.ts"

/** The directory lacks `tokenizer.json` or `tokenizer_config.json`. */
export class TokenizerFilesMissing extends Schema.TaggedError<TokenizerFilesMissing>()("TokenizerFilesMissing", {
  dir: Schema.String,
  missing: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.dir} lacks ${this.missing.join(" and ")}: a tokenizer directory needs the fast-tokenizer tokenizer.json and tokenizer_config.json (save_pretrained writes both)`
  }
}

/** transformers.js could not build a tokenizer from the files. */
export class TokenizerLoadFailed extends Schema.TaggedError<TokenizerLoadFailed>()("TokenizerLoadFailed", {
  dir: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `could not load the tokenizer in ${this.dir}: ${String(this.cause)}`
  }
}

/** Rendering a chat template failed (no template, or the template raised). */
export class ChatTemplateFailed extends Schema.TaggedError<ChatTemplateFailed>()("ChatTemplateFailed", {
  detail: Schema.String
}) {
  override get message(): string {
    return `chat template: ${this.detail}`
  }
}

/** One chat message. */
export interface ChatMessage {
  readonly role: string
  readonly content: string
}

/** Options for `applyChatTemplate`. */
export interface ChatTemplateOptions {
  /** End with the assistant header so the model writes the reply (default true). */
  readonly addGenerationPrompt?: boolean
  /** A Jinja template to use instead of the tokenizer's own. */
  readonly template?: string
  /** Extra template variables (e.g. Llama 3's `date_string`, which otherwise comes from the clock). */
  readonly variables?: Readonly<Record<string, unknown>>
}

/** A loaded tokenizer. */
export interface Tokenizer {
  /** Token ids of `text`; `addSpecialTokens` (default false) adds what the post-processor adds (e.g. Llama 3's BOS). */
  readonly encode: (text: string, options?: { readonly addSpecialTokens?: boolean }) => Array<number>
  /** Text of token ids; special tokens are kept unless `skipSpecialTokens`. */
  readonly decode: (ids: ReadonlyArray<number>, options?: { readonly skipSpecialTokens?: boolean }) => string
  /** Render a conversation to the prompt text with the tokenizer's chat template. */
  readonly applyChatTemplate: (
    messages: ReadonlyArray<ChatMessage>,
    options?: ChatTemplateOptions
  ) => Effect.Effect<string, ChatTemplateFailed>
  /** The chat template text, if the tokenizer has one. */
  readonly chatTemplate: string | undefined
  /** Id of a token string (special or not), if it is in the vocabulary. */
  readonly tokenToId: (token: string) => number | undefined
  /** Number of ids (vocabulary plus added tokens). */
  readonly vocabSize: number
  readonly bosTokenId: number | undefined
  readonly eosTokenId: number | undefined
  readonly padTokenId: number | undefined
  /** Ids of every special token (BOS, EOS, chat markers, ...). */
  readonly specialTokenIds: ReadonlyArray<number>
}

/** Load the tokenizer in `dir` with transformers.js' AutoTokenizer, offline. */
export const load = (
  dir: string
): Effect.Effect<
  Tokenizer,
  TokenizerFilesMissing | TokenizerLoadFailed | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const absolute = path.resolve(dir) // an absolute path is never mistaken for a Hub model id
    const missing: Array<string> = []
    for (const f of ["tokenizer.json", "tokenizer_config.json"])
      if (!(yield* fs.exists(path.join(absolute, f)))) missing.push(f)
    if (missing.length > 0) return yield* new TokenizerFilesMissing({ dir, missing })
    const tok = yield* Effect.tryPromise({
      try: async () => (await offline()).AutoTokenizer.from_pretrained(absolute, { local_files_only: true }),
      catch: (cause) => new TokenizerLoadFailed({ dir, cause })
    })
    return wrap(tok)
  })

type Pretrained = Awaited<ReturnType<typeof Transformers.AutoTokenizer.from_pretrained>>

const idOrUndefined = (id: unknown): number | undefined => (typeof id === "number" ? id : undefined)

const wrap = (tok: Pretrained): Tokenizer => {
  const template = tok.chat_template
  const vocab = tok.get_vocab()
  let maxId = -1
  for (const id of vocab.values()) maxId = Math.max(maxId, id)
  return {
    encode: (text, options) => tok.encode(text, { add_special_tokens: options?.addSpecialTokens ?? false }),
    decode: (ids, options) =>
      ids.length === 0
        ? ""
        : tok.decode([...ids], {
            skip_special_tokens: options?.skipSpecialTokens ?? false,
            clean_up_tokenization_spaces: false
          }),
    applyChatTemplate: (messages, options = {}) =>
      Effect.try({
        try: () =>
          tok.apply_chat_template(
            messages.map((m) => ({ role: m.role, content: m.content })),
            {
              tokenize: false,
              add_generation_prompt: options.addGenerationPrompt ?? true,
              ...(options.template !== undefined ? { chat_template: options.template } : {}),
              ...options.variables
            }
          ),
        catch: (e) => new ChatTemplateFailed({ detail: e instanceof Error ? e.message : String(e) })
      }),
    chatTemplate: typeof template === "string" ? template : undefined,
    tokenToId: (token) => vocab.get(token),
    vocabSize: maxId + 1,
    bosTokenId: idOrUndefined(tok.bos_token_id),
    eosTokenId: idOrUndefined(tok.eos_token_id),
    padTokenId: idOrUndefined(tok.pad_token_id),
    specialTokenIds: tok.all_special_ids
  }
}
