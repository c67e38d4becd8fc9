/**
 * Checks on a prompt's text that run before it is rendered or encoded, so they cost time linear in its bytes and
 * nothing more: its size in bytes against `maxPromptBytes`, and (when the server is set to refuse them) the text of
 * special tokens, which the tokenizer would otherwise encode as the tokens themselves.
 */
import type { Tokenizer } from "@realm-lm/lm"
import * as ApiError from "./ApiError.ts"
import type { Message } from "./ChatRequest.ts"

/** UTF-8 bytes of all message contents. */
export const bytes = (messages: ReadonlyArray<Message>): number =>
  messages.reduce((sum, m) => sum + Buffer.byteLength(m.content, "utf8"), 0)

/** The text of each of the tokenizer's special tokens (e.g. `<|im_end|>`). */
export const specialTexts = (tokenizer: Tokenizer.Tokenizer): ReadonlyArray<string> =>
  [...new Set(tokenizer.specialTokenIds.map((id) => tokenizer.decode([id])))].filter((text) => text !== "")

/** The error for messages that break a limit, or `undefined`; `refused` lists special-token texts not allowed in content. */
export const check = (
  messages: ReadonlyArray<Message>,
  maxPromptBytes: number,
  refused: ReadonlyArray<string>
): ApiError.ApiError | undefined => {
  // Every UTF-16 unit takes at least one UTF-8 byte, so more units than the limit is too large without counting bytes.
  const units = messages.reduce((sum, m) => sum + m.content.length, 0)
  if (units > maxPromptBytes) return ApiError.promptTooLarge(`at least ${units}`, maxPromptBytes)
  const size = bytes(messages)
  if (size > maxPromptBytes) return ApiError.promptTooLarge(String(size), maxPromptBytes)
  for (const [i, m] of messages.entries()) {
    const token = refused.find((text) => m.content.includes(text))
    if (token !== undefined) return ApiError.specialTokenText(`messages[${i}].content`, token)
  }
  return undefined
}
