/**
 * The exact input a policy saw, together with the external guidance it contained. Completions carry their
 * prompt, so training always scores a completion on the prompt it was sampled from (off-policy safety).
 */
import { Schema } from "effect"

/** One chat message. */
export const ChatMessage = Schema.Struct({
  role: Schema.Literals(["system", "user", "assistant"]),
  content: Schema.String
})
export type ChatMessage = typeof ChatMessage.Type

/** What external signal a prompt carries. */
export const GuidanceMode = Schema.Literals(["assisted", "hint", "autonomous"])
export type GuidanceMode = typeof GuidanceMode.Type

/** The guidance actually placed in a prompt. */
export const Guidance = Schema.Struct({
  mode: GuidanceMode,
  /** Curriculum signal strength s(t) in [0, 1] that produced this guidance. */
  strength: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  /** Ids of the routes shown, in the order shown (Route A first). */
  routeIds: Schema.Array(Schema.String),
  /** Text of the hint prefix given, when mode is `hint`. */
  hint: Schema.optionalKey(Schema.String)
})
export type Guidance = typeof Guidance.Type

/** A prompt: chat messages (rendered by a chat template or as plain text) plus its guidance. */
export const Prompt = Schema.Struct({
  problemId: Schema.NonEmptyString,
  messages: Schema.Array(ChatMessage),
  guidance: Guidance
})
export type Prompt = typeof Prompt.Type

/** Plain-text rendering of messages for models without a chat template: `role: content` blocks ending in `assistant:`. */
export const plainText = (messages: ReadonlyArray<{ readonly role: string; readonly content: string }>): string =>
  messages.map((m) => `${m.role}: ${m.content}`).join("\n\n") + "\n\nassistant:"

/** Plain-text rendering of a prompt (see `plainText`). */
export const toPlainText = (prompt: Prompt): string => plainText(prompt.messages)
