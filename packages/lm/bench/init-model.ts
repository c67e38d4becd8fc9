/**
 * A randomly initialised Hugging Face model directory with a real model's shape and a real tokenizer, for training
 * runs at real sizes without the real weights (issue 14: "a 135M-shape LoRA SFT + RL run completes on the CPU").
 * The shape comes from `test/fixtures/configs/<name>.json` (published config.json files) or a config.json path; the vocabulary is the
 * tokenizer's (its size, and its end-of-text token as BOS/EOS), so a SmolLM2-135M shape with GPT-2's tokenizer has
 * 50,257 rows instead of 49,152. Weights: `Weights.init` (normal, std 0.02, residual projections scaled down).
 *
 * Run: `node --conditions=@realm-lm/source packages/lm/bench/init-model.ts --config SmolLM2-135M
 *   --tokenizer ../shared/data/tokenizers/gpt2 --out runs/smollm2-135m-shape [--seed 0]`
 */
import { NodeServices } from "@effect/platform-node"
import { Rng } from "@realm-lm/core"
import { Effect } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as ModelConfig from "../src/ModelConfig.ts"
import * as Pretrained from "../src/Pretrained.ts"
import * as Tokenizer from "../src/Tokenizer.ts"
import * as Weights from "../src/Weights.ts"

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? undefined : args[i + 1]
}
const name = option("config") ?? "SmolLM2-135M"
const tokenizerDir = option("tokenizer")
const out = option("out")
const seed = Number(option("seed") ?? "0")
const configFile = name.endsWith(".json")
  ? name
  : join(import.meta.dirname, "..", "test", "fixtures", "configs", `${name}.json`)
if (tokenizerDir === undefined || out === undefined || !existsSync(configFile) || !Number.isInteger(seed)) {
  console.error(
    "usage: init-model.ts --config <SmolLM2-135M|SmolLM2-360M|Qwen2.5-0.5B|Llama-3.2-1B|...|path/config.json> --tokenizer <dir with tokenizer.json> --out <dir> [--seed N]"
  )
  if (!existsSync(configFile)) console.error(`no published config ${configFile}`)
  process.exit(2)
}

const program = Effect.gen(function* () {
  const tokenizer = yield* Tokenizer.load(tokenizerDir)
  const eos = tokenizer.eosTokenId
  if (eos === undefined)
    return yield* Effect.fail(new Error(`${tokenizerDir}: the tokenizer names no end-of-text token`))
  const json = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>
  const hf = { ...json, vocab_size: tokenizer.vocabSize, bos_token_id: eos, eos_token_id: eos, pad_token_id: null }
  const config = yield* ModelConfig.fromHf(hf)
  const weights = Weights.init(config, Rng.Rng.make(seed, "init-model"))
  yield* Pretrained.save(out, config, weights)
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
    if (existsSync(join(tokenizerDir, f))) writeFileSync(join(out, f), readFileSync(join(tokenizerDir, f)))
  }
  const parameters = [...weights.values()].reduce((n, t) => n + t.data.length, 0)
  console.log(
    `${out}: ${name} shape, vocab ${config.vocabSize} (${tokenizerDir}), ${(parameters / 1e6).toFixed(1)}M parameters, seed ${seed}`
  )
})

Effect.runPromise(program.pipe(Effect.provide(NodeServices.layer))).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
