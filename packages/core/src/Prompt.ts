/**
 * The exact input a policy saw, together with the external guidance it contained. Completions carry their
 * prompt, so training always scores a completion on the prompt it was sampled from (off-policy safety).
 */
import { Context, Schema } from "effect"

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
  guidance: Guidance,
  /**
   * The start of the assistant's reply, given rather than sampled (forced decoding): its tokens follow the rendered
   * messages, the policy writes only what comes after, and the reply scored is `prefill + completion` (`reply`).
   * A hint placed here is continued instead of rewritten.
   */
  prefill: Schema.optionalKey(Schema.String)
})
export type Prompt = typeof Prompt.Type

/** The whole reply a completion sampled on `prompt` stands for: the prompt's prefill (if any) followed by the completion. */
export const reply = (prompt: Pick<Prompt, "prefill">, completion: string): string =>
  (prompt.prefill ?? "") + completion

/** Plain-text rendering of messages for models without a chat template: `role: content` blocks ending in `assistant:`. */
export const plainText = (messages: ReadonlyArray<{ readonly role: string; readonly content: string }>): string =>
  messages.map((m) => `${m.role}: ${m.content}`).join("\n\n") + "\n\nassistant:"

/** Plain-text rendering of a prompt (see `plainText`), followed by its prefill. */
export const toPlainText = (prompt: Prompt): string => plainText(prompt.messages) + (prompt.prefill ?? "")

/**
 * The date a chat template sees when it asks for one: Llama 3.x's templates write "Today Date: <date_string>" from
 * the clock unless given `date_string`, so the same prompt would tokenize differently from day to day. Rendering
 * always passes this date, so prompts never change with the calendar. A pipeline run pins its own (the day it
 * started, recorded in `<runDir>/run.json` and every stage manifest) and provides it here; `@realm-lm/lm`'s `PromptText` renders with it.
 */
export const defaultTemplateDate = "26 Jul 2024"

/** The `date_string` templates render with (`defaultTemplateDate` unless a run provides its own). */
export const TemplateDate = Context.Reference<string>("@realm-lm/core/Prompt/TemplateDate", {
  defaultValue: () => defaultTemplateDate
})

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const

/** A day as Llama 3's templates write it (`strftime("%d %b %Y")`, UTC): `05 Dec 2026`. */
export const formatTemplateDate = (date: Date): string =>
  `${String(date.getUTCDate()).padStart(2, "0")} ${months[date.getUTCMonth()]!} ${date.getUTCFullYear()}`
