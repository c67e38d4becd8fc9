/**
 * Training data: the corpus JSONL (CorpusRecord lines, or SftExample lines of the rules-free view) read into
 * memory (training shuffles and revisits it; a corpus of short problems is small), the held-out split by problem
 * id, SFT examples as (prompt, completion) texts, and deterministic per-epoch orders.
 */
import type { CorpusRecord as CorpusRecordT, Problem, Prompt, Route, Verifier } from "@realm-lm/core"
import { CorpusRecord, Rng } from "@realm-lm/core"
import { Hash, Jsonl } from "@realm-lm/core/node"
import type { Curriculum } from "@realm-lm/core"
import { Effect, Schema, Stream } from "effect"
import type { FileSystem } from "effect"
import { TrainingDataError } from "../TrainerErrors.ts"

type Decision = Curriculum.GuidanceDecision

/** A corpus line: a labelled record or a ready SFT pair. */
const Line = Schema.Union([CorpusRecord.CorpusRecord, CorpusRecord.SftExample])

/** The corpus in memory. */
export interface Corpus {
  readonly path: string
  readonly records: ReadonlyArray<CorpusRecordT.CorpusRecord>
  readonly pairs: ReadonlyArray<CorpusRecordT.SftExample>
}

/** Read a corpus file; malformed lines fail with their line number. */
export const read = (path: string): Effect.Effect<Corpus, TrainingDataError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const lines = yield* Stream.runCollect(Jsonl.read(path, Line)).pipe(
      Effect.mapError((e) =>
        e._tag === "MalformedLine"
          ? new TrainingDataError({
              path,
              detail: e.message,
              fix: "each line must be a CorpusRecord (problem, routes, teacher) or an SftExample (problemId, prompt, completion)"
            })
          : new TrainingDataError({ path, detail: e.message, fix: "check that the corpus file exists and is readable" })
      )
    )
    const records: Array<CorpusRecordT.CorpusRecord> = []
    const pairs: Array<CorpusRecordT.SftExample> = []
    for (const l of lines)
      if ("problem" in l) records.push(l)
      else pairs.push(l)
    if (records.length + pairs.length === 0)
      return yield* new TrainingDataError({
        path,
        detail: "the corpus is empty",
        fix: "build the corpus first (realm corpus)"
      })
    return { path, records, pairs }
  })

/**
 * The corpus restricted to records whose problem difficulty is in `difficulties` (a phase's `difficulties` key,
 * named by `key` in the error); absent keeps everything. SftExample lines carry no difficulty and are kept. Fails
 * when no record is left, naming the difficulties the corpus does hold.
 */
export const withDifficulties = (
  corpus: Corpus,
  difficulties: ReadonlyArray<number> | undefined,
  key: string
): Effect.Effect<Corpus, TrainingDataError> => {
  if (difficulties === undefined) return Effect.succeed(corpus)
  const records = corpus.records.filter((r) => difficulties.includes(r.problem.difficulty))
  if (records.length > 0 || corpus.records.length === 0) return Effect.succeed({ ...corpus, records })
  const held = [...new Set(corpus.records.map((r) => r.problem.difficulty))].sort((a, b) => a - b)
  return Effect.fail(
    new TrainingDataError({
      path: corpus.path,
      detail: `${key} is [${difficulties.join(", ")}], but none of the corpus' ${corpus.records.length} problems has one of those difficulties (it holds ${held.join(", ")})`,
      fix: `set ${key} to difficulties the corpus holds, or rebuild the corpus from a task source with those levels`
    })
  )
}

/** Whether a problem id falls in the held-out fraction (stable hash of seed and id). */
export const isHeldOut = (seed: number, problemId: string, fraction: number): boolean =>
  fraction > 0 && parseInt(Hash.sha256(`heldout:${seed}:${problemId}`).slice(0, 8), 16) / 0x100000000 < fraction

/** A text-level SFT example. */
export interface TextExample {
  readonly problemId: string
  readonly prompt: Prompt.Prompt
  readonly completion: string
  /** `plain` (a route to imitate), `warm` (a verifier example with routes and verdicts) or `drill` (`Verifier.drills`). */
  readonly kind: ExampleKind
  /** Ranges of `completion` the verifier marks as its decisions (`Verifier.Example.emphasis`). */
  readonly emphasis?: ReadonlyArray<Verifier.TextSpan>
}

