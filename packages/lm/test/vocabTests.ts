/** Reader for llama.cpp's tokenizer test vectors (`ggml-vocab-*.gguf.inp` / `.out`) in the shared data folder. */
import { readFileSync } from "node:fs"
import { SharedData } from "@realm-lm/core/node"

/** One vector: input text and the ids Hugging Face's tokenizer gave (no special tokens). */
export interface VocabTest {
  readonly text: string
  readonly ids: ReadonlyArray<number>
}

const separator = "\n__ggml_vocab_test__\n"

/** The vectors for `name` (gpt-2, llama-bpe, qwen2, llama-spm); throws if the files are absent. */
export const readVocabTests = (name: string): ReadonlyArray<VocabTest> => {
  const base = SharedData.sharedDataFile("tokenizers", "llamacpp-vocab-tests", `ggml-vocab-${name}.gguf.inp`)
  if (base === undefined) throw new Error(`vocab tests for ${name} are missing`)
  const inputs = readFileSync(base, "utf8").split(separator)
  if (inputs.at(-1) === "") inputs.pop()
  const outputs = readFileSync(base.replace(/\.inp$/, ".out"), "utf8").split("\n")
  if (outputs.at(-1) === "") outputs.pop()
  if (inputs.length !== outputs.length)
    throw new Error(`${name}: ${inputs.length} inputs but ${outputs.length} outputs`)
  return inputs.map((text, i) => ({
    text,
    ids: outputs[i]!.trim() === "" ? [] : outputs[i]!.trim().split(/\s+/).map(Number)
  }))
}
