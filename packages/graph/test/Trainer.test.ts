/**
 * The training executor: AdamW and SGD against plain-TypeScript references over several steps, micro-batch
 * accumulation against one large batch, frozen params, non-finite guards, shape buckets and a tiny
 * decoder whose loss falls on a learnable synthetic task.
 */
import { Rng } from "@realm-lm/core"
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { assert } from "vitest"
import * as Executor from "../src/Executor.ts"
import type { Graph } from "../src/Graph.ts"
import * as G from "../src/Graph.ts"
import * as Init from "../src/Init.ts"
import * as Loss from "../src/Loss.ts"
import * as Nn from "../src/Nn.ts"
import * as O from "../src/Ops.ts"
import * as Trainer from "../src/Trainer.ts"
import type * as Training from "../src/Training.ts"
import * as Transformer from "./support/transformer.ts"

/** A 2-layer MLP classifier on `x [batch, 3]` with targets `y [batch]` (−100 = ignore). */
const mlp = (g: Graph, b: { readonly batch: number }) => {
  const x = g.input("x", "float32", [b.batch, 3])
  const y = g.input("y", "int32", [b.batch])
  const h = O.tanh(
    Nn.linear(x, g.param("w1", [3, 8], { init: Init.normal(0.7) }), g.param("b1", [8], { init: Init.normal(0.1) }))
  )
  const logits = Nn.linear(
    h,
    g.param("w2", [8, 4], { init: Init.normal(0.7) }),
    g.param("b2", [4], { init: Init.normal(0.1) })
  )
  return { loss: Loss.crossEntropy(logits, y, { ignoreIndex: -100 }), metrics: { mean_logit: O.reduceMean(logits) } }
}

const batchOf = (seed: number, batch: number) => {
  const rng = Rng.Rng.make(seed, "batch")
  const x = Float32Array.from({ length: batch * 3 }, () => rng.normal())
  const y = Int32Array.from({ length: batch }, (_, i) => (i % 5 === 4 ? -100 : rng.int(4)))
  return { x, y }
}

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string) => {
  assert.strictEqual(actual.length, expected.length, what)
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!]
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) assert.fail(`${what}[${i}]: ${a} vs ${e}`)
  }
}

const f64 = (a: unknown) => Float64Array.from(a as Float32Array)

/** A fresh executor and a trainer of `mlp` on it, for batches of 10. */
const mlpTrainer = (config: typeof Training.TrainingConfig.Encoded) =>
  Effect.gen(function* () {
    const exec = yield* Executor.make()
    return { exec, trainer: yield* Trainer.make(exec, mlp, config, { batch: 10 }) }
  })

/** Both optimizer placements (`optimizerOn`): every optimizer test runs on each. */
const placements = ["graph", "host"] as const

