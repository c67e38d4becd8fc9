/**
 * SFT examples whose warm starts are drawn afresh every epoch (`sft.warmStart.redraw`): the plain examples stay,
 * each epoch's warm-start slots hold a new draw (other routes, route order and route count per problem, seeded by
 * the epoch). One fixed draw repeated for 30 epochs lets a small student memorize its verdicts instead of learning
 * to check routes (docs/EXPERIMENTS.md, D8). Epoch 0 is the fixed draw itself, so a run with and without redraw
 * shares its first epoch; draws are deterministic per epoch, so a resumed run sees the same examples.
 */
import { Effect } from "effect"
import type { Verifier } from "@realm-lm/core"
import type { TextExample } from "./data.ts"
import type { Engine } from "./engine.ts"
import type { EngineFailed } from "../TrainerErrors.ts"
import type { ExampleSource, Tokenized } from "./supervised.ts"
import { tokenize } from "./supervised.ts"

/** An example source with per-epoch warm starts, and the effect that draws the epochs a step is about to read. */
export interface WarmRedraw {
  readonly source: ExampleSource
  readonly prepare: (epochs: ReadonlyArray<number>) => Effect.Effect<void, EngineFailed | Verifier.VerifierError>
  /** Redrawn warm starts so far whose marked ranges did not fall on token edges (`Supervised.TokenizedSet.unaligned`). */
  readonly unaligned: () => number
}

/**
 * `plain` then `warm` (epoch 0's tokenized warm starts) as a source of `plain.length + warm.length` items per epoch;
 * epoch `e > 0` fills the warm slots from `draw(e)`, tokenized; a slot whose redrawn example is longer than
 * `maxTokens` keeps epoch 0's example. Marked tokens weigh `emphasis` (`sft.warmStart.emphasis`), as in epoch 0.
 */
export const make = (
  engine: Engine,
  plain: ReadonlyArray<Tokenized>,
  warm: ReadonlyArray<Tokenized>,
  draw: (epoch: number) => Effect.Effect<Array<TextExample>, Verifier.VerifierError>,
  maxTokens: number,
  emphasis = 1
): WarmRedraw => {
  const drawn = new Map<number, ReadonlyArray<Tokenized>>([[0, warm]])
  let unaligned = 0
  const prepare = (epochs: ReadonlyArray<number>) =>
    Effect.gen(function* () {
      for (const epoch of epochs) {
        if (drawn.has(epoch)) continue
        const set = yield* tokenize(engine, yield* draw(epoch), maxTokens, emphasis)
        unaligned += set.unaligned
        const fresh = set.examples.slice(0, warm.length)
        drawn.set(epoch, [...fresh, ...warm.slice(fresh.length)])
      }
      const oldest = Math.min(...epochs)
      for (const epoch of drawn.keys()) if (epoch !== 0 && epoch < oldest) drawn.delete(epoch)
    })
  const source: ExampleSource = {
    count: plain.length + warm.length,
    at: (epoch, index) => {
      if (index < plain.length) return plain[index]!
      const set = drawn.get(epoch)
      if (set === undefined)
        throw new Error(`warm starts of epoch ${epoch} read before they were drawn (call prepare first)`)
      return set[index - plain.length]!
    }
  }
  return { source, prepare, unaligned: () => unaligned }
}
