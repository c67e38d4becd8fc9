/**
 * Lets a user's stage module that lives outside any npm project (`use: ./my-verifier.ts` beside a config in a plain
 * folder) import the packages realm-lm itself runs on: when Node cannot resolve `effect`, `@effect/*` or
 * `@realm-lm/*` from the user's file, it resolves them from this package instead, so the module gets the very copies
 * the pipeline uses (one `effect`, one set of contracts). A copy the user installed is found first and wins.
 */
import { registerHooks } from "node:module"

/** Bare specifiers that fall back to the host's copy, with or without a subpath (`effect/Schema`, `@realm-lm/core/node`). */
const shared = /^(?:effect|@effect\/[^/]+|@realm-lm\/[^/]+)(?:\/.*)?$/

let registered = false

/** Install the fallback resolver once per thread (module hooks are per thread); later calls do nothing. */
export const install = (): void => {
  if (registered) return
  registered = true
  registerHooks({
    resolve: (specifier, context, nextResolve) => {
      try {
        return nextResolve(specifier, context)
      } catch (error) {
        if (!shared.test(specifier) || (error as { readonly code?: unknown }).code !== "ERR_MODULE_NOT_FOUND")
          throw error
        return nextResolve(specifier, { ...context, parentURL: import.meta.url })
      }
    }
  })
}
