/**
 * The evaluator's completions from a served model (`realm serve`, vLLM, SGLang) through an OpenAI-compatible
 * `/chat/completions`. Each prompt's chat messages are sent as they are, so the server renders them with the same
 * chat template (`realm serve`: `PromptText`, the code local evaluation uses) and temperature 0 gives the local
 * greedy completion. Per prompt: one greedy request, and one request for the k−1 sampled completions (`n`, seeded
 * per problem). Every finished request can be appended to a journal (JSONL) as it arrives; a rerun takes what the
 * journal holds and asks only for the rest, so a crash, Ctrl-C or a server that went away loses nothing generated.
 */
import { Evaluator as CoreEvaluator, Rng } from "@realm-lm/core"
import type { ChatEndpoint, Prompt } from "@realm-lm/core"
import { Hash, Jsonl } from "@realm-lm/core/node"
import { Effect, FileSystem, Schema, Stream } from "effect"
import type { Scope } from "effect"
import type { Sampler } from "./Sampler.ts"

/** One finished request in the journal: its key (hash of endpoint, model and request body) and completion texts. */
export const JournalEntry = Schema.Struct({
  key: Schema.String,
  problemId: Schema.String,
  texts: Schema.Array(Schema.String)
})
export type JournalEntry = typeof JournalEntry.Type

/** Completions kept across runs. */
export interface Journal {
  /** The path it is written to. */
  readonly path: string
  /** Entries read from an earlier run. */
  readonly resumed: number
  readonly get: (key: string) => ReadonlyArray<string> | undefined
  /** Record a finished request (appended to the file at once). */
  readonly put: (entry: JournalEntry) => Effect.Effect<void, CoreEvaluator.EvaluatorError>
}

/**
 * Open (or create) a journal; entries of an earlier run are read first (a torn last line, as a kill leaves it, is
 * dropped). The file stays open for appends until the scope closes.
 */
export const openJournal = (
  path: string,
  checkpoint: string
): Effect.Effect<Journal, CoreEvaluator.EvaluatorError, Scope.Scope | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fail = (error: { readonly message: string }) =>
      new CoreEvaluator.EvaluatorError({ checkpoint, detail: `journal ${path}: ${error.message}`, cause: error })
    const fs = yield* FileSystem.FileSystem
    const entries = new Map<string, ReadonlyArray<string>>()
    if (yield* fs.exists(path).pipe(Effect.mapError(fail))) {
      yield* Stream.runForEach(Jsonl.read(path, JournalEntry), (e) =>
        Effect.sync(() => void entries.set(e.key, e.texts))
      ).pipe(Effect.mapError(fail))
    }
    const out = yield* Jsonl.appender(path, JournalEntry).pipe(Effect.mapError(fail))
    return {
      path,
      resumed: entries.size,
      get: (key) => entries.get(key),
      put: (entry) =>
        Effect.andThen(
          out.append([entry]).pipe(Effect.mapError(fail)),
          Effect.sync(() => void entries.set(entry.key, entry.texts))
        )
    } satisfies Journal
  })

/** The journal key of a request: the same endpoint, model and request body give the same key. */
export const requestKey = (
  endpoint: Pick<ChatEndpoint.ChatEndpoint, "url" | "model">,
  request: ChatEndpoint.ChatRequest
): string => Hash.hashJson({ url: endpoint.url, model: endpoint.model, request })

/** The server-side seed of a problem's sampled completions (31-bit, as every OpenAI-compatible server accepts). */
export const samplesSeed = (seed: number, mode: string, problemId: string): number =>
  Rng.Rng.make(seed, "eval", mode, problemId, "samples").seed()

/**
 * A sampler over an endpoint client; `concurrency` prompts are worked on at once (the client's own limit bounds
 * requests in flight), `checkpoint` labels errors.
 */
export const make = (
  endpoint: ChatEndpoint.ChatEndpoint,
  options: { readonly checkpoint: string; readonly concurrency: number; readonly journal?: Journal }
): Sampler => {
  const { checkpoint, journal } = options
  const ask = (problemId: string, request: ChatEndpoint.ChatRequest) =>
    Effect.gen(function* () {
      const key = requestKey(endpoint, request)
      const kept = journal?.get(key)
      if (kept !== undefined) return kept
      const reply = yield* endpoint
        .complete(request, problemId)
        .pipe(
          Effect.mapError(
            (e) => new CoreEvaluator.EvaluatorError({ checkpoint, detail: `${problemId}: ${e.message}`, cause: e })
          )
        )
      const texts = reply.choices.map((c) => c.text)
      if (journal !== undefined) yield* journal.put({ key, problemId, texts })
      return texts
    })
  return {
    complete: (prompts: ReadonlyArray<Prompt.Prompt>, plan) =>
      Effect.forEach(
        prompts,
        (prompt) =>
          Effect.gen(function* () {
            if (prompt.prefill !== undefined && prompt.prefill !== "") {
              return yield* new CoreEvaluator.EvaluatorError({
                checkpoint,
                detail: `${prompt.problemId}: the prompt has a prefill (a forced start of the reply), which the OpenAI chat API cannot send; evaluate it with the local sampler`
              })
            }
            const messages = prompt.messages
            const greedy = yield* ask(prompt.problemId, { messages, temperature: 0, maxTokens: plan.maxNewTokens })
            const sampled =
              plan.samples > 1
                ? yield* ask(prompt.problemId, {
                    messages,
                    temperature: plan.temperature,
                    topP: 1,
                    maxTokens: plan.maxNewTokens,
                    n: plan.samples - 1,
                    seed: samplesSeed(plan.seed, plan.mode, prompt.problemId)
                  })
                : []
            return [...greedy, ...sampled]
          }),
        { concurrency: options.concurrency }
      )
  }
}
