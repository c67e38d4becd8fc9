/**
 * Prints the memory table of the README (parameters, weights, AdamW training state, activations, KV cache) for
 * stories260K and the real configs in test/fixtures/configs, and writes it as JSON: `node packages/lm/bench/memory.ts [out.json]`.
 */
import { Effect } from "effect"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Llama2c from "../src/Llama2c.ts"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as ModelSize from "../src/ModelSize.ts"
import { stories260KHeader } from "../test/support.ts"

const dir = join(import.meta.dirname, "..", "test", "fixtures", "configs")
const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(bytes < 2 ** 28 ? 3 : 2)
const train = { batch: 8, seq: 512 }
const gen = { batch: 32, seq: 1024 }
const stories = Effect.runSync(Llama2c.configOf(stories260KHeader))
const configs = [
  ["stories260K", stories] as const,
  ...readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => {
      const name = f.replace(/\.json$/, "")
      const json = JSON.parse(readFileSync(join(dir, f), "utf8")) as unknown
      return [
        name,
        Effect.runSync(ModelConfig.fromHf(json, name.startsWith("Mistral") ? { maxContext: 4096 } : {}))
      ] as const
    })
]
const rows = configs
  .map(([name, config]) => {
    const t = ModelSize.memory(config, train)
    const g = ModelSize.memory(config, gen)
    return {
      name,
      parameters: t.parameters,
      weights: t.weights,
      adamState: t.adamState,
      gradients: t.gradients,
      activations: t.activations,
      training: t.training,
      kvCache: g.kvCache,
      generation: g.generation
    }
  })
  .toSorted((a, b) => a.parameters - b.parameters)

console.log(
  `| model | parameters | weights f32 (GiB) | grads + AdamW (GiB) | activations b${train.batch}×${train.seq} (GiB) | training total (GiB) | KV cache b${gen.batch}×${gen.seq} (GiB) |`
)
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for (const r of rows) {
  console.log(
    `| ${r.name} | ${(r.parameters / 1e6).toFixed(1)}M | ${gib(r.weights)} | ${gib(r.gradients + r.adamState)} | ${gib(r.activations)} | ${gib(r.training)} | ${gib(r.kvCache)} |`
  )
}
const out = process.argv[2]
if (out !== undefined) writeFileSync(out, `${JSON.stringify({ train, gen, rows }, null, 2)}\n`)
