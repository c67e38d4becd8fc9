/**
 * Export a model as a Hugging Face directory that transformers and transformers.js both load: `config.json`,
 * `generation_config.json`, `model.safetensors`, the tokenizer files, and `onnx/model.onnx` in the layout
 * transformers.js' text-generation expects (inputs `input_ids`, `attention_mask`, `position_ids`,
 * `past_key_values.N.key/value`; outputs `logits`, `present.N.key/value`; weights as initializers, external data
 * beyond a size). The ONNX graph is the same decoder as training and generation, with symbolic dimensions.
 */
import { Graph, Layout, Onnx, Ops } from "@realm-lm/graph"
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect"
import * as Model from "./Model.ts"
import * as ModelConfig from "./ModelConfig.ts"
import * as Pretrained from "./Pretrained.ts"
import * as Weights from "./Weights.ts"
import * as A from "./internal/graphOps.ts"
import { type Dim, symbolicShapes } from "./internal/onnxPatch.ts"
import { offline } from "./internal/transformers.ts"

type T = Graph.Tensor

/** Tokenizer files copied into an export when present. */
export const tokenizerFiles = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "chat_template.jinja"
] as const

/** Input/output names of the exported ONNX model (transformers.js' decoder convention). */
export const onnxNames = {
  inputIds: "input_ids",
  attentionMask: "attention_mask",
  positionIds: "position_ids",
  pastKey: (l: number) => `past_key_values.${l}.key`,
  pastValue: (l: number) => `past_key_values.${l}.value`,
  logits: "logits",
  presentKey: (l: number) => `present.${l}.key`,
  presentValue: (l: number) => `present.${l}.value`
} as const

const int64 = (g: Graph.Graph, v: number): T => g.constant(BigInt64Array.of(BigInt(v)), [], "int64")

/**
 * The inference graph with dynamic batch and lengths. Built with nominal sizes (batch 2, 3 new tokens, 4 past) so
 * the builder checks shapes, using only reshapes that ONNX Runtime re-resolves at run time.
 * Inputs: `input_ids`, `attention_mask` `[batch, past + seq]`, `position_ids` (int64), `past_key_values.N.*`
 * `[batch, kvHeads, past, headDim]`. Outputs: `logits` `[batch, seq, vocab]`, `present.N.*` `[batch, kvHeads, past + seq, headDim]`.
 */
export const inferenceGraph = (config: ModelConfig.ModelConfig): Graph.Graph => {
  const [b, t, past] = [2, 3, 4]
  const s = past + t
  const { numKvHeads: kv, headDim: d } = config
  const g = Graph.make("model")
  const ids = g.input(onnxNames.inputIds, "int64", [b, t])
  const attention = g.input(onnxNames.attentionMask, "int64", [b, s])
  const positions = g.input(onnxNames.positionIds, "int64", [b, t])
  const pasts = Array.from({ length: config.numLayers }, (_, l) => ({
    key: g.input(onnxNames.pastKey(l), "float32", [b, kv, past, d]),
    value: g.input(onnxNames.pastValue(l), "float32", [b, kv, past, d])
  }))
  const params = Model.declareParams(g, config)
  // Query i (absolute slot total - seq + i) sees key j when j <= that slot and attention_mask[j] = 1.
  const gatherDim = (x: T, axis: number) =>
    g.addNode("Gather", [A.shapeOf(x), int64(g, axis)], [{ dtype: "int64", shape: [] }], { axis: { i: 0 } })[0]!
  const range = (from: T, to: T, n: number) =>
    g.addNode("Range", [from, to, int64(g, 1)], [{ dtype: "int64", shape: [n] }])[0]!
  const total = gatherDim(attention, 1)
  const keysIdx = Layout.unsqueeze(range(int64(g, 0), total, s), [0]) // [1, s]
  const queryIdx = Layout.unsqueeze(range(Ops.sub(total, gatherDim(ids, 1)), total, t), [1]) // [t, 1]
  const causal = Ops.lessOrEqual(keysIdx, queryIdx) // [t, s]
  const valid = A.reshape(Ops.cast(attention, "bool"), [0, 1, 1, 1, -1]) // [b, 1, 1, 1, s]
  const mask = Ops.where(Ops.and(causal, valid), g.scalar(0), g.scalar(Model.maskValue)) // [b, 1, 1, t, s]
  const dims = A.dynamicDims(ids)
  const f = Model.forward(
    config,
    params,
    A.reshape(ids, [-1]),
    A.reshape(positions, [-1]),
    Model.inferenceRopeTables(g, config, config.maxContext),
    {
      kind: "sequence",
      dims,
      mask,
      past: (l) => pasts[l]!
    }
  )
  g.output(
    onnxNames.logits,
    A.reshapeTo(Model.head(config, params, f.x, true), dims.shape([config.vocabSize]), [b, t, config.vocabSize])
  )
  f.kv.forEach((kvs, l) => {
    g.output(onnxNames.presentKey(l), kvs.key)
    g.output(onnxNames.presentValue(l), kvs.value)
  })
  return g
}

