import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { SharedData } from "@realm-lm/core/node"
import { offline } from "../src/internal/transformers.ts"
import * as Tokenizer from "../src/Tokenizer.ts"
import { tempDir } from "./support.ts"
import { readVocabTests } from "./vocabTests.ts"

const run = <A, E>(effect: Effect.Effect<A, E, NodeServices.NodeServices>) => Effect.provide(effect, NodeServices.layer)
const tokDir = SharedData.sharedDataFile("tokenizers")
const skip = tokDir === undefined
const named = (name: string) => (skip ? `${name} (${SharedData.missingReason("tokenizers")})` : name)
const load = (name: string) => run(Tokenizer.load(join(tokDir as string, name)))
const template = (file: string) => readFileSync(join(tokDir as string, "chat-templates", file), "utf8")

/** The tokenizer in `dir`, checked to carry the llama.cpp `.jinja` file `file` as its chat template, and that template. */
const loadWithTemplate = (dir: string, file: string) =>
  Effect.map(load(dir), (tok) => {
    const jinja = template(file)
    assert.strictEqual(tok.chatTemplate, jinja)
    return { tok, jinja }
  })

const conversation: ReadonlyArray<Tokenizer.ChatMessage> = [
  { role: "system", content: "You are a careful tutor." },
  { role: "user", content: "What is 2+3?" },
  { role: "assistant", content: "2+3=5." },
  { role: "user", content: "And 2*3?" }
]

// Expected renderings, written out from the templates' text for this conversation.
const qwenExpected =
  "<|im_start|>system\nYou are a careful tutor.<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n" +
  "<|im_start|>assistant\n2+3=5.<|im_end|>\n<|im_start|>user\nAnd 2*3?<|im_end|>\n<|im_start|>assistant\n"
const llamaExpected =
  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n" +
  "Today Date: 26 Jul 2024\n\nYou are a careful tutor.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+3?<|eot_id|>" +
  "<|start_header_id|>assistant<|end_header_id|>\n\n2+3=5.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd 2*3?<|eot_id|>" +
  "<|start_header_id|>assistant<|end_header_id|>\n\n"