describe("optimizers against plain TypeScript references", () => {
  for (const optimizerOn of placements)
    it.effect(
      `AdamW (decay on matrices only, clipping active) on the ${optimizerOn} matches the reference over 5 steps`,
      () =>
        Effect.gen(function* () {
          const cfg = { beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1 }
          const clipNorm = 0.5
          const { exec, trainer } = yield* mlpTrainer({ optimizer: { kind: "adamw", ...cfg }, clipNorm, optimizerOn })
          yield* trainer.initialize(Rng.Rng.make(3))
          const ref: Record<string, { p: Float64Array; m: Float64Array; v: Float64Array; decay: boolean }> = {}
          const start = yield* exec.read()
          for (const spec of trainer.params) {
            const n = start[spec.name]!.length
            ref[spec.name] = {
              p: f64(start[spec.name]),
              m: new Float64Array(n),
              v: new Float64Array(n),
              decay: spec.decay
            }
          }
          assert.deepStrictEqual(
            trainer.params.filter((p) => p.decay).map((p) => p.name),
            ["w1", "w2"]
          )
          let clipped = 0
          for (let t = 1; t <= 5; t++) {
            const lr = 0.05 / t // a schedule in TypeScript
            const batch = batchOf(t, 10)
            const { grads } = yield* trainer.gradients(batch)
            const norm = Math.sqrt(
              Object.values(grads).reduce((s, g) => s + Array.from(g as Float32Array).reduce((a, v) => a + v * v, 0), 0)
            )
            const coef = Math.min(1, clipNorm / (norm + 1e-6))
            if (coef < 1) clipped++
            for (const [name, r] of Object.entries(ref)) {
              const g = grads[name]!
              for (let i = 0; i < r.p.length; i++) {
                const gi = (g[i] as number) * coef
                if (r.decay) r.p[i] = r.p[i]! * (1 - lr * cfg.weightDecay)
                r.m[i] = cfg.beta1 * r.m[i]! + (1 - cfg.beta1) * gi
                r.v[i] = cfg.beta2 * r.v[i]! + (1 - cfg.beta2) * gi * gi
                const mHat = r.m[i]! / (1 - cfg.beta1 ** t)
                const vHat = r.v[i]! / (1 - cfg.beta2 ** t)
                r.p[i] = r.p[i]! - (lr * mHat) / (Math.sqrt(vHat) + cfg.eps)
              }
            }
            const res = yield* trainer.step(batch, { lr })
            assert.strictEqual(res.step, t)
            assert.isBelow(Math.abs(res.gradNorm - norm), 5e-6)
            const now = yield* exec.read()
            for (const [name, r] of Object.entries(ref)) {
              close(now[name] as Float32Array, r.p, 2e-6, 1e-5, `step ${t} ${name}`)
              close(now[`${name}::m`] as Float32Array, r.m, 1e-7, 1e-5, `step ${t} ${name}::m`)
              close(now[`${name}::v`] as Float32Array, r.v, 1e-9, 1e-4, `step ${t} ${name}::v`)
            }
          }
          assert.isAbove(clipped, 0, "clipping was exercised")
        }).pipe(Effect.scoped)
    )

  for (const [nesterov, optimizerOn] of [false, true].flatMap((n) => placements.map((o) => [n, o] as const))) {
    it.effect(
      `SGD with momentum 0.9, weight decay 0.01, nesterov=${nesterov} on the ${optimizerOn} matches the reference over 4 steps`,
      () =>
        Effect.gen(function* () {
          const { exec, trainer } = yield* mlpTrainer({
            optimizer: { kind: "sgd", momentum: 0.9, nesterov, weightDecay: 0.01 },
            optimizerOn
          })
          yield* trainer.initialize(Rng.Rng.make(4))
          const start = yield* exec.read()
          const ref = Object.fromEntries(
            trainer.params.map((s) => [
              s.name,
              { p: f64(start[s.name]), buf: new Float64Array(start[s.name]!.length), decay: s.decay }
            ])
          )
          for (let t = 1; t <= 4; t++) {
            const batch = batchOf(10 + t, 10)
            const { grads } = yield* trainer.gradients(batch)
            for (const [name, r] of Object.entries(ref)) {
              const g = grads[name]!
              for (let i = 0; i < r.p.length; i++) {
                const gi = (g[i] as number) + (r.decay ? 0.01 * (r.p[i] as number) : 0)
                r.buf[i] = 0.9 * r.buf[i]! + gi
                r.p[i] = r.p[i]! - 0.1 * (nesterov ? gi + 0.9 * r.buf[i]! : r.buf[i]!)
              }
            }
            yield* trainer.step(batch, { lr: 0.1 })
            const now = yield* exec.read()
            for (const [name, r] of Object.entries(ref))
              close(now[name] as Float32Array, r.p, 1e-6, 1e-5, `step ${t} ${name}`)
          }
        }).pipe(Effect.scoped)
    )
  }
})

