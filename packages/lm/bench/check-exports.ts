/**
 * Do a LoRA checkpoint's two exports load and agree, at any size? (issue 14: "its adapter and merged exports load";
 * `packages/trainer/test/Lora.test.ts` checks the same at a tiny shape in CI.) For a checkpoint directory written
 * with `trainer.with.lora`:
 *
 * - the PEFT adapter (`<checkpoint>/adapter`) loads against its `base_model_name_or_path`, and
 *   `merge(base, adapter)` equals the merged `model.safetensors` to float tolerance;
 * - transformers.js runs the merged export (`onnx/model.onnx`) and its greedy tokens for a few prompts equal ours.
 *
 * Run: `node --conditions=@realm-lm/source packages/lm/bench/check-exports.ts <checkpoint dir> [--tokens 8]`
 */
import { NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { join } from "node:path"
import * as Export from "../src/Export.ts"
import * as Lora from "../src/Lora.ts"
import * as Peft from "../src/Peft.ts"
import * as Policy from "../src/Policy.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as Weights from "../src/Weights.ts"

const args = process.argv.slice(2)
const checkpoint = args.find((a, i) => !a.startsWith("--") && !(args[i - 1] ?? "").startsWith("--"))
const tokensAt = args.indexOf("--tokens")
const tokens = tokensAt < 0 ? 8 : Number(args[tokensAt + 1])
if (checkpoint === undefined || !Number.isInteger(tokens) || tokens < 1) {
  console.error("usage: check-exports.ts <checkpoint dir> [--tokens 8]")
  process.exit(2)
}

const dir: string = checkpoint

const program = Effect.gen(function* () {
  const t0 = performance.now()
  const merged = yield* Pretrained.load(dir)
  const adapter = yield* Peft.load(join(dir, "adapter"), merged.config)
  if (adapter.baseModel === undefined) {
    return yield* Effect.fail(new Error(`${dir}/adapter: adapter_config.json names no base_model_name_or_path`))
  }
  const base = yield* Pretrained.load(adapter.baseModel)
  const expected = Lora.merge(adapter.config, base.weights, adapter.adapters)
  let worst = 0
  let changed = 0
  for (const [name, t] of expected) {
    const got = Weights.get(merged.weights, name).data
    const from = Weights.get(base.weights, name).data
    for (let i = 0; i < t.data.length; i++) {
      worst = Math.max(worst, Math.abs((got[i] ?? Number.NaN) - (t.data[i] ?? Number.NaN)))
      if (got[i] !== from[i]) changed++
    }
  }
  console.log(
    `adapter ${join(dir, "adapter")}: rank ${adapter.config.lora?.rank}, ${adapter.adapters.size} tensors, base ${adapter.baseModel}`
  )
  console.log(
    `merged weights vs merge(base, adapter): max |diff| ${worst.toExponential(2)}; ${changed} values differ from the base`
  )
  const prompts = [
    [464, 3303, 318],
    [15496, 11, 995],
    [40, 716, 257, 1332]
  ].map((p) => p.map((id) => id % merged.config.vocabSize))
  const policy = yield* Policy.load(dir, { runtime: { intraOpThreads: 2 } })
  const ours = (yield* policy.generate(
    prompts.map((prompt) => ({ prompt })),
    { maxNewTokens: tokens }
  )).map((g) => g[0]?.tokens ?? [])
  const theirs = yield* Export.transformersJsGreedy(dir, prompts, tokens)
  const same = ours.every((o, i) => JSON.stringify(o) === JSON.stringify(theirs[i]))
  console.log(`greedy ${tokens} tokens, ${prompts.length} prompts: ours ${JSON.stringify(ours)}`)
  console.log(
    `transformers.js on onnx/model.onnx:         ${JSON.stringify(theirs)}  ${same ? "identical" : "DIFFERENT"}`
  )
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`)
  if (worst > 1e-4 || !same) return yield* Effect.fail(new Error("the exports disagree"))
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeServices.layer))).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