/** Where an SFT example comes from. */
export type ExampleKind = "plain" | "warm" | "drill"

/** `count` drills from the verifier (`Verifier.drills`) seeded by `seed`; undefined when the verifier has none. */
export const drillExamples = (
  verifier: Verifier.Verifier["Service"],
  count: number,
  seed: number
): Array<TextExample> | undefined =>
  verifier.drills?.({ count, seed }).map((d) => ({
    problemId: d.prompt.problemId,
    prompt: d.prompt,
    completion: d.completion,
    kind: "drill" as const,
    ...(d.emphasis === undefined ? {} : { emphasis: d.emphasis })
  }))

/** A decision with no guidance. */
export const autonomous = (problemId: string, seed = 0): Decision => ({
  problemId,
  strength: 0,
  routeCount: 0,
  hintFraction: 0,
  rescue: false,
  seed
})

/** The completion a route teaches: numbered steps then `Answer:` (the verifier's route-less format). */
export const routeCompletion = (route: Pick<Route.Route, "steps" | "answer">): string =>
  route.steps.length === 0
    ? `Answer: ${route.answer}`
    : `${route.steps.map((s, i) => `Step ${i + 1}: ${s}`).join("\n")}\nAnswer: ${route.answer}`

/** A prompt holding only `text` as the user's message. */
export const userPrompt = (problemId: string, text: string): Prompt.Prompt => ({
  problemId,
  messages: [{ role: "user", content: text }],
  guidance: { mode: "autonomous", strength: 0, routeIds: [] }
})

/** The autonomous prompt of a problem: the verifier's, or the bare question. */
export const problemPrompt = (
  verifier: Verifier.Verifier["Service"],
  style: "verifier" | "question",
  problem: Problem.Problem,
  routes: ReadonlyArray<Route.Route>
): Effect.Effect<Prompt.Prompt, Verifier.VerifierError> =>
  style === "question"
    ? Effect.succeed(userPrompt(problem.id, problem.question))
    : verifier.prompt({ problem, routes, decision: autonomous(problem.id) })

/** How warm-start examples are drawn (the trainer's `sft.warmStart` section). */
export interface WarmStartDraw {
  readonly ratio: number
  readonly minRoutes: number
  readonly maxRoutes: number
  readonly hints: number
}

/**
 * The plain SFT examples of the corpus: per record its first `routesPerProblem` positive routes on the problem's
 * autonomous prompt, plus ready pairs as user messages.
 */
export const plainExamples = (
  verifier: Verifier.Verifier["Service"],
  corpus: Pick<Corpus, "records" | "pairs">,
  options: { readonly prompt: "verifier" | "question"; readonly routesPerProblem: number }
): Effect.Effect<Array<TextExample>, Verifier.VerifierError> =>
  Effect.gen(function* () {
    const out: Array<TextExample> = []
    for (const r of corpus.records) {
      const positives = r.routes.filter((x) => x.label === "positive").slice(0, options.routesPerProblem)
      if (positives.length === 0) continue
      const prompt = yield* problemPrompt(verifier, options.prompt, r.problem, r.routes)
      for (const p of positives)
        out.push({ problemId: r.problem.id, prompt, completion: routeCompletion(p), kind: "plain" })
    }
    for (const p of corpus.pairs)
      out.push({
        problemId: p.problemId,
        prompt: userPrompt(p.problemId, p.prompt),
        completion: p.completion,
        kind: "plain"
      })
    return out
  })

/**
 * `count` warm-start examples from `Verifier.example` with `minRoutes..maxRoutes` routes (or a hint, for a `hints`
 * share) on records drawn with `rng` in shuffled rounds. Empty when no record has routes.
 */
