/**
 * A random-init model of a real model's shape with a real tokenizer, for the trainer benches: which tokenizer a
 * shape gets by default (from the shared data) and the model directory `packages/lm/bench/init-model.ts` writes.
 */
import { SharedData } from "@realm-lm/core/node"
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"

/** Shared-data tokenizers of the shapes the benches know: GPT-2's for SmolLM2 (its own is not in the data). */
const defaultTokenizers: Record<string, string> = { "SmolLM2-135M": "gpt2", "Qwen2.5-0.5B": "qwen2.5" }

/**
 * The tokenizer directory for `model`: `given` (a `--tokenizer` flag) or the shape's default under the shared data.
 * Exits with a message naming the fix when there is none or it has no tokenizer.json.
 */
export const tokenizerFor = (model: string, given: string | undefined): string => {
  const shared =
    defaultTokenizers[model] === undefined
      ? undefined
      : SharedData.sharedDataFile("tokenizers", defaultTokenizers[model])
  const tokenizer = given ?? shared
  if (tokenizer === undefined || !existsSync(join(tokenizer, "tokenizer.json"))) {
    console.error(
      tokenizer === undefined
        ? `no tokenizer for ${model}: pass --tokenizer DIR (${SharedData.missingReason("the shared tokenizers")})`
        : `${tokenizer}/tokenizer.json not found: pass --tokenizer DIR with a Hugging Face tokenizer.json`
    )
    process.exit(2)
  }
  return tokenizer
}

/** Write the random-init model directory `dir` (unless it already has a config.json) and return it. */
export const initModel = (model: string, tokenizer: string, dir: string): string => {
  if (!existsSync(join(dir, "config.json"))) {
    const repo = SharedData.repoRoot(import.meta.dirname)
    execFileSync(
      process.execPath,
      [
        "--conditions=@realm-lm/source",
        join(repo, "packages", "lm", "bench", "init-model.ts"),
        "--config",
        model,
        "--tokenizer",
        tokenizer,
        "--out",
        dir
      ],
      { stdio: "inherit" }
    )
  }
  return dir
}