describe("gradient accumulation", () => {
  for (const optimizerOn of placements)
    it.effect(
      `4 micro-batches of 5 accumulate to the gradient and AdamW step of one batch of 20 (optimizer on the ${optimizerOn})`,
      () =>
        Effect.gen(function* () {
          const big = batchOf(7, 20)
          const config = { optimizer: { kind: "adamw" as const, weightDecay: 0.05 }, clipNorm: 10, optimizerOn }
          const a = yield* Executor.make()
          const b = yield* Executor.make()
          const ta = yield* Trainer.make(a, mlp, config, { batch: 20 })
          const tb = yield* Trainer.make(b, mlp, config, { batch: 5 })
          yield* ta.initialize(Rng.Rng.make(5))
          yield* tb.initialize(Rng.Rng.make(5))
          const full = yield* ta.gradients(big)
          // Weighted by valid (non-ignored) targets, so the accumulated gradient is the per-token mean of the big batch.
          for (let k = 0; k < 4; k++) {
            const y = big.y.slice(k * 5, k * 5 + 5)
            const valid = y.filter((v) => v !== -100).length
            yield* tb.accumulate({ x: big.x.slice(k * 15, k * 15 + 15), y }, { weight: valid })
          }
          const totalValid = big.y.filter((v) => v !== -100).length
          // The graph placement keeps its accumulators in the executor's state, the host placement its own arrays.
          assert.strictEqual(b.state.has("w1::acc"), optimizerOn === "graph")
          assert.strictEqual(tb.optimizerOn, optimizerOn)
          if (optimizerOn === "graph")
            for (const name of ["w1", "b1", "w2", "b2"]) {
              const acc = Array.from(b.state.cpuData(`${name}::acc`) as Float32Array, (v) => v / totalValid)
              close(acc, full.grads[name] as Float32Array, 1e-7, 1e-5, `accumulated ${name}`)
            }
          const sa = yield* ta.step(big, { lr: 0.01 })
          const sb = yield* tb.apply({ lr: 0.01 })
          assert.isBelow(Math.abs(sb.gradNorm - sa.gradNorm), 5e-6)
          assert.isFalse(b.state.has("w1::acc"), "accumulators are released after apply")
          const [pa, pb] = [yield* a.read(["w1", "b1", "w2", "b2"]), yield* b.read(["w1", "b1", "w2", "b2"])]
          for (const name of ["w1", "b1", "w2", "b2"])
            close(pb[name] as Float32Array, f64(pa[name]), 1e-6, 1e-5, `param ${name}`)
          const none = yield* Effect.flip(tb.apply({ lr: 0.01 }))
          assert.strictEqual(none._tag, "NothingAccumulated")
        }).pipe(Effect.scoped)
    )
})

describe("optimizer placement", () => {
  for (const optimizerOn of placements)
    it.effect(
      `a rejected apply drops the accumulated gradients, so the next step trains (optimizer on the ${optimizerOn})`,
      () =>
        Effect.gen(function* () {
          const { exec, trainer } = yield* mlpTrainer({ optimizer: { kind: "adamw" }, optimizerOn })
          yield* trainer.initialize(Rng.Rng.make(12))
          yield* trainer.step(batchOf(4, 10), { lr: 0.01 })
          yield* trainer.accumulate(batchOf(1, 10))
          yield* trainer.accumulate(batchOf(2, 10), { weight: Number.NaN })
          const before = yield* exec.read(["w1", "w1::m"])
          const rejected = yield* Effect.flip(trainer.apply({ lr: 0.01 }))
          assert.strictEqual(rejected._tag, "NonFiniteLoss")
          assert.strictEqual(trainer.steps(), 1)
          const after = yield* exec.read(["w1", "w1::m"])
          assert.strictEqual(after["w1"], before["w1"], "the parameter is the same array")
          assert.deepStrictEqual(f64(after["w1::m"]), f64(before["w1::m"]), "the moment is unchanged")
          yield* trainer.accumulate(batchOf(3, 10))
          const applied = yield* trainer.apply({ lr: 0.01 })
          assert.strictEqual(applied.step, 2)
          assert.isTrue(Number.isFinite(applied.gradNorm))
          assert.isTrue(f64((yield* exec.read(["w1"]))["w1"]).every(Number.isFinite))
        }).pipe(Effect.scoped)
    )

  it.effect("the host placement runs gradients graphs, planned as training graphs, and no optimizer graph", () =>
    Effect.gen(function* () {
      for (const [optimizerOn, expected] of [
        ["host", ["grads"]],
        ["graph", ["step", "accumulate", "apply"]]
      ] as const) {
        const exec = yield* Executor.make()
        const compiled: Array<string> = []
        const spy: typeof exec = {
          ...exec,
          compile: (graph, options) => {
            compiled.push(`${graph.name}${options?.training === true ? "" : " (not planned as training)"}`)
            return exec.compile(graph, options)
          }
        }
        const trainer = yield* Trainer.make(spy, mlp, { optimizer: { kind: "adamw" }, optimizerOn }, { batch: 10 })
        assert.strictEqual(trainer.optimizerOn, optimizerOn)
        yield* trainer.initialize(Rng.Rng.make(13))
        yield* trainer.step(batchOf(1, 10), { lr: 0.01 })
        yield* trainer.accumulate(batchOf(2, 10))
        yield* trainer.apply({ lr: 0.01 })
        assert.deepStrictEqual(compiled, [...expected], optimizerOn)
        assert.strictEqual(trainer.steps(), 2)
      }
    }).pipe(Effect.scoped)
  )

  it.effect("a gradient beyond float32's range is rejected on the host as in the graph", () =>
    Effect.gen(function* () {
      for (const optimizerOn of placements) {
        const { trainer } = yield* mlpTrainer({ optimizer: { kind: "adamw" }, optimizerOn })
        yield* trainer.initialize(Rng.Rng.make(14))
        yield* trainer.accumulate(batchOf(1, 10), { weight: 1e30 })
        const rejected = yield* Effect.flip(trainer.apply({ lr: 0.01 }))
        assert.strictEqual(rejected._tag, "NonFiniteLoss", optimizerOn)
      }
    }).pipe(Effect.scoped)
  )
})

