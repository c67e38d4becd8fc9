/**
 * Test support: a tiny from-scratch chat model taught, by a few hundred SFT steps, to answer toy addition
 * problems from the HTTP teacher's guided prompt, so a server test can check answers and not just plumbing.
 */
import type { Problem } from "@realm-lm/core"
import { Prompts } from "@realm-lm/corpus"
import { Batches, Policy, PromptText } from "@realm-lm/lm"
import { Problems } from "@realm-lm/test-support"
import { Scratch } from "@realm-lm/trainer"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Toy problems: `Qi: what is i + i?`. */
export const toyProblems: Array<Problem.Problem> = Problems.toyProblems(8)

/** The reply the model learns for a toy problem. */
export const toyReply = (p: Problem.Problem): string => `Step 1: ${p.gold} = ${p.gold}\nAnswer: ${p.gold}`

/** A fresh temporary directory. */
export const tempDir = (prefix = "realm-serve-"): string => mkdtempSync(join(tmpdir(), prefix))

/** The settings (`Scratch.create`) of the test models: 2 layers of width 48, a 320-token vocabulary, 512 tokens of context. */
export const modelShape = {
  vocabSize: 320,
  hiddenSize: 48,
  intermediateSize: 96,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  maxContext: 512,
  seed: 3
}

/** Write a small chat model that answers the toy problems (greedy) into a new directory; returns it. */
export const taughtModel = (steps = 300) =>
  Effect.gen(function* () {
    const dir = tempDir("realm-serve-model-")
    const conversations = toyProblems.map((p) => ({ messages: Prompts.guidedMessages(p), reply: toyReply(p) }))
    const texts = conversations.flatMap((c) => [...c.messages.map((m) => m.content), c.reply])
    yield* Scratch.create(dir, texts, modelShape)
    yield* Effect.scoped(
      Effect.gen(function* () {
        const policy = yield* Policy.load(dir)
        const tok = policy.tokenizer
        if (tok === undefined) return yield* Effect.die(new Error("Scratch.create wrote no tokenizer"))
        const examples = yield* Effect.forEach(conversations, (c) =>
          Effect.map(PromptText.encodeMessages(tok, c.messages), (prompt) => ({
            prompt,
            completion: tok.encode(`${c.reply}<|im_end|>`)
          }))
        )
        const batch = Batches.tokenBatch(examples)
        for (let step = 0; step < steps; step++) yield* policy.sftStep(batch, { lr: step < steps / 2 ? 3e-3 : 1e-3 })
        yield* policy.save(dir)
      })
    )
    return dir
  })
