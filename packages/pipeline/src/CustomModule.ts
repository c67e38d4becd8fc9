/**
 * Load a user's own stage implementation from a TypeScript or JavaScript module named in a pipeline config
 * (`verifier: { use: ./my-verifier.ts }`). The module exports `implementation` made with `Implementation.define`;
 * it is checked before any work starts: right slot, a config schema, a layer that really provides the service.
 */
import { isAbsolute, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { ConfigDecode } from "@realm-lm/core"
import type { Curriculum } from "@realm-lm/core"
import { Context, Effect, FileSystem, Layer, Predicate, Schema } from "effect"
import type { Implementation, Requirements, Slot, SlotIdentifier } from "./Implementation.ts"
import { slotServices, withPaths } from "./Implementation.ts"
import * as SharedPackages from "./internal/sharedPackages.ts"

/** Whether a `use:` value names a module file rather than a built-in implementation. */
export const isModulePath = (use: string): boolean =>
  use.startsWith(".") || isAbsolute(use) || /\.(ts|js|mjs)$/.test(use)

/**
 * A stage implementation cannot be used: a custom module is missing, throws on import or does not export a valid
 * implementation, or an implementation's (custom or built-in) settings are invalid. `module` is the module's path or
 * the built-in's name.
 */
export class CustomStageInvalid extends Schema.TaggedError<CustomStageInvalid>()("CustomStageInvalid", {
  module: Schema.String,
  slot: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return isModulePath(this.module)
      ? `custom ${this.slot} module ${this.module}: ${this.detail}`
      : `built-in ${this.slot} implementation "${this.module}": ${this.detail}`
  }
}

/** The file a module path names: absolute, or relative to `baseDir` (the directory of the config that names it). */
export const file = (modulePath: string, baseDir: string): string =>
  isAbsolute(modulePath) ? modulePath : resolve(baseDir, modulePath)

/**
 * Check that a module file exists and is a regular file, without importing it (importing runs its code). Fails
 * with the resolved path when it is missing.
 */
export const locate = (slot: Slot | "stage", modulePath: string, baseDir: string) =>
  Effect.gen(function* () {
    const path = file(modulePath, baseDir)
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(Effect.option)
    if (info._tag === "None") return yield* new CustomStageInvalid({ module: path, slot, detail: "no such file" })
    if (info.value.type !== "File")
      return yield* new CustomStageInvalid({
        module: path,
        slot,
        detail: `is a ${info.value.type.toLowerCase()}, not a module file`
      })
    return path
  })

/**
 * Import `modulePath` (relative to `baseDir`) and check that it exports an implementation of `slot`. The module may
 * import `effect`, `@effect/*` and `@realm-lm/*` even from a folder with no node_modules: those resolve to the
 * pipeline's own copies when the module's folder has none.
 */
export const load = <S extends Slot>(slot: S, modulePath: string, baseDir: string) =>
  Effect.gen(function* () {
    const path = file(modulePath, baseDir)
    const fail = (detail: string) => new CustomStageInvalid({ module: path, slot, detail })
    SharedPackages.install()
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
      catch: (cause) => fail(`cannot import: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
    const impl = mod.implementation
    if (!Predicate.isObject(impl)) {
      return yield* fail(
        "exports no `implementation`; export one made with Implementation.define({ slot, id, config, layer })"
      )
    }
    if (impl.slot !== slot) return yield* fail(`implements slot "${String(impl.slot)}", but is configured as "${slot}"`)
    if (!Schema.isSchema(impl.config)) return yield* fail("`implementation.config` is not an Effect Schema")
    if (!Predicate.isFunction(impl.layer)) return yield* fail("`implementation.layer` is not a function of the config")
    return impl as unknown as Implementation<S, unknown>
  })

/**
 * The layer of an implementation for the given raw settings. Settings are decoded when the layer is built, their
 * relative paths resolved against `settingsDir` (the directory of the file that holds them; absent: the working
 * directory), and the built context is checked to really contain the slot's service (custom modules are untyped at
 * run time). With `fixedGuidance` (a curriculum for a baseline), the decoded settings pass through the
 * implementation's `fixedGuidance`.
 */
export const toLayer = <S extends Slot>(
  implementation: Implementation<S, unknown>,
  rawConfig: unknown,
  settingsDir?: string,
  adapt: { readonly fixedGuidance?: Curriculum.FixedGuidance; readonly answerOnly?: boolean } = {}
): Layer.Layer<SlotIdentifier<S>, CustomStageInvalid, Requirements> => {
  const fail = (detail: string) =>
    new CustomStageInvalid({ module: implementation.id, slot: implementation.slot, detail })
  return Layer.effectContext(
    Effect.gen(function* () {
      const decoded = yield* ConfigDecode.decodeUnknownEffect(implementation.config)(rawConfig ?? {}).pipe(
        Effect.mapError((e) => fail(`invalid settings:\n${e.message}`))
      )
      const resolved = withPaths(implementation, decoded, settingsDir)
      // A baseline's fixed guidance and answer-only rewards, in the implementation's own terms (see
      // `Implementation.fixedGuidance` and `answerOnly`).
      const guided =
        adapt.fixedGuidance === undefined || implementation.fixedGuidance === undefined
          ? resolved
          : implementation.fixedGuidance(resolved, adapt.fixedGuidance)
      const config =
        adapt.answerOnly !== true || implementation.answerOnly === undefined
          ? guided
          : implementation.answerOnly(guided)
      const layer = implementation.layer(config)
      if (!Layer.isLayer(layer as unknown)) return yield* fail("`layer(config)` did not return a Layer")
      const context = yield* Layer.build(layer).pipe(
        Effect.mapError((e) =>
          e instanceof CustomStageInvalid
            ? e
            : fail(`layer failed to build: ${Predicate.hasProperty(e, "message") ? String(e.message) : String(e)}`)
        )
      )
      const service: Context.Key<unknown, unknown> = slotServices[implementation.slot]
      if (Context.getOption(context, service)._tag === "None") {
        return yield* fail(`its layer does not provide ${service.key}`)
      }
      return context as Context.Context<SlotIdentifier<S>>
    })
  )
}