/** Options for `onnxModel` and `save`. */
export interface OnnxOptions {
  /** Store the weights in `model.onnx_data` when they total at least this many bytes (default 1 GiB; protobuf caps a file at 2 GiB). */
  readonly externalDataBytes?: number
}

/** The serialized ONNX model (and external data, if used) with `weights` baked in as initializers. */
export const onnxModel = (
  config: ModelConfig.ModelConfig,
  weights: Weights.Weights,
  options: OnnxOptions = {}
): { readonly model: Uint8Array; readonly externalData?: Uint8Array } => {
  const g = inferenceGraph(config)
  const bake: Record<string, Float32Array> = {}
  let bytes = 0
  for (const p of Weights.spec(config)) {
    bake[p.name] = Weights.get(weights, p.name).data
    bytes += Weights.get(weights, p.name).data.byteLength
  }
  const external = bytes >= (options.externalDataBytes ?? 2 ** 30)
  const encoded = Onnx.encode(g, {
    bake,
    ...(external ? { externalDataThreshold: 1024, externalDataPath: "model.onnx_data" } : {})
  })
  const { numKvHeads: kv, headDim: d } = config
  const dims: Record<string, ReadonlyArray<Dim>> = {
    [onnxNames.inputIds]: ["batch_size", "sequence_length"],
    [onnxNames.attentionMask]: ["batch_size", "total_sequence_length"],
    [onnxNames.positionIds]: ["batch_size", "sequence_length"],
    [onnxNames.logits]: ["batch_size", "sequence_length", config.vocabSize]
  }
  for (let l = 0; l < config.numLayers; l++) {
    dims[onnxNames.pastKey(l)] = dims[onnxNames.pastValue(l)] = ["batch_size", kv, "past_sequence_length", d]
    dims[onnxNames.presentKey(l)] = dims[onnxNames.presentValue(l)] = ["batch_size", kv, "total_sequence_length", d]
  }
  const model = symbolicShapes(encoded.model, dims)
  return encoded.externalData === undefined ? { model } : { model, externalData: encoded.externalData.data }
}

/** `generation_config.json` for a config (BOS/EOS/pad ids; greedy unless the caller samples). */
export const generationConfig = (config: ModelConfig.ModelConfig): Record<string, unknown> => ({
  bos_token_id: config.bosTokenId,
  eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds,
  ...(config.padTokenId === null ? {} : { pad_token_id: config.padTokenId }),
  do_sample: false
})

/** Options for `save`. */
export interface SaveOptions extends OnnxOptions, Pretrained.SaveOptions {
  /** Directory whose tokenizer files (`tokenizerFiles`) are copied alongside. */
  readonly tokenizerDir?: string
  /** Write `onnx/model.onnx` (default true). */
  readonly onnx?: boolean
}

/** Write a complete Hugging Face directory for `config` and `weights` (see the module comment). */
export const save = (
  dir: string,
  config: ModelConfig.ModelConfig,
  weights: Weights.Weights,
  options: SaveOptions = {}
): Effect.Effect<
  void,
  Weights.WeightsMismatch | ExportFailed | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (config.lora !== undefined) {
      const cause = new Error(
        "the config has LoRA adapters: save Lora.merge(config, weights, adapters) with Lora.baseConfig(config) (Policy.save does), or the adapters alone with Peft.save"
      )
      return yield* new ExportFailed({ dir, cause })
    }
    yield* Pretrained.save(dir, config, weights, options)
    let external = false
    if (options.onnx ?? true) {
      const onnx = yield* Effect.try({
        try: () => onnxModel(config, weights, options),
        catch: (cause) => new ExportFailed({ dir, cause })
      })
      yield* fs.makeDirectory(path.join(dir, "onnx"), { recursive: true })
      yield* fs.writeFile(path.join(dir, "onnx", "model.onnx"), onnx.model)
      if (onnx.externalData !== undefined) {
        external = true
        yield* fs.writeFile(path.join(dir, "onnx", "model.onnx_data"), onnx.externalData)
      }
    }
    const hf = {
      ...ModelConfig.toHf(config, {
        torchDtype: options.dtype === "BF16" ? "bfloat16" : options.dtype === "F16" ? "float16" : "float32"
      }),
      ...(external ? { "transformers.js_config": { use_external_data_format: true } } : {})
    }
    yield* fs.writeFileString(path.join(dir, "config.json"), `${JSON.stringify(hf, null, 2)}\n`)
    yield* fs.writeFileString(
      path.join(dir, "generation_config.json"),
      `${JSON.stringify(generationConfig(config), null, 2)}\n`
    )
    if (options.tokenizerDir !== undefined && path.resolve(options.tokenizerDir) !== path.resolve(dir)) {
      for (const f of tokenizerFiles) {
        const from = path.join(options.tokenizerDir, f)
        if (yield* fs.exists(from)) yield* fs.copyFile(from, path.join(dir, f))
      }
    }
  })

