/**
 * Off-main-thread training: run a job (a module whose default export is `(input, progress) => Effect`)
 * in a `worker_threads` worker, so `session.run` (synchronous inside onnxruntime-node) does not block
 * the main thread's event loop and a CLI's progress display stays live. Sessions and state live in the
 * worker; progress events and the result come back by message (structured clone).
 */
import { Worker as NodeWorker } from "node:worker_threads"
import type { Scope } from "effect"
import { Effect, Schema } from "effect"

/** A job: runs in the worker with its input and a progress callback; its scope closes when it ends. */
export type Job<I, O, P> = (input: I, progress: (p: P) => void) => Effect.Effect<O, unknown, Scope.Scope>

/** Type helper for a job module's default export. */
export const defineJob = <I, O, P>(job: Job<I, O, P>): Job<I, O, P> => job

/** The job failed in the worker (its error's tag and message), or the worker died. */
export class WorkerFailed extends Schema.TaggedError<WorkerFailed>()("WorkerFailed", {
  module: Schema.String,
  tag: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `job ${this.module} failed in its worker: ${this.tag}: ${this.detail}`
  }
}

type Message =
  | { readonly type: "progress"; readonly value: unknown }
  | { readonly type: "success"; readonly value: unknown }
  | { readonly type: "failure"; readonly tag: string; readonly message: string }

/** The worker's entry beside this module: `workerEntry.ts` when run from source, `workerEntry.js` from `dist/`. */
const entry = new URL(`./internal/workerEntry${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url)

/**
 * Run the job exported by `module` (a file URL or path) in a worker thread with `input` (structured-clone
 * data). `onProgress` runs on the calling thread for each event. Interrupting terminates the worker.
 */
export const run = <I, O, P>(
  module: string | URL,
  input: I,
  onProgress: (p: P) => void = () => {}
): Effect.Effect<O, WorkerFailed> =>
  Effect.callback<O, WorkerFailed>((resume) => {
    const url = String(module instanceof URL ? module : new URL(module, "file://"))
    const worker = new NodeWorker(entry, { workerData: { module: url, input } })
    let settled = false
    const settle = (effect: Effect.Effect<O, WorkerFailed>) => {
      if (settled) return
      settled = true
      resume(effect)
      void worker.terminate()
    }
    worker.on("message", (m: Message) => {
      if (m.type === "progress") onProgress(m.value as P)
      else if (m.type === "success") settle(Effect.succeed(m.value as O))
      else settle(Effect.fail(new WorkerFailed({ module: url, tag: m.tag, detail: m.message })))
    })
    worker.on("error", (e) =>
      settle(Effect.fail(new WorkerFailed({ module: url, tag: "WorkerError", detail: String(e) })))
    )
    worker.on("exit", (code) =>
      settle(
        Effect.fail(new WorkerFailed({ module: url, tag: "WorkerExit", detail: `worker exited with code ${code}` }))
      )
    )
    return Effect.sync(() => {
      settled = true
      void worker.terminate()
    })
  })
