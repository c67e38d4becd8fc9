/**
 * Speed of the shared `Protobuf.Writer` against the three hand-written writers it replaced
 * (`bench/support/legacyProtobuf.ts`), each on the workload its package gives it, with identical output checked:
 * - onnx: graph's ModelProto shape (2,000 nodes with string/int/float attributes, 40 initializers of 64 KiB, one of
 *   16 MiB, value infos), nested messages throughout;
 * - patch: lm's symbolic-shape patch (the encoded graph's fields copied verbatim into a re-wrapped GraphProto);
 * - tensorboard: one Event with 8 scalars, framed per training step.
 * Prints a table (median of 7 runs after 2 warm-ups) and writes bench/results/protobuf.json.
 * Run: `node --conditions=@realm-lm/source packages/core/bench/protobuf.ts` (Node 24, from the repository root).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join } from "node:path"
import { Protobuf } from "@realm-lm/core"
import { GraphWriter, PatchWriter, TensorBoardWriter } from "./support/legacyProtobuf.ts"

/** The writer surface graph's encoder uses (both the old writer and the shared one have it). */
interface OnnxSink {
  int(field: number, value: number): unknown
  float(field: number, value: number): unknown
  string(field: number, value: string): unknown
  bytes(field: number, data: Uint8Array): unknown
  message(field: number, body: (w: OnnxSink) => void): unknown
}

const weights = Array.from({ length: 40 }, (_, i) => new Uint8Array(64 * 1024).fill(i))
const embedding = new Uint8Array(16 * 1024 * 1024).fill(7)

/** A ModelProto as graph's `Onnx.encode` writes one. */
const onnxModel = (w: OnnxSink): void => {
  w.int(1, 8)
  w.string(2, "@realm-lm/graph")
  w.message(7, (g) => {
    for (let i = 0; i < 2000; i++) {
      g.message(1, (n) => {
        n.string(1, `t${i}`)
        n.string(1, `t${i + 1}`)
        n.string(2, `MatMul_${i}_out0`)
        n.string(3, `MatMul_${i}`)
        n.string(4, i % 3 === 0 ? "Softmax" : "MatMul")
        n.message(5, (a) => {
          a.string(1, "axis")
          a.int(3, -1)
          a.int(20, 2)
        })
        n.message(5, (a) => {
          a.string(1, "alpha")
          a.float(2, 0.125)
          a.int(20, 1)
        })
      })
    }
    g.string(2, "model")
    const inits = [...weights, embedding]
    inits.forEach((raw, i) => {
      g.message(5, (t) => {
        t.int(1, raw.length / 4)
        t.int(2, 1)
        t.string(8, `layers.${i}.weight`)
        t.bytes(9, raw)
      })
    })
    for (let i = 0; i < 60; i++) {
      g.message(11, (v) => {
        v.string(1, `past_key_${i}`)
        v.message(2, (type) =>
          type.message(1, (tt) => {
            tt.int(1, 1)
            tt.message(2, (s) => {
              for (const d of [1, 4, 128, 64]) s.message(1, (dim) => dim.int(1, d))
            })
          })
        )
      })
    }
  })
  w.message(8, (op) => {
    op.string(1, "")
    op.int(2, 17)
  })
}

const legacyOnnx = (): Uint8Array => {
  const w = new GraphWriter()
  onnxModel(w as unknown as OnnxSink)
  return w.finish()
}
const sharedOnnx = (): Uint8Array => {
  const w = new Protobuf.Writer()
  onnxModel(w as unknown as OnnxSink)
  return w.finish()
}

const model = sharedOnnx()
const top = Protobuf.fields(model)
const graphFields = Protobuf.fields(top.find((f) => f.field === 7)?.payload ?? new Uint8Array())
const dimName = new TextEncoder().encode("batch_size")