describe("state handling", () => {
  for (const optimizerOn of placements)
    it.effect(
      `frozen params stay unchanged, a non-finite loss leaves all params unchanged (optimizer on the ${optimizerOn})`,
      () =>
        Effect.gen(function* () {
          const { exec, trainer } = yield* mlpTrainer({
            optimizer: { kind: "adamw" },
            freeze: ["w1", "b*"],
            optimizerOn
          })
          assert.deepStrictEqual(trainer.trainable, ["w2"])
          yield* trainer.initialize(Rng.Rng.make(6))
          const before = yield* exec.read(["w1", "b1", "w2"])
          yield* trainer.step(batchOf(1, 10), { lr: 0.1 })
          const after = yield* exec.read(["w1", "b1", "w2"])
          assert.strictEqual(after["w1"], before["w1"]) // same array object: frozen params are never rewritten
          assert.notDeepEqual(Array.from(after["w2"] as Float32Array), Array.from(before["w2"] as Float32Array))
          const bad = batchOf(2, 10)
          bad.x[0] = Number.NaN
          const err = yield* Effect.flip(trainer.step(bad, { lr: 0.1 }))
          assert.strictEqual(err._tag, "NonFiniteLoss")
          assert.strictEqual(trainer.steps(), 1)
          assert.strictEqual((yield* exec.read(["w2"]))["w2"], after["w2"])
          const unmatched = yield* Effect.flip(
            Trainer.make(exec, mlp, { optimizer: { kind: "adamw" }, freeze: ["nope.*"] }, { batch: 10 })
          )
          assert.match(unmatched.message, /freeze pattern "nope.\*" matches no param/)
        }).pipe(Effect.scoped)
    )

  it.effect("the host placement refuses an executor whose state lives in GPU buffers (WebGPU)", () =>
    Effect.gen(function* () {
      const exec = yield* Executor.make()
      const webgpu = { ...exec, config: { ...exec.config, device: "webgpu" as const } }
      const err = yield* Effect.flip(
        Trainer.make(webgpu, mlp, { optimizer: { kind: "adamw" }, optimizerOn: "host" }, { batch: 10 })
      )
      assert.strictEqual(err._tag, "InvalidGraph")
      assert.match(err.message, /optimizerOn: "host" .* webgpu/)
      assert.match(err.message, /leave optimizerOn at "graph"/)
    }).pipe(Effect.scoped)
  )

  it.effect("training and inference sessions share one parameter state without copies, across shape buckets", () =>
    Effect.gen(function* () {
      const { exec, trainer } = yield* mlpTrainer({ optimizer: { kind: "sgd" } })
      yield* trainer.initialize(Rng.Rng.make(8))
      const w1 = exec.state.cpuData("w1")
      // An inference graph (no loss) built separately reads the same param by name.
      const ig = G.make("infer")
      const x = ig.input("x", "float32", [1, 3])
      ig.output("h", O.tanh(Nn.linear(x, ig.param("w1", [3, 8]), ig.param("b1", [8]))))
      const session = yield* exec.compile(ig)
      const probe = Float32Array.of(1, 0, 0)
      const h0 = Array.from((yield* session.run({ x: probe }))["h"]?.data as Float32Array)
      assert.strictEqual(exec.state.cpuData("w1"), w1) // reading does not copy or replace
      yield* trainer.step(batchOf(9, 10), { lr: 0.5 })
      const h1 = Array.from((yield* session.run({ x: probe }))["h"]?.data as Float32Array)
      assert.notDeepEqual(h1, h0) // the inference session sees the trained params
      // A second bucket compiles a second session over the same state.
      const e4 = yield* trainer.evaluate(batchOf(10, 4), { bucket: { batch: 4 } })
      const e10 = yield* trainer.evaluate(batchOf(10, 10))
      assert.isTrue(Number.isFinite(e4.loss) && Number.isFinite(e10.loss))
      assert.deepStrictEqual(e10.metrics["mean_logit"]?.dims, [])
      const viaSession = yield* Executor.readViaSession(exec, ["w1"])
      assert.deepStrictEqual(
        Array.from(viaSession["w1"] as Float32Array),
        Array.from(exec.state.cpuData("w1") as Float32Array)
      )
    }).pipe(Effect.scoped)
  )
})