export const warmStartExamples = (
  verifier: Verifier.Verifier["Service"],
  records: ReadonlyArray<CorpusRecordT.CorpusRecord>,
  count: number,
  warm: WarmStartDraw,
  rng: Rng.Rng
): Effect.Effect<Array<TextExample>, Verifier.VerifierError> =>
  Effect.gen(function* () {
    const out: Array<TextExample> = []
    const withRoutes = records.filter((r) => r.routes.length > 0)
    if (withRoutes.length === 0) return out
    // Records are taken in shuffled rounds, so every problem gets its share of warm starts (a draw with
    // replacement left a quarter of the problems without one and repeated others).
    let round: Array<CorpusRecordT.CorpusRecord> = []
    for (let i = 0; i < count; i++) {
      if (round.length === 0) round = rng.shuffle(withRoutes)
      const r = round.pop() as CorpusRecordT.CorpusRecord
      // A share of warm starts are hint prompts (a prefix of a positive route, fraction drawn in [0.2, 0.8]) so
      // the policy has seen the guidance EAAI fades through; the rest show routes to verify.
      const hint = warm.hints > 0 && rng.float() < warm.hints
      const routeCount = hint ? 0 : rng.intBetween(warm.minRoutes, warm.maxRoutes)
      const hintFraction = hint ? 0.2 + 0.6 * rng.float() : 0
      const decision: Decision = {
        problemId: r.problem.id,
        strength: 1,
        routeCount,
        hintFraction,
        rescue: false,
        seed: rng.seed()
      }
      const ex = yield* verifier.example({ problem: r.problem, routes: r.routes, decision })
      out.push({
        problemId: r.problem.id,
        prompt: ex.prompt,
        completion: ex.completion,
        kind: "warm",
        ...(ex.emphasis === undefined ? {} : { emphasis: ex.emphasis })
      })
    }
    return out
  })

/** Warm-start examples for `plainCount` plain ones: `round(ratio × plainCount)`. */
export const warmStartCount = (ratio: number, plainCount: number): number => Math.round(ratio * plainCount)

/**
 * SFT examples of the corpus: {@link plainExamples}, then {@link warmStartExamples} (`round(ratio × plain)` of
 * them, records drawn with `rng`).
 */
export const sftExamples = (
  verifier: Verifier.Verifier["Service"],
  corpus: Pick<Corpus, "records" | "pairs">,
  options: {
    readonly prompt: "verifier" | "question"
    readonly routesPerProblem: number
    readonly warm: WarmStartDraw
    readonly rng: Rng.Rng
  }
): Effect.Effect<Array<TextExample>, Verifier.VerifierError> =>
  Effect.gen(function* () {
    const plain = yield* plainExamples(verifier, corpus, options)
    const warm = yield* warmStartExamples(
      verifier,
      corpus.records,
      warmStartCount(options.warm.ratio, plain.length),
      options.warm,
      options.rng
    )
    return [...plain, ...warm]
  })

/** The order of `n` items in `epoch`: a seeded permutation. */
export const epochOrder = (seed: number, stream: string, epoch: number, n: number): Array<number> =>
  Rng.Rng.make(seed, stream, epoch).shuffle(Array.from({ length: n }, (_, i) => i))

/** A position in an epoch-ordered stream. */
export interface Position {
  readonly epoch: number
  readonly index: number
}

/**
 * Take `count` items from `position` onward (crossing epochs): each item's index in its epoch's order and the epoch
 * it belongs to, and the next position.
 */
export const takeWithEpochs = (
  seed: number,
  stream: string,
  n: number,
  position: Position,
  count: number
): { readonly items: Array<number>; readonly epochs: Array<number>; readonly next: Position } => {
  const items: Array<number> = []
  const epochs: Array<number> = []
  if (n <= 0) return { items, epochs, next: position }
  let { epoch, index } = position
  let order = epochOrder(seed, stream, epoch, n)
  while (items.length < count) {
    if (index >= n) {
      epoch += 1
      index = 0
      order = epochOrder(seed, stream, epoch, n)
    }
    items.push(order[index]!)
    epochs.push(epoch)
    index += 1
  }
  return { items, epochs, next: { epoch, index } }
}

/** Take `count` item indices from `position` onward (crossing epochs), returning them and the next position. */
export const take = (
  seed: number,
  stream: string,
  n: number,
  position: Position,
  count: number
): { readonly items: Array<number>; readonly next: Position } => {
  const { items, next } = takeWithEpochs(seed, stream, n, position, count)
  return { items, next }
}

/** Position as JSON for checkpoints. */
export const PositionSchema = Schema.Struct({ epoch: Schema.Int, index: Schema.Int })
