/**
 * Turn a slot's `use:` (a built-in name or a path to the user's own module) and `with:` settings into the
 * layer that provides the slot's service, failing with the available names when the name is unknown.
 */
import { ConfigDecode } from "@realm-lm/core"
import { Hash } from "@realm-lm/core/node"
import type { Curriculum, RunManifest } from "@realm-lm/core"
import { Effect, FileSystem } from "effect"
import * as CustomModule from "./CustomModule.ts"
import type { Implementation, Slot } from "./Implementation.ts"
import { withPaths } from "./Implementation.ts"
import { builtins, fixedFallback } from "./Registry.ts"

/** The choice of an implementation for a slot, as written in a pipeline config or on the command line. */
export interface Choice {
  readonly use: string
  readonly with?: unknown
  /**
   * Directory that relative paths in `with` resolve against, when the settings come from another file than the one
   * naming `use` (`realm corpus build --tasks-config t.yaml`: the directory of `t.yaml`). Default: the `baseDir` the
   * choice is resolved with.
   */
  readonly settingsDir?: string
  /**
   * Curricula only: run it at this fixed guidance (the baselines). The implementation's `fixedGuidance` turns its
   * settings into that; one without it is replaced by the registered `fixed` curriculum (`Registry.fixedFallback`).
   */
  readonly fixedGuidance?: Curriculum.FixedGuidance
  /**
   * Verifiers only: reward the answer and format only (the answer-only methods). The implementation's `answerOnly`
   * turns its settings into that; one without it is used as configured.
   */
  readonly answerOnly?: boolean
}

/** The implementation a choice names. Module paths are resolved against `baseDir`. */
export const implementation = <S extends Slot>(slot: S, use: string, baseDir: string) =>
  CustomModule.isModulePath(use)
    ? CustomModule.load(slot, use, baseDir)
    : Effect.suspend(() => {
        const found = builtins[slot][use]
        return found !== undefined
          ? Effect.succeed(found)
          : Effect.fail(
              new CustomModule.CustomStageInvalid({
                module: use,
                slot,
                detail: `no built-in ${slot} named "${use}"; built-ins: ${Object.keys(builtins[slot]).join(", ") || "none"}, or give a path to your own module (./my-${slot}.ts)`
              })
            )
      })

/**
 * What checking a config may do with module paths: `load` imports them (running their code) so their settings can be
 * checked against their schema; `locate` only checks that the file exists (`realm config check` without
 * `--load-modules`).
 */
export type ModuleLoading = "load" | "locate"

/**
 * The implementation a choice names, for checking: as `implementation`, except that with `"locate"` a module path is
 * only located, and the result is `undefined` (nothing to check its settings against).
 */
export const inspect = <S extends Slot>(slot: S, use: string, baseDir: string, modules: ModuleLoading) =>
  modules === "locate" && CustomModule.isModulePath(use)
    ? Effect.as(CustomModule.locate(slot, use, baseDir), undefined)
    : implementation(slot, use, baseDir)

/**
 * The layer of a choice for a slot. `baseDir` is the directory of the config that names the choice: a module path
 * in `use` and relative paths in `with` resolve against it (the latter against `choice.settingsDir` when given).
 */
export const layer = <S extends Slot>(slot: S, choice: Choice, baseDir: string) =>
  Effect.map(implementation(slot, choice.use, baseDir), (impl) => {
    const guidance = choice.fixedGuidance
    const answerOnly = choice.answerOnly === true ? { answerOnly: true } : {}
    if (guidance === undefined || impl.fixedGuidance !== undefined) {
      return CustomModule.toLayer(impl, choice.with, choice.settingsDir ?? baseDir, {
        ...(guidance === undefined ? {} : { fixedGuidance: guidance }),
        ...answerOnly
      })
    }
    // A curriculum that cannot run at a fixed guidance: the registered one that can, with its default settings.
    return CustomModule.toLayer(fixedFallback as unknown as Implementation<S, unknown>, {}, baseDir, {
      fixedGuidance: guidance
    })
  })

/**
 * Content hashes of the files a choice's implementation reads (its `dataFiles`), for stage config hashes. Files
 * that do not exist are left out: building the layer reports them with the implementation's own error.
 */
export const dataHashes = <S extends Slot>(slot: S, choice: Choice, baseDir: string) =>
  Effect.gen(function* () {
    const impl = yield* implementation(slot, choice.use, baseDir)
    if (impl.dataFiles === undefined) return []
    const settings = yield* ConfigDecode.decodeUnknownEffect(impl.config)(choice.with ?? {}).pipe(
      Effect.mapError(
        (e) => new CustomModule.CustomStageInvalid({ module: impl.id, slot, detail: `invalid settings:\n${e.message}` })
      )
    )
    const fs = yield* FileSystem.FileSystem
    const hashes: Array<RunManifest.FileHash> = []
    const written = impl.dataFiles(settings)
    const resolved = impl.dataFiles(withPaths(impl, settings, choice.settingsDir ?? baseDir))
    for (const [i, file] of resolved.entries()) {
      // Recorded under the path as written, so a run directory moved with its data keeps its hashes.
      if (yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false)))
        hashes.push(yield* Hash.hashFile(file, written[i] ?? file))
    }
    return hashes
  })