/** The patch's copy: every field verbatim, the graph re-wrapped, value infos' first dim made symbolic. */
const legacyPatch = (): Uint8Array => {
  const message = (build: (w: PatchWriter) => void): Uint8Array => {
    const w = new PatchWriter()
    build(w)
    return w.finish()
  }
  return message((out) => {
    for (const f of top) {
      if (f.field !== 7) {
        out.push(f.raw)
        continue
      }
      out.tagged(
        7,
        message((g) => {
          for (const gf of graphFields) {
            if (gf.field === 11)
              g.tagged(
                11,
                message((v) =>
                  v.tagged(
                    2,
                    message((dim) => dim.tagged(2, dimName))
                  )
                )
              )
            else g.push(gf.raw)
          }
        })
      )
    }
  })
}
const sharedPatch = (): Uint8Array =>
  Protobuf.encode((out) => {
    for (const f of top) {
      if (f.field !== 7) {
        out.raw(f.raw)
        continue
      }
      out.message(7, (g) => {
        for (const gf of graphFields) {
          if (gf.field === 11) g.message(11, (v) => v.message(2, (dim) => dim.bytes(2, dimName)))
          else g.raw(gf.raw)
        }
      })
    }
  }, model.length + 4096)

const scalars = Object.fromEntries(
  ["loss", "lr", "grad_norm", "reward_mean", "truth_accuracy", "kl", "tokens", "strength"].map((k, i) => [
    `rl/${k}`,
    i / 7
  ])
)
const legacyEvent = (step: number): Uint8Array => {
  const summary = new TensorBoardWriter()
  for (const [tag, value] of Object.entries(scalars))
    summary.bytesField(1, new TensorBoardWriter().string(1, tag).float(2, value).finish())
  return new TensorBoardWriter()
    .double(1, 1_700_000_000.5 + step)
    .int64(2, step)
    .bytesField(5, summary.finish())
    .finish()
}
const sharedEvent = (step: number): Uint8Array =>
  Protobuf.encode((w) =>
    w
      .double(1, 1_700_000_000.5 + step)
      .int(2, step)
      .message(5, (summary) => {
        for (const [tag, value] of Object.entries(scalars)) summary.message(1, (v) => v.string(1, tag).float(2, value))
      })
  )
const events = (encode: (step: number) => Uint8Array) => (): Uint8Array => {
  let last: Uint8Array = new Uint8Array()
  for (let step = 0; step < 20_000; step++) last = encode(step)
  return last
}

const median = (xs: ReadonlyArray<number>): number => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!
const time = (f: () => Uint8Array): { ms: number; out: Uint8Array } => {
  let out = f()
  f()
  const runs: Array<number> = []
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now()
    out = f()
    runs.push(performance.now() - t0)
  }
  return { ms: median(runs), out }
}

const rows = (
  [
    ["onnx (ModelProto, 19.6 MB)", legacyOnnx, sharedOnnx],
    ["patch (verbatim copy + re-wrapped graph)", legacyPatch, sharedPatch],
    ["tensorboard (20,000 events of 8 scalars)", events(legacyEvent), events(sharedEvent)]
  ] as const
).map(([name, legacy, shared]) => {
  const a = time(legacy)
  const b = time(shared)
  if (Buffer.compare(a.out, b.out) !== 0) throw new Error(`${name}: outputs differ`)
  return {
    name,
    bytes: b.out.length,
    legacyMs: Number(a.ms.toFixed(2)),
    sharedMs: Number(b.ms.toFixed(2)),
    speedup: Number((a.ms / b.ms).toFixed(2))
  }
})

console.log("| workload | output bytes | previous writer ms | Protobuf.Writer ms | speed-up |")
console.log("| --- | --- | --- | --- | --- |")
for (const r of rows)
  console.log(`| ${r.name} | ${r.bytes.toLocaleString("en")} | ${r.legacyMs} | ${r.sharedMs} | ${r.speedup}x |`)
const dir = join(import.meta.dirname, "results")
mkdirSync(dir, { recursive: true })
writeFileSync(
  join(dir, "protobuf.json"),
  JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, rows }, null, 2)
)