describe("Tokenizer (transformers.js, offline)", () => {
  const vectors: ReadonlyArray<readonly [string, string]> = [
    ["gpt2", "gpt-2"],
    ["qwen2.5", "qwen2"],
    ["llama3.2", "llama-bpe"]
  ]
  for (const [dir, name] of vectors) {
    it.effect.skipIf(skip)(named(`${dir}: all 46 llama.cpp ${name} vectors encode exactly and decode back`), () =>
      Effect.gen(function* () {
        const tok = yield* load(dir)
        const cases = readVocabTests(name)
        assert.strictEqual(cases.length, 46)
        for (const c of cases) {
          assert.deepStrictEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text))
          assert.strictEqual(
            tok.decode(c.ids),
            dir === "qwen2.5" ? c.text.normalize("NFC") : c.text,
            JSON.stringify(c.text)
          )
        }
      })
    )
  }

  it.effect.skipIf(skip)(
    named("special tokens: ids, BOS from the post-processor, and markers inside text stay single tokens"),
    () =>
      Effect.gen(function* () {
        const qwen = yield* load("qwen2.5")
        assert.deepStrictEqual([qwen.bosTokenId, qwen.eosTokenId, qwen.padTokenId], [undefined, 151645, 151643])
        assert.strictEqual(qwen.vocabSize, 151665)
        assert.deepStrictEqual(qwen.encode("<|im_start|>user\nhi<|im_end|>"), [151644, 872, 198, 6023, 151645])
        assert.includeMembers([...qwen.specialTokenIds], [151643, 151644, 151645])
        const llama = yield* load("llama3.2")
        assert.deepStrictEqual([llama.bosTokenId, llama.eosTokenId], [128000, 128009])
        assert.strictEqual(llama.encode("Hello", { addSpecialTokens: true })[0], 128000)
        assert.strictEqual(llama.encode("Hello")[0], 9906)
        assert.strictEqual(llama.tokenToId("<|eot_id|>"), 128009)
        assert.strictEqual(llama.decode([128000, 9906, 128009], { skipSpecialTokens: true }), "Hello")
        assert.strictEqual(llama.decode([128000, 9906, 128009]), "<|begin_of_text|>Hello<|eot_id|>")
        const gpt2 = yield* load("gpt2")
        assert.deepStrictEqual([gpt2.bosTokenId, gpt2.eosTokenId, gpt2.vocabSize], [50256, 50256, 50257])
      })
  )

  it.effect.skipIf(skip)(
    named("Qwen2.5 chat template: equals the llama.cpp .jinja file and renders the sample conversation"),
    () =>
      Effect.gen(function* () {
        const { tok: qwen, jinja } = yield* loadWithTemplate("qwen2.5", "Qwen-Qwen2.5-7B-Instruct.jinja")
        assert.strictEqual(yield* qwen.applyChatTemplate(conversation), qwenExpected)
        assert.strictEqual(yield* qwen.applyChatTemplate(conversation, { template: jinja }), qwenExpected)
        const noSystem = yield* qwen.applyChatTemplate([{ role: "user", content: "Hi" }], {
          addGenerationPrompt: false
        })
        assert.strictEqual(
          noSystem,
          "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        )
      })
  )

  it.effect.skipIf(skip)(
    named("Llama 3.2 / 3.1 chat templates: equal the .jinja files and render the sample conversation"),
    () =>
      Effect.gen(function* () {
        const { tok: llama } = yield* loadWithTemplate("llama3.2", "meta-llama-Llama-3.2-3B-Instruct.jinja")
        const variables = { date_string: "26 Jul 2024" }
        assert.strictEqual(yield* llama.applyChatTemplate(conversation, { variables }), llamaExpected)
        // Llama 3.1's template pins the date itself and renders a plain conversation the same way.
        assert.strictEqual(
          yield* llama.applyChatTemplate(conversation, {
            template: template("meta-llama-Llama-3.1-8B-Instruct.jinja")
          }),
          llamaExpected
        )
        // The rendered prompt tokenizes with each header marker as one special token.
        const ids = llama.encode(llamaExpected)
        assert.strictEqual(ids.filter((id) => id === 128006).length, 5)
      })
  )

  it.effect.skipIf(skip)(named("a tokenizer without a chat template fails with ChatTemplateFailed"), () =>
    Effect.gen(function* () {
      const gpt2 = yield* load("gpt2")
      assert.isUndefined(gpt2.chatTemplate)
      const error = yield* Effect.flip(gpt2.applyChatTemplate(conversation))
      assert.strictEqual(error._tag, "ChatTemplateFailed")
    })
  )

  it.effect("a directory without tokenizer files fails with TokenizerFilesMissing naming them", () =>
    run(
      Effect.gen(function* () {
        const error = yield* Effect.flip(Tokenizer.load(tempDir()))
        assert.strictEqual(error._tag, "TokenizerFilesMissing")
        assert.include(error.message, "tokenizer.json and tokenizer_config.json")
      })
    )
  )

  it.effect("transformers.js is configured offline: a Hub model id fails without any fetch", () =>
    Effect.gen(function* () {
      const t = yield* Effect.promise(() => offline())
      assert.isFalse(t.env.allowRemoteModels)
      const fetched = yield* Effect.flip(
        Effect.tryPromise(() => t.env.fetch("https://huggingface.co/gpt2/resolve/main/config.json"))
      )
      assert.include(String(fetched.cause), "network access is disabled")
      const guard = t.env.fetch
      let calls = 0
      t.env.fetch = (input) => {
        calls++
        return guard(input)
      }
      yield* Effect.flip(Effect.tryPromise(() => t.AutoTokenizer.from_pretrained("openai-community/gpt2")))
      t.env.fetch = guard
      assert.strictEqual(calls, 0)
    })
  )
})
