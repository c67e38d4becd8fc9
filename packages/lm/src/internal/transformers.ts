/**
 * The one place that loads and configures transformers.js. Its `env` is global and mutable, so it is set here,
 * once, to local files only: remote models off, no caches, and a `fetch` that refuses, so nothing in this package
 * can reach the network through it even if a path is mistaken for a Hub model id.
 */
import type * as Transformers from "@huggingface/transformers"

let loaded: Promise<typeof Transformers> | undefined

/** transformers.js, configured for offline use (imported lazily: it also loads ONNX Runtime's native binding). */
export const offline = (): Promise<typeof Transformers> => {
  loaded ??= import("@huggingface/transformers").then((t) => {
    t.env.allowRemoteModels = false
    t.env.allowLocalModels = true
    t.env.useFSCache = false
    t.env.useBrowserCache = false
    t.env.fetch = (input: string | URL) =>
      Promise.reject(new Error(`realm-lm: transformers.js tried to fetch ${String(input)}; network access is disabled`))
    return t
  })
  return loaded
}
