/**
 * The generation engine: batched sampling on ONNX Runtime with a KV cache. Prompts are left-padded and prefilled
 * once per distinct prompt (G samples share it), then one decode-step session per (batch, cache capacity) bucket
 * runs every step with the weights read from the executor's state, so new weights need no re-export. Returns
 * token ids with per-token log-probs; each sequence draws from its own `Rng` stream, so samples do not depend on
 * how requests were batched.
 */
import { ConfigDecode, Rng } from "@realm-lm/core"
import type { Executor, Session } from "@realm-lm/graph"
import type { Scope } from "effect"
import { Effect, Schema } from "effect"
import * as Model from "./Model.ts"
import type { ModelConfig } from "./ModelConfig.ts"
import * as Sampling from "./Sampling.ts"
import { KvCache } from "./internal/kvCache.ts"
import type { CompileError } from "./internal/sessions.ts"
import * as Sessions from "./internal/sessions.ts"
import { cancelIfAborted, pick, rngCoin, type SequenceState, startSequence } from "./internal/decoding.ts"

const { PositiveInt } = ConfigDecode

const Buckets = Schema.Array(PositiveInt).check(
  Schema.makeFilter((a) =>
    a.length > 0 && a.every((v, i) => i === 0 || v > a[i - 1]!) ? undefined : "must be a non-empty increasing list"
  )
)

/** Engine settings (all optional). Buckets trade compile count against padding waste. */
export const GeneratorConfig = Schema.Struct({
  /** Most sequences decoded together (rows); more run in waves. Default 128. */
  maxBatch: Schema.optionalKey(PositiveInt),
  /** Decode/prefill batch sizes compiled. Default powers of two up to `maxBatch`. */
  batchBuckets: Schema.optionalKey(Buckets),
  /** Prompt lengths (tokens) prompts are left-padded to. Default 16, 32, 64, ... up to the context. */
  promptBuckets: Schema.optionalKey(Buckets),
  /** KV-cache capacities (slots). Default every 64 up to 1024, then multiples of 256 (attention reads the whole capacity). */
  capacityBuckets: Schema.optionalKey(Buckets),
  /** Drop finished rows into a smaller batch bucket once at most this fraction is still running (0 = never). Default 0.5. */
  compactAt: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  /** Largest attention-score tensor of one prefill chunk (elements, sets the prefill batch). Default 2^25. */
  prefillScoreBudget: Schema.optionalKey(PositiveInt)
})
/** Engine settings. */
export type GeneratorConfig = typeof GeneratorConfig.Encoded

/** A generation request was malformed. */
export class InvalidGenerateRequest extends Schema.TaggedError<InvalidGenerateRequest>()("InvalidGenerateRequest", {
  request: Schema.Int,
  detail: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `generate request ${this.request}: ${this.detail}. ${this.fix}`
  }
}

/** Everything `generate` can fail with. */
export type GenerateError = InvalidGenerateRequest | CompileError | Session.FeedMismatch | Session.RunFailed

/** One prompt to complete. */
export interface Request {
  /** Prompt token ids (non-empty; e.g. starting with BOS). */
  readonly prompt: ReadonlyArray<number>
  /** Completions to sample from this prompt (default 1); they share one prefill. */
  readonly samples?: number
  /** This request's random stream; sample j draws from `rng.split("sample", j)`. Default `Rng.make(options.seed, "request", i)`. */
  readonly rng?: Rng.Rng
  /** A coin source in [0, 1) used instead of `rng` (e.g. to replay another program's sampler); only with samples = 1. */
  readonly coin?: () => number
  /** Overrides `options.maxNewTokens` for this request. */
  readonly maxNewTokens?: number
  /** Overrides `options.sampling` for this request (requests with different settings still share one batch). */
  readonly sampling?: Sampling.SamplingConfig
  /** Overrides `options.stopStrings` for this request. */
  readonly stopStrings?: ReadonlyArray<string>
  /**
   * Called synchronously after each token of sample `sample` is chosen, with the completion so far and its finish
   * reason once it ended (for streaming). If it throws, it is not called again and that sample ends (`length`);
   * the rest of the batch is unaffected.
   */
  readonly onToken?: (sample: number, tokens: ReadonlyArray<number>, finished: FinishReason | undefined) => void
  /** Once aborted, this request's samples stop at the next step (finish reason `length`); the batch goes on. */
  readonly signal?: AbortSignal
}

