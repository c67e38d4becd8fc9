/**
 * How a core `Prompt` (chat messages plus the guidance they carry) becomes the token ids a model sees: through
 * the tokenizer's chat template with the assistant header appended, or as plain `role: content` text for
 * tokenizers without one. Trainers, evaluators and servers all encode prompts here, so a completion is always
 * scored on exactly the text it was sampled from.
 */
import { Prompt } from "@realm-lm/core"
import { Effect } from "effect"
import type { ChatMessage, ChatTemplateFailed, Tokenizer } from "./Tokenizer.ts"

/** The prompt text for chat messages, ending where the assistant's reply starts (with the pinned `Prompt.TemplateDate` as `date_string`). */
export const render = (
  tokenizer: Tokenizer,
  messages: ReadonlyArray<ChatMessage>
): Effect.Effect<string, ChatTemplateFailed> =>
  tokenizer.chatTemplate === undefined
    ? Effect.succeed(Prompt.plainText(messages))
    : Effect.flatMap(Effect.service(Prompt.TemplateDate), (date) =>
        tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, variables: { date_string: date } })
      )

/** Token ids of chat messages (no special tokens added beyond what the chat template writes). */
export const encodeMessages = (
  tokenizer: Tokenizer,
  messages: ReadonlyArray<ChatMessage>
): Effect.Effect<Array<number>, ChatTemplateFailed> =>
  Effect.map(render(tokenizer, messages), (text) => tokenizer.encode(text))

/**
 * Token ids of a prompt (no special tokens added beyond what the chat template writes). A prefill is encoded on its
 * own and appended, exactly as a training target's tokens follow its prompt's, so a reply that starts with the
 * prefill is the same token sequence whether it was given or written.
 */
export const encode = (tokenizer: Tokenizer, prompt: Prompt.Prompt): Effect.Effect<Array<number>, ChatTemplateFailed> =>
  prompt.prefill === undefined || prompt.prefill === ""
    ? encodeMessages(tokenizer, prompt.messages)
    : Effect.map(encodeMessages(tokenizer, prompt.messages), (ids) => [
        ...ids,
        ...tokenizer.encode(prompt.prefill as string)
      ])