describe("learning", () => {
  it.effect("LoRA adapters on a frozen base: only the adapters change and the loss falls", () =>
    Effect.gen(function* () {
      const model = (g: Graph, b: { readonly batch: number }) => {
        const x = g.input("x", "float32", [b.batch, 3])
        const y = g.input("y", "int32", [b.batch])
        const w = g.param("base.w", [3, 4], { init: Init.normal(0.5), trainable: false })
        const h = O.add(
          Nn.linear(x, w),
          Nn.lora(x, g.param("lora.a", [3, 2], { init: Init.normal(0.5) }), g.param("lora.b", [2, 4]), 2)
        )
        return { loss: Loss.crossEntropy(h, y, { ignoreIndex: -100 }) }
      }
      const exec = yield* Executor.make()
      const trainer = yield* Trainer.make(exec, model, { optimizer: { kind: "adamw", weightDecay: 0 } }, { batch: 20 })
      assert.deepStrictEqual(trainer.trainable, ["lora.a", "lora.b"])
      yield* trainer.initialize(Rng.Rng.make(11))
      const before = yield* exec.read(["base.w", "lora.b"])
      assert.isTrue(Array.from(before["lora.b"] as Float32Array).every((v) => v === 0))
      const data = batchOf(12, 20)
      const first = (yield* trainer.evaluate(data)).loss
      for (let s = 0; s < 60; s++) yield* trainer.step(data, { lr: 0.05 })
      const after = yield* exec.read(["base.w", "lora.b"])
      assert.strictEqual(after["base.w"], before["base.w"])
      assert.isTrue(Array.from(after["lora.b"] as Float32Array).some((v) => v !== 0))
      assert.isBelow((yield* trainer.evaluate(data)).loss, first)
    }).pipe(Effect.scoped)
  )

  it.effect("a tiny GQA decoder learns to copy the previous token: loss falls and every trainable param changes", () =>
    Effect.gen(function* () {
      const size: Transformer.TransformerSize = { vocab: 6, dim: 16, heads: 2, kvHeads: 1, hidden: 32, layers: 1 }
      const bucket = { batch: 8, seq: 8 }
      const exec = yield* Executor.make()
      const trainer = yield* Trainer.make(
        exec,
        Transformer.model(size),
        { optimizer: { kind: "adamw", weightDecay: 0 }, clipNorm: 1, freeze: ["final_norm"] },
        bucket
      )
      yield* trainer.initialize(Rng.Rng.make(9))
      const start = Object.fromEntries(
        Object.entries(yield* exec.read()).map(([k, v]) => [k, Array.from(v as Float32Array)])
      )
      const rng = Rng.Rng.make(10)
      const data = () => {
        const tokens = Int32Array.from({ length: 64 }, () => rng.int(6))
        const targets = Int32Array.from(tokens, (_, i) => (i % 8 === 0 ? -100 : tokens[i - 1]!))
        return { tokens, targets }
      }
      const first = (yield* trainer.evaluate(data())).loss
      let last = first
      for (let s = 0; s < 150; s++) last = (yield* trainer.step(data(), { lr: 1e-2 })).loss
      assert.isAbove(first, 1.5) // ≈ ln 6 at initialization
      assert.isBelow(last, 0.3 * first)
      const end = yield* exec.read(trainer.params.map((p) => p.name))
      for (const p of trainer.params) {
        const changed = Array.from(end[p.name] as Float32Array).some((v, i) => v !== start[p.name]?.[i])
        assert.strictEqual(changed, trainer.trainable.includes(p.name), p.name)
      }
    }).pipe(Effect.scoped)
  )
})