/** Settings of one `generate` call. */
export interface GenerateOptions {
  /** Tokens to generate at most per completion. */
  readonly maxNewTokens: number
  /** Default greedy. */
  readonly sampling?: Sampling.SamplingConfig
  /** Token ids that end a completion (included in it). Default the config's `eos_token_id`s. */
  readonly stopTokens?: ReadonlyArray<number>
  /** Texts that end a completion once its decoded text contains one (needs `decode`). */
  readonly stopStrings?: ReadonlyArray<string>
  /** Token ids → text, for stop strings. */
  readonly decode?: (ids: ReadonlyArray<number>) => string
  /** Seed of the default per-request streams (required for sampling unless every request has `rng`). */
  readonly seed?: Rng.SeedKey
}

/** Why a completion ended: a stop token, a stop string, or the token/context limit. */
export type FinishReason = "eos" | "stop" | "length"

/** One completion. */
export interface Completion {
  /** Generated token ids (prompt excluded; a stop token or the token completing a stop string included). */
  readonly tokens: ReadonlyArray<number>
  /** log π(token) under the model's raw distribution (softmax of the logits, temperature 1, no top-k/top-p): what policy ratios and KL use. */
  readonly logProbs: ReadonlyArray<number>
  /** log-probability under the distribution actually sampled from (after temperature, top-k, top-p); 0 for greedy. */
  readonly samplingLogProbs: ReadonlyArray<number>
  readonly finishReason: FinishReason
}

/** The engine. */
export interface Generator {
  /** Completions per request, `samples` each, in request order. */
  readonly generate: (
    requests: ReadonlyArray<Request>,
    options: GenerateOptions
  ) => Effect.Effect<Array<Array<Completion>>, GenerateError>
}

interface Resolved {
  readonly maxBatch: number
  readonly batchBuckets: ReadonlyArray<number>
  readonly promptBuckets: ReadonlyArray<number>
  readonly capacityBuckets: ReadonlyArray<number>
  readonly compactAt: number
  readonly prefillScoreBudget: number
}

const resolve = (config: ModelConfig, c: typeof GeneratorConfig.Type): Resolved => {
  const maxBatch = c.maxBatch ?? 128
  return {
    maxBatch,
    batchBuckets: c.batchBuckets ?? Sessions.powersOfTwo(1, maxBatch),
    promptBuckets: c.promptBuckets ?? Sessions.powersOfTwo(16, config.maxContext),
    capacityBuckets: c.capacityBuckets ?? Array.from({ length: 16 }, (_, i) => 64 * (i + 1)),
    compactAt: c.compactAt ?? 0.5,
    prefillScoreBudget: c.prefillScoreBudget ?? 2 ** 25
  }
}

/** Check requests before any work. */
const validate = (
  config: ModelConfig,
  requests: ReadonlyArray<Request>,
  options: GenerateOptions
): Effect.Effect<void, InvalidGenerateRequest> =>
  Effect.gen(function* () {
    const bad = (request: number, detail: string, fix: string) =>
      Effect.fail(new InvalidGenerateRequest({ request, detail, fix }))
    for (const [i, r] of requests.entries()) {
      const maxNew = r.maxNewTokens ?? options.maxNewTokens
      const sampling = r.sampling ?? options.sampling ?? Sampling.greedy
      if ((r.stopStrings ?? options.stopStrings ?? []).length > 0 && options.decode === undefined)
        return yield* bad(i, "stop strings need a decoder", "pass options.decode (e.g. tokenizer.decode)")
      if (r.prompt.length === 0)
        return yield* bad(i, "the prompt is empty", "start prompts with at least one token (e.g. BOS)")
      if (r.prompt.some((t) => !Number.isInteger(t) || t < 0 || t >= config.vocabSize))
        return yield* bad(i, `a prompt token is outside [0, ${config.vocabSize})`, "encode with the model's tokenizer")
      if (r.prompt.length > config.maxContext)
        return yield* bad(
          i,
          `the prompt has ${r.prompt.length} tokens, the context holds ${config.maxContext}`,
          "truncate the prompt"
        )
      if (!Number.isInteger(maxNew) || maxNew < 1)
        return yield* bad(i, `maxNewTokens must be a positive integer, got ${maxNew}`, "ask for at least one token")
      if ((r.samples ?? 1) < 1 || !Number.isInteger(r.samples ?? 1))
        return yield* bad(i, `samples must be a positive integer, got ${r.samples}`, "ask for at least one sample")
      if (r.coin !== undefined && (r.samples ?? 1) !== 1)
        return yield* bad(i, "a coin source serves one sample", "use rng for several samples")
      if (
        !(sampling.temperature >= 0) ||
        !(sampling.topP > 0 && sampling.topP <= 1) ||
        !(Number.isInteger(sampling.topK) && sampling.topK >= 0)
      ) {
        return yield* bad(
          i,
          `sampling settings out of range (temperature ${sampling.temperature}, topK ${sampling.topK}, topP ${sampling.topP})`,
          "use temperature >= 0, an integer topK >= 0 and 0 < topP <= 1"
        )
      }
      if (sampling.temperature > 0 && r.rng === undefined && r.coin === undefined && options.seed === undefined)
        return yield* bad(i, "sampling needs randomness", "pass options.seed or a per-request rng")
    }
  })