/** Building or serializing the ONNX model failed. */
export class ExportFailed extends Schema.TaggedError<ExportFailed>()("ExportFailed", {
  dir: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `exporting to ${this.dir} failed: ${String(this.cause)}`
  }
}

/** transformers.js could not load or run an exported directory. */
export class TransformersJsFailed extends Schema.TaggedError<TransformersJsFailed>()("TransformersJsFailed", {
  dir: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `transformers.js on ${this.dir}: ${String(this.cause)}`
  }
}

/** Run `use` with transformers.js (offline) and the absolute path of `dir`; any failure is `TransformersJsFailed`. */
const withTransformersJs = <A>(
  dir: string,
  use: (t: Awaited<ReturnType<typeof offline>>, absolute: string) => Promise<A>
): Effect.Effect<A, TransformersJsFailed, Path.Path> =>
  Effect.flatMap(Effect.service(Path.Path), (path) =>
    Effect.tryPromise({
      try: async () => use(await offline(), path.resolve(dir)),
      catch: (cause) => new TransformersJsFailed({ dir, cause })
    })
  )

/**
 * Greedy generation by transformers.js (offline) on an exported directory: `AutoModelForCausalLM` + `generate`
 * with `do_sample: false`. Prompts are left-padded with `padId` and masked. Returns the new tokens per prompt
 * (up to `maxNewTokens`, cut after a generation_config EOS). For checking exports and for benchmarks.
 */
export const transformersJsGreedy = (
  dir: string,
  prompts: ReadonlyArray<ReadonlyArray<number>>,
  maxNewTokens: number,
  padId = 0
): Effect.Effect<Array<Array<number>>, TransformersJsFailed, Path.Path> =>
  withTransformersJs(dir, async (t, absolute) => {
    const model = await t.AutoModelForCausalLM.from_pretrained(absolute, {
      local_files_only: true,
      dtype: "fp32",
      device: "cpu"
    })
    try {
      const width = Math.max(...prompts.map((p) => p.length))
      const ids = new BigInt64Array(prompts.length * width).fill(BigInt(padId))
      const mask = new BigInt64Array(prompts.length * width)
      prompts.forEach((p, i) => {
        p.forEach((tok, j) => (ids[i * width + width - p.length + j] = BigInt(tok)))
        mask.fill(1n, i * width + width - p.length, (i + 1) * width)
      })
      const out = (await model.generate({
        input_ids: new t.Tensor("int64", ids, [prompts.length, width]),
        attention_mask: new t.Tensor("int64", mask, [prompts.length, width]),
        max_new_tokens: maxNewTokens,
        do_sample: false
      } as never)) as { readonly data: BigInt64Array; readonly dims: ReadonlyArray<number> }
      const cols = out.dims[1]!
      return prompts.map((_, i) => Array.from(out.data.subarray(i * cols + width, (i + 1) * cols), Number))
    } finally {
      await model.dispose()
    }
  })

/**
 * `pipeline('text-generation', dir)` from transformers.js, offline: greedy continuation of `text` (the prompt is
 * tokenized as the pipeline does, with the tokenizer's special tokens). Returns the generated text only.
 */
export const transformersJsPipeline = (
  dir: string,
  text: string,
  maxNewTokens: number
): Effect.Effect<string, TransformersJsFailed, Path.Path> =>
  withTransformersJs(dir, async (t, absolute) => {
    const generator = await t.pipeline("text-generation", absolute, {
      local_files_only: true,
      dtype: "fp32",
      device: "cpu"
    })
    try {
      const out = (await generator(text, {
        max_new_tokens: maxNewTokens,
        do_sample: false,
        return_full_text: false
      } as never)) as unknown as Array<{ readonly generated_text: string }>
      return out[0]?.generated_text ?? ""
    } finally {
      await generator.dispose()
    }
  })
