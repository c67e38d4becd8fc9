/**
 * Prompt rendering pins the chat template's date: Llama 3.2's template writes "Today Date: <strftime_now>" unless
 * given `date_string`, so without a pinned date the same prompt renders another text every day. Uses the Llama 3.2
 * tokenizer from the shared data folder (skipped with the reason when it is absent).
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Prompt } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import { Effect } from "effect"
import * as PromptText from "../src/PromptText.ts"
import * as Tokenizer from "../src/Tokenizer.ts"

const dir = SharedData.sharedDataFile("tokenizers", "llama3.2")
const name = (text: string) =>
  dir === undefined ? `${text} (${SharedData.missingReason("tokenizers/llama3.2")})` : text
const messages = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "What is 2+3?" }
]

describe("PromptText with Llama 3.2's dated template", () => {
  it.effect.skipIf(dir === undefined)(
    name("renders the run's pinned date, never today's, and the same text on any day"),
    () =>
      Effect.gen(function* () {
        const llama = yield* Tokenizer.load(dir as string)
        assert.include(llama.chatTemplate ?? "", "strftime_now")
        const today = Prompt.formatTemplateDate(new Date())
        const unpinned = yield* PromptText.render(llama, messages)
        assert.include(unpinned, `Today Date: ${Prompt.defaultTemplateDate}\n`)
        if (today !== Prompt.defaultTemplateDate) assert.notInclude(unpinned, today)
        const pinned = yield* PromptText.render(llama, messages).pipe(
          Effect.provideService(Prompt.TemplateDate, "05 Dec 2026")
        )
        assert.include(pinned, "Today Date: 05 Dec 2026\n")
        assert.strictEqual(pinned.replace("05 Dec 2026", Prompt.defaultTemplateDate), unpinned)
        // Tokens too: encoding goes through the same rendering.
        const ids = yield* PromptText.encodeMessages(llama, messages).pipe(
          Effect.provideService(Prompt.TemplateDate, "05 Dec 2026")
        )
        assert.deepStrictEqual(ids, llama.encode(pinned))
      }).pipe(Effect.provide(NodeServices.layer))
  )
})

describe("PromptText with a prefill", () => {
  // A character tokenizer without a chat template: messages render as plain `role: content` text.
  const chars = {
    chatTemplate: undefined,
    encode: (text: string) => Array.from(text, (c) => c.charCodeAt(0))
  } as unknown as Tokenizer.Tokenizer
  const prompt: Prompt.Prompt = {
    problemId: "p1",
    messages: [{ role: "user", content: "Q: 2+3?" }],
    guidance: { mode: "hint", strength: 1, routeIds: [], hint: "Step 1: 2+3 = 5" }
  }

  it.effect(
    "appends the prefill's own tokens after the rendered messages, as a target's tokens follow its prompt's",
    () =>
      Effect.gen(function* () {
        const bare = yield* PromptText.encode(chars, prompt)
        assert.deepStrictEqual(bare, chars.encode("user: Q: 2+3?\n\nassistant:"))
        const prefilled = yield* PromptText.encode(chars, { ...prompt, prefill: "Step 1: 2+3 = 5\n" })
        assert.deepStrictEqual(prefilled, [...bare, ...chars.encode("Step 1: 2+3 = 5\n")])
        assert.deepStrictEqual(yield* PromptText.encode(chars, { ...prompt, prefill: "" }), bare)
        assert.strictEqual(Prompt.reply({ prefill: "Step 1: 2+3 = 5\n" }, "Answer: 5"), "Step 1: 2+3 = 5\nAnswer: 5")
        assert.strictEqual(Prompt.reply({}, "Answer: 5"), "Answer: 5")
      })
  )
})
