/**
 * Worker-thread entry point for `Worker.run`: imports the job module, runs its default export with the
 * input, forwards progress events and posts the result or a serialized failure. Like a CLI `main`, this
 * is where the job's Effect is actually run.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Cause, Effect, Exit } from "effect"

interface Data {
  readonly module: string
  readonly input: unknown
}

type Job = (input: unknown, progress: (p: unknown) => void) => Effect.Effect<unknown, unknown, never>

const port = parentPort
const data = workerData as Data
if (port !== null) {
  const mod = (await import(data.module)) as { default?: Job }
  if (typeof mod.default !== "function") {
    port.postMessage({
      type: "failure",
      tag: "InvalidJob",
      message: `${data.module} has no default-exported job function`
    })
  } else {
    const job = mod.default
    const exit = await Effect.runPromiseExit(
      Effect.scoped(job(data.input, (p) => port.postMessage({ type: "progress", value: p })))
    )
    if (Exit.isSuccess(exit)) port.postMessage({ type: "success", value: exit.value })
    else {
      const err = Cause.squash(exit.cause)
      const tag =
        typeof err === "object" && err !== null && "_tag" in err ? String((err as { _tag: unknown })._tag) : "Defect"
      port.postMessage({ type: "failure", tag, message: err instanceof Error ? err.message : String(err) })
    }
  }
}
