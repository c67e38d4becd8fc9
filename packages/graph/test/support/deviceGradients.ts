/**
 * Gradients on a device against the float64 CPU reference: each case's loss and autodiff gradients are
 * computed in float32 on the device under test (webgpu, cuda, or cpu for a dry run) and in float64 on the
 * CPU (the path the finite-difference tests check), from the same values. A training step is compared the
 * same way: three AdamW steps on the device against three on the CPU. Used by `DeviceGradients.gpu.test.ts`
 * (vitest, REALM_GPU=1) and by `bench/device-check.ts` (the GPU check script, which runs without vitest).
 */
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { grad } from "../../src/Autodiff.ts"
import type { EmbeddingGrad } from "../../src/Autodiff.ts"
import type { Device } from "../../src/Device.ts"
import * as Executor from "../../src/Executor.ts"
import * as G from "../../src/Graph.ts"
import * as Init from "../../src/Init.ts"
import * as L from "../../src/Layout.ts"
import * as LmHead from "../../src/LmHead.ts"
import * as Loss from "../../src/Loss.ts"
import * as Nn from "../../src/Nn.ts"
import * as O from "../../src/Ops.ts"
import type { DeviceTensor } from "../../src/State.ts"
import * as Transformer from "./transformer.ts"

/** One graph to differentiate: `build` returns a scalar loss; int inputs come from `feeds`. */
export interface Case {
  readonly name: string
  readonly build: (g: G.Graph) => G.Tensor
  readonly feeds: Readonly<Record<string, Int32Array>>
  readonly embedding?: EmbeddingGrad
}

/** Per-tensor agreement: `maxAbsError ≤ atol + rtol · scale`, scale = max |reference|. */
export interface TensorResult {
  readonly name: string
  readonly maxAbsError: number
  readonly scale: number
  readonly ok: boolean
}

/** Result of one case on one device. */
export interface CaseResult {
  readonly name: string
  readonly device: Device
  readonly ok: boolean
  /** Worst tensor by error relative to its tolerance. */
  readonly worst: TensorResult | undefined
  readonly tensors: ReadonlyArray<TensorResult>
  readonly ms: number
}

/** Tolerances for float32 device results against float64: relative to each tensor's largest reference entry. */
export const tolerance = { rtol: 2e-3, atol: 1e-6 } as const

const size: Transformer.TransformerSize = { vocab: 96, dim: 32, heads: 4, kvHeads: 2, hidden: 64, layers: 2 }
const bucket: Transformer.Bucket = { batch: 2, seq: 16 }

const ids = (n: number, below: number, seed: number, ignoreEvery = 0): Int32Array => {
  const rng = Rng.Rng.make(seed)
  return Int32Array.from({ length: n }, (_, i) =>
    ignoreEvery > 0 && i % ignoreEvery === ignoreEvery - 1 ? -100 : rng.int(below)
  )
}

/**
 * The cases: a decoder (both embedding gradients), the vocabulary-chunked head, the head on gathered rows, norms and
 * activations, RL terms.
 */
export const cases: ReadonlyArray<Case> = [
  ...(["scatter", "matmul"] as const).map((embedding): Case => ({
    name: `decoder L2 d32 GQA+RoPE+SwiGLU, tied head, CE ignore -100, embedding grad ${embedding}`,
    build: (g) => Transformer.model(size)(g, bucket).loss,
    feeds: {
      tokens: ids(bucket.batch * bucket.seq, size.vocab, 1),
      targets: ids(bucket.batch * bucket.seq, size.vocab, 2, 7)
    },
    embedding
  })),
  {
    name: "LM head log-probs, vocabulary chunks of 24 (running log-sum-exp)",
    build: (g) => {
      const h = g.param("h", [24, 16], { init: Init.normal(1) })
      const w = g.param("w", [96, 16], { init: Init.normal(0.3) })
      return O.reduceMean(LmHead.tokenLogProbs(h, w, g.input("t", "int32", [24]), { vocabChunk: 24 }))
    },
    feeds: { t: ids(24, 96, 3) }
  },
  {
    name: "rows gathered before a chunked LM head (the RL update's head window)",
    build: (g) => {
      const h = g.param("h", [32, 16], { init: Init.normal(1) }) // batch 2 × length 16 hidden rows
      const w = g.param("w", [96, 16], { init: Init.normal(0.3) })
      const rows = L.gather(h, g.input("scored", "int32", [2, 4]), 0) // [2, 4, 16]
      return O.reduceMean(LmHead.tokenLogProbs(rows, w, g.input("t", "int32", [2, 4]), { vocabChunk: 24 }))
    },
    feeds: { scored: Int32Array.of(3, 4, 5, 6, 17, 18, 19, 20), t: ids(8, 96, 5) }
  },
  {
    name: "LayerNorm, GELU (Erf), Softmax, Tanh, Sigmoid, Clip, Max/Min, Pow, Div",
    build: (g) => {
      const x = g.param("x", [8, 32], { init: Init.normal(1) })
      const y = Nn.layerNorm(
        x,
        g.param("gamma", [32], { init: Init.normal(0.2, 1) }),
        g.param("beta", [32], { init: Init.normal(0.1) })
      )
      const a = Nn.gelu(Nn.linear(y, g.param("w", [32, 32], { init: Init.normal(0.2) })))
      const s = O.softmax(O.mul(a, 2))
      const b = O.add(O.tanh(a), O.sigmoid(O.clip(a, -0.5, 0.5)))
      const sines = Float64Array.from({ length: 256 }, (_, i) => Math.sin(i))
      const c = O.div(O.max(a, O.min(b, 0.3)), O.add(O.pow(O.sigmoid(b), 2), 1))
      return O.reduceSum(
        O.mul(O.add(s, c), g.constant(g.float === "float64" ? sines : Float32Array.from(sines), [8, 32]))
      )
    },
    feeds: {}
  },
  {
    name: "token log-probs, KL k3 and a masked mean (RL terms)",
    build: (g) => {
      const logits = g.param("logits", [4, 8, 40], { init: Init.normal(1) })
      const ref = g.param("ref", [4, 8], { init: Init.normal(0.2, -3) })
      const t = g.input("t", "int32", [4, 8])
      const logp = Loss.tokenLogProbs(Nn.logSoftmax(logits), t)
      return O.add(Loss.maskedMean(logp), Loss.maskedMean(Loss.klK3(logp, ref)))
    },
    feeds: { t: ids(32, 40, 4) }
  }
]