/** Start a generator on `executor` (whose state must hold the weights by Hugging Face name) for `config`. */
export const make = (
  executor: Executor.ExecutorShape,
  config: ModelConfig,
  settings: GeneratorConfig = {}
): Effect.Effect<Generator, Schema.SchemaError, Scope.Scope> =>
  Effect.gen(function* () {
    const r = resolve(config, yield* ConfigDecode.decodeUnknownEffect(GeneratorConfig)(settings))
    const sessions = yield* Sessions.make(executor)
    const batchFor = (n: number) => Sessions.bucketFor(r.batchBuckets, n, r.maxBatch)
    const prefill = (b: number, p: number) =>
      sessions(`prefill:${b}:${p}`, () => Model.prefillGraph(config, { batch: b, length: p }))
    const decode = (b: number, c: number) =>
      sessions(`decode:${b}:${c}`, () => Model.decodeGraph(config, { batch: b, capacity: c }))
    const layers = Array.from({ length: config.numLayers }, (_, l) => l)

    /** Decode one wave of at most maxBatch sequences to the end. */
    const runWave = (seqs: Array<SequenceState>, options: GenerateOptions) =>
      Effect.gen(function* () {
        // Distinct prompts, prefilled once each.
        const keyOf = (p: ReadonlyArray<number>) => p.join(",")
        const distinct = new Map<string, number>()
        const prompts: Array<ReadonlyArray<number>> = []
        const source = seqs.map((s) => {
          const k = keyOf(s.prompt)
          let u = distinct.get(k)
          if (u === undefined) {
            u = prompts.length
            distinct.set(k, u)
            prompts.push(s.prompt)
          }
          return u
        })
        const length = Sessions.bucketFor(r.promptBuckets, Math.max(...prompts.map((p) => p.length)))
        let rows = seqs.map((_, i) => i) // cache row → sequence
        let cache = new KvCache(config, batchFor(seqs.length), Sessions.bucketFor(r.capacityBuckets, length + 1))
        const chunk = Math.max(
          1,
          Math.min(r.maxBatch, Math.floor(r.prefillScoreBudget / (config.numHeads * length * length)))
        )
        for (let start = 0; start < prompts.length; start += chunk) {
          const part = prompts.slice(start, start + chunk)
          const b = batchFor(part.length)
          const ids = new Int32Array(b * length)
          const positions = new Int32Array(b * length)
          const keyMask = new Float32Array(b * length).fill(Model.maskValue)
          part.forEach((p, i) => {
            const pad = length - p.length
            ids.set(p, i * length + pad)
            for (let t = 0; t < p.length; t++) positions[i * length + pad + t] = t
            keyMask.fill(0, i * length + pad, (i + 1) * length)
          })
          const session = yield* prefill(b, length)
          const out = yield* session.run({
            [Model.names.inputIds]: ids,
            [Model.names.positions]: positions,
            [Model.names.keyMask]: keyMask
          })
          const keys = layers.map((l) => out[Model.names.key(l)]?.data as Float32Array)
          const values = layers.map((l) => out[Model.names.value(l)]?.data as Float32Array)
          const logits = out[Model.names.logits]?.data as Float32Array
          seqs.forEach((s, row) => {
            const u = source[row]!
            if (u < start || u >= start + part.length) return
            cache.fillFromPrefill(row, u - start, keys, values, length, s.prompt.length)
            pick(
              s,
              logits.subarray((u - start) * config.vocabSize, (u - start + 1) * config.vocabSize),
              options,
              config.maxContext
            )
          })
        }
        for (let slot = length; rows.some((i) => !seqs[i]!.done); slot++) {
          for (const i of rows) cancelIfAborted(seqs[i]!)
          if (rows.every((i) => seqs[i]!.done)) break
          const active = rows.filter((i) => !seqs[i]!.done)
          const smaller = batchFor(active.length)
          if (smaller < cache.batch && active.length <= r.compactAt * cache.batch) {
            const keep = rows.flatMap((seq, row) => (seqs[seq]!.done ? [] : [row]))
            cache = cache.relayout(
              [...keep, ...Array.from({ length: smaller - keep.length }, () => -1)],
              smaller,
              cache.capacity
            )
            rows = keep.map((row) => rows[row]!)
          }
          if (slot >= cache.capacity) {
            cache = cache.relayout(
              Array.from({ length: cache.batch }, (_, i) => (i < rows.length ? i : -1)),
              cache.batch,
              Sessions.bucketFor(r.capacityBuckets, slot + 1)
            )
          }
          const b = cache.batch
          const ids = new Int32Array(b)
          const positions = new Int32Array(b)
          rows.forEach((seq, row) => {
            const s = seqs[seq]!
            ids[row] = s.tokens[s.tokens.length - 1]!
            positions[row] = s.prompt.length + s.tokens.length - 1
          })
          const session = yield* decode(b, cache.capacity)
          const feeds: Record<string, Session.Feed> = {
            [Model.names.inputIds]: ids,
            [Model.names.positions]: positions,
            [Model.names.cacheMask]: cache.maskTensor
          }
          for (const l of layers) {
            feeds[Model.names.pastKey(l)] = cache.keyTensors[l]!
            feeds[Model.names.pastValue(l)] = cache.valueTensors[l]!
          }
          const out = yield* session.run(feeds)
          cache.write(
            slot,
            out[Model.names.newKeys]?.data as Float32Array,
            out[Model.names.newValues]?.data as Float32Array
          )
          const logits = out[Model.names.logits]?.data as Float32Array
          rows.forEach((seq, row) => {
            const s = seqs[seq]!
            if (!s.done)
              pick(s, logits.subarray(row * config.vocabSize, (row + 1) * config.vocabSize), options, config.maxContext)
          })
        }
      })

    const generate: Generator["generate"] = (requests, options) =>
      Effect.gen(function* () {
        yield* validate(config, requests, options)
        const stopTokens = new Set(options.stopTokens ?? config.eosTokenIds)
        const all: Array<Array<SequenceState>> = requests.map((req, i) => {
          const rng = req.rng ?? Rng.Rng.make(options.seed ?? 0, "request", i)
          return Array.from({ length: req.samples ?? 1 }, (_, j) =>
            startSequence({
              prompt: req.prompt,
              maxNew: req.maxNewTokens ?? options.maxNewTokens,
              coin: req.coin ?? rngCoin(rng.split("sample", j)),
              sampling: req.sampling ?? options.sampling ?? Sampling.greedy,
              stopTokens,
              stopStrings: req.stopStrings ?? options.stopStrings ?? [],
              ...(req.onToken === undefined
                ? {}
                : { onToken: (tokens, finished) => req.onToken?.(j, tokens, finished) }),
              ...(req.signal === undefined ? {} : { signal: req.signal })
            })
          )
        })
        let wave: Array<SequenceState> = []
        for (const s of all.flat()) {
          wave.push(s)
          if (wave.length === r.maxBatch) {
            yield* runWave(wave, options)
            wave = []
          }
        }
        if (wave.length > 0) yield* runWave(wave, options)
        return all.map((group) =>
          group.map((s) => ({
            tokens: s.tokens,
            logProbs: s.logProbs,
            samplingLogProbs: s.samplingLogProbs,
            finishReason: s.finishReason
          }))
        )
      })

    return { generate }
  })
