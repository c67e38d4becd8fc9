/**
 * Forced V8 garbage collection for superseded CPU state. A training step returns every updated parameter and
 * optimizer moment as a fresh ArrayBuffer; the buffers they replace are garbage that V8 collects late (their memory
 * is outside the JS heap, which stays small), so several steps' worth of state can sit in memory at once. Counting
 * the replaced bytes and collecting past a threshold bounds that to about one step's worth.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

let collector: (() => void) | undefined

/** `gc()`: the global one under `--expose-gc`, else one obtained by setting that flag for a moment (a common Node idiom). */
const gc = (): (() => void) => {
  if (collector !== undefined) return collector
  const global = (globalThis as { gc?: () => void }).gc
  if (typeof global === "function") collector = global
  else {
    setFlagsFromString("--expose-gc")
    collector = runInNewContext("gc") as () => void
    setFlagsFromString("--no-expose-gc")
  }
  return collector
}

/**
 * A counter of superseded bytes: `note(bytes, thresholdMB)` adds them, and once `thresholdMB` MiB have accumulated it
 * calls `collect` twice (the first collection marks the dead buffers, the second lets the sweeper return them) and
 * starts over. A threshold of 0 disables it.
 */
export const counter = (collect: () => void) => {
  let pending = 0
  return (bytes: number, thresholdMB: number): void => {
    if (thresholdMB <= 0) return
    pending += bytes
    if (pending < thresholdMB * 2 ** 20) return
    pending = 0
    collect()
    collect()
  }
}

/** The process-wide counter with V8's collector (one count for every session of every executor). */
export const replaced = counter(() => gc()())