/** Values for every float input: drawn from each param's init (normal(1) for plain inputs), rounded to float32. */
const valuesFor = (g: G.Graph): Record<string, Float64Array> => {
  const rng = Rng.Rng.make(11, "device-gradients")
  const out: Record<string, Float64Array> = {}
  for (const t of g.inputs) {
    if (t.dtype !== "float64") continue
    const spec = g.paramNamed(t.name)
    const drawn = Init.fill(spec?.init ?? Init.normal(1), t.size, rng.split(t.name), "float64")
    out[t.name] = Float64Array.from(Float32Array.from(drawn))
  }
  return out
}

const lossAndGrads = (c: Case, float: G.FloatType) => {
  const g = G.make(`device_gradients_${float}`, { float })
  const loss = c.build(g)
  g.output("loss", loss)
  const wrt = g.inputs.filter((t) => t.dtype === float)
  grad(loss, wrt, c.embedding === undefined ? {} : { embedding: c.embedding }).forEach((d, i) =>
    g.output(`grad::${wrt[i]!.name}`, d)
  )
  return g
}

const compare = (name: string, got: ArrayLike<number>, want: ArrayLike<number>): TensorResult => {
  let err = 0
  let scale = 0
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!)
    err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(err, d)
    scale = Math.max(scale, Math.abs(want[i]!))
  }
  if (got.length !== want.length) err = Number.POSITIVE_INFINITY
  return { name, maxAbsError: err, scale, ok: err <= tolerance.atol + tolerance.rtol * scale }
}

const summarize = (name: string, device: Device, tensors: Array<TensorResult>, started: number): CaseResult => {
  const margin = (t: TensorResult) => t.maxAbsError / (tolerance.atol + tolerance.rtol * t.scale)
  const worst = tensors.reduce<TensorResult | undefined>(
    (w, t) => (w === undefined || margin(t) > margin(w) ? t : w),
    undefined
  )
  return {
    name,
    device,
    ok: tensors.length > 0 && tensors.every((t) => t.ok),
    worst,
    tensors,
    ms: performance.now() - started
  }
}

const data = (t: DeviceTensor | undefined): ArrayLike<number> => (t?.data ?? new Float32Array()) as ArrayLike<number>

/** Run one case in float32 on `device` and in float64 on the CPU; compare the loss and every gradient. */
export const runCase = (c: Case, device: Device) =>
  Effect.scoped(
    Effect.gen(function* () {
      const started = performance.now()
      const refGraph = lossAndGrads(c, "float64")
      const devGraph = lossAndGrads(c, "float32")
      const values = valuesFor(refGraph)
      const ref = yield* Executor.make({ device: "cpu", intraOpThreads: 1, graphOptimization: "basic" })
      const dev = device === "cpu" ? ref : yield* Executor.make({ device, logLevel: "error" })
      const want = yield* (yield* ref.compile(refGraph)).run({ ...c.feeds, ...values })
      const f32: Record<string, Float32Array> = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, Float32Array.from(v)])
      )
      const got = yield* (yield* dev.compile(devGraph)).run({ ...c.feeds, ...f32 })
      const tensors = refGraph.outputs.map((o) => compare(o.name, data(got[o.name]), data(want[o.name])))
      return summarize(c.name, device, tensors, started)
    })
  )

/** Three AdamW steps (clip 1, lr 1e-3) of the decoder on `device` and on the CPU, both float32: losses and final params. */
export const runTrainingSteps = (device: Device) =>
  Effect.scoped(
    Effect.gen(function* () {
      const started = performance.now()
      const n = bucket.batch * bucket.seq
      const batches = [0, 1, 2].map((i) => ({
        tokens: ids(n, size.vocab, 20 + i),
        targets: ids(n, size.vocab, 30 + i, 9)
      }))
      const train = (d: Device) =>
        Effect.gen(function* () {
          const exec = yield* Executor.make({ device: d, intraOpThreads: d === "cpu" ? 1 : 0, logLevel: "error" })
          const trainer = yield* Transformer.adamwTrainer(exec, size, bucket, 5)
          const losses: Array<number> = []
          for (const b of batches) losses.push((yield* trainer.step(b, { lr: 1e-3 })).loss)
          return { losses, params: yield* exec.read(trainer.trainable) }
        })
      const want = yield* train("cpu")
      const got = yield* train(device)
      const tensors = [
        compare("losses", got.losses, want.losses),
        ...Object.keys(want.params)
          .toSorted()
          .map((k) => compare(k, (got.params[k] ?? []) as ArrayLike<number>, want.params[k] as ArrayLike<number>))
      ]
      return summarize("decoder: 3 AdamW steps (clip 1), params and losses vs CPU float32", device, tensors, started)
    })
  )
