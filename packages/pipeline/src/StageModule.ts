/**
 * A user's own pipeline stage named in a config (`stages: [{ use: ./drop-short-routes.ts, after: corpus, with: {...} }]`):
 * the module exports `stage`, a stage value (`PipelineStage.define`) or a function of its `with:` settings returning
 * one; it is placed after (or before) the named stage. Like slot modules, importing it runs its code.
 */
import { pathToFileURL } from "node:url"
import { Effect, Predicate, Schema } from "effect"
import { CustomStageInvalid, file, locate } from "./CustomModule.ts"
import * as SharedPackages from "./internal/sharedPackages.ts"
import type { AnyStage } from "./PipelineStage.ts"
import { insertAfter, insertBefore, PipelineOrderInvalid } from "./PipelineStage.ts"

/** One entry of a config's `stages:`. */
export const StageEntry = Schema.Struct({
  /** Path to a module exporting `stage` (relative to the config file). */
  use: Schema.NonEmptyString,
  /** Settings passed to `stage` when it is a function. */
  with: Schema.optionalKey(Schema.Unknown),
  /** Name of the stage it runs after (`problems`, `corpus`, `base`, `train`, `eval`, or an earlier user stage). */
  after: Schema.optionalKey(Schema.NonEmptyString),
  /** Name of the stage it runs before, instead of `after`. */
  before: Schema.optionalKey(Schema.NonEmptyString)
})
export type StageEntry = typeof StageEntry.Type

const isStage = (u: unknown): u is AnyStage =>
  Predicate.isObject(u) &&
  typeof u.name === "string" &&
  Array.isArray(u.needs) &&
  Array.isArray(u.gives) &&
  Predicate.isFunction(u.run)

/** Import an entry's module and return its stage, checked to have a name, needs, gives and a run function. */
export const load = (entry: StageEntry, baseDir: string) =>
  Effect.gen(function* () {
    const path = file(entry.use, baseDir)
    const invalid = (detail: string) => new CustomStageInvalid({ module: path, slot: "stage", detail })
    yield* locate("stage", entry.use, baseDir)
    SharedPackages.install()
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
      catch: (cause) => invalid(`cannot import: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
    const exported = mod.stage
    const stage = yield* Effect.try({
      try: () =>
        Predicate.isFunction(exported) ? (exported as (settings: unknown) => unknown)(entry.with ?? {}) : exported,
      catch: (cause) => invalid(`stage(settings) failed: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
    if (!isStage(stage))
      return yield* invalid(
        "exports no `stage`; export one made with PipelineStage.define({ name, needs, gives, run }), or a function of the settings returning one"
      )
    return stage
  })

/** `stages` with each config entry's stage inserted where it says (after `corpus` when it names no place). */
export const insertAll = (stages: ReadonlyArray<AnyStage>, entries: ReadonlyArray<StageEntry>, baseDir: string) =>
  Effect.gen(function* () {
    let out: ReadonlyArray<AnyStage> = stages
    for (const entry of entries) {
      const stage = yield* load(entry, baseDir)
      if (entry.after !== undefined && entry.before !== undefined) {
        return yield* new PipelineOrderInvalid({ stage: stage.name, detail: "give either after or before, not both" })
      }
      const placed =
        entry.before !== undefined
          ? insertBefore(out, entry.before, stage)
          : insertAfter(out, entry.after ?? "corpus", stage)
      if (placed instanceof PipelineOrderInvalid) return yield* placed
      out = placed
    }
    return out
  })
