/**
 * Shared machinery of the procedurally generated domains: deterministic per-index generation by rejection
 * sampling, split assignment by question hash, and the held-out split of rule combinations.
 *
 * Definitions (documented in the README):
 * - the *combination* of a problem is the sorted set of rule ids that fire in its gold solution, minus the
 *   always-firing base rule;
 * - a combination of two or more rules is *held out* when the first 8 hex digits of
 *   sha256(`heldout:<domain>:<rules joined by +>`), mod 100, fall below `heldoutPercent` (a fixed pseudo-random
 *   subset, independent of the seed, so every run holds out the same compositions; single rules never are);
 * - train/validation/test take only problems whose combination is not held out, partitioned by a hash of the
 *   question text (so the same question never lands in two of them); `heldout` takes only held-out ones;
 * - with `distinct`, the evaluation splits (all but train) hold each question once: the stream skips draws whose
 *   question it already gave, so its ids have gaps, and fails with the number it found when a split's question
 *   space is smaller than its count. Levels whose questions run out stop contributing, so later problems come
 *   from the larger levels (levels also share questions: a level-2 draw can repeat a level-1 question). Train may
 *   repeat questions (repeats weight training).
 */
import { ConfigDecode, Rng, TaskSource } from "@realm-lm/core"
import { Hash } from "@realm-lm/core/node"
import type { Problem } from "@realm-lm/core"
import { Config, Effect, Layer, Result, Schema, Stream } from "effect"
import { combination, solve } from "../StepProgram.ts"
import type { StepProgram as Program } from "@realm-lm/core"
type StepProgram = Program.StepProgram

/** A problem count of a split (≥ 0), `fallback` when the key is missing. */
export const count = (fallback: number) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(fallback)))

/**
 * A generated domain's `counts` field: one `count` per split it generates, with that split's default; the key itself
 * may be missing (every split takes its default).
 */
export const countsField = <const Defaults extends Partial<Record<Problem.Split, number>>>(defaults: Defaults) => {
  const counts = Schema.Struct(
    Object.fromEntries(Object.entries(defaults).map(([split, fallback]) => [split, count(fallback)])) as {
      readonly [S in keyof Defaults]: ReturnType<typeof count>
    }
  )
  // Every field has its own default, so the empty object decodes.
  return counts.pipe(Schema.withDecodingDefaultKey(Effect.succeed({} as typeof counts.Encoded)))
}

/** The seed and levels fields every generated domain's config starts with (spread into its `Schema.Struct`). */
export const seedFields = {
  /** Root seed; the same seed gives the same problems in the same order. Default 0. */
  seed: Schema.Int.pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))),
  /**
   * Difficulty levels 1-5, cycled over problem indices. Default [1, 2, 3]. The held-out split starts at the first level
   * with combinations of two or more rules (parcel: 2, arithmetic: 3).
   */
  levels: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 })))
    .check(Schema.isMinLength(1))
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed([1, 2, 3])))
}

const Percent = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 50 }))

/** The split and generation fields every generated domain's config has (spread into its `Schema.Struct`). */
export const splitFields = {
  /** Share of non-held-out questions in validation and in test, percent of the question-hash space. Default 10 each. */
  validationPercent: Percent.pipe(Schema.withDecodingDefaultKey(Effect.succeed(10))),
  testPercent: Percent.pipe(Schema.withDecodingDefaultKey(Effect.succeed(10))),
  /** Percent of rule combinations (two or more rules) held out of training, chosen by a fixed hash. Default 15. */
  heldoutPercent: Percent.pipe(Schema.withDecodingDefaultKey(Effect.succeed(15))),
  /** Draws allowed per problem before generation fails. Default 20000. */
  maxAttempts: Schema.Int.check(Schema.isGreaterThan(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(20000))),
  /** Evaluation splits (all but train) hold each question once; fails when a split's question space is too small. Default true. */
  distinct: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true)))
}

/** The cross-field rules of `splitFields`: a heldout count needs a heldout share, and train needs some share left. */
export const splitChecks = Schema.makeFilter(
  (c: {
    readonly counts: { readonly heldout: number }
    readonly validationPercent: number
    readonly testPercent: number
    readonly heldoutPercent: number
  }) => {
    const issues: Array<Schema.FilterIssue> = []
    if (c.counts.heldout > 0 && c.heldoutPercent === 0)
      issues.push({ path: ["heldoutPercent"], issue: "a heldout split needs heldoutPercent > 0 (or counts.heldout 0)" })
    if (c.validationPercent + c.testPercent >= 100)
      issues.push({ path: ["testPercent"], issue: "validationPercent + testPercent must leave room for train (< 100)" })
    return issues
  }
)

/** A freshly sampled instance, before split filtering. */
export interface Candidate {
  readonly question: string
  readonly program: StepProgram
  readonly rulebook: string
  readonly metadata: Record<string, Schema.Json>
}

/** Everything the generic generator needs from a domain. */
export interface DomainSpec {
  readonly domain: string
  readonly seed: number
  readonly levels: ReadonlyArray<number>
  readonly counts: Readonly<Partial<Record<Problem.Split, number>>>
  readonly validationPercent: number
  readonly testPercent: number
  readonly heldoutPercent: number
  readonly baseRules: ReadonlyArray<string>
  readonly maxAttempts: number
  /** Lowest level a split is drawn at (levels below are raised), e.g. where held-out pairs first co-occur. */
  readonly minLevel?: Readonly<Partial<Record<Problem.Split, number>>>
  /** Evaluation splits hold each question once (see the module notes). */
  readonly distinct: boolean
  /** Draw one instance at a level, or `undefined` when the draw misses the level's constraints. */
  readonly sample: (rng: Rng.Rng, level: number, split: Problem.Split) => Candidate | undefined
}

/** The `DomainSpec` fields a generated domain's config carries as they are (`seedFields`, `counts`, `splitFields`). */
export type ConfigFields = Pick<
  DomainSpec,
  "seed" | "levels" | "counts" | "validationPercent" | "testPercent" | "heldoutPercent" | "maxAttempts" | "distinct"
>

/** The `ConfigFields` of a decoded config, for a domain's spec to add its name, base rules and sampler to. */
export const configFields = (config: ConfigFields): ConfigFields => ({
  seed: config.seed,
  levels: config.levels,
  counts: config.counts,
  validationPercent: config.validationPercent,
  testPercent: config.testPercent,
  heldoutPercent: config.heldoutPercent,
  maxAttempts: config.maxAttempts,
  distinct: config.distinct
})

/** Whether a rule combination (sorted rule ids) is held out of train/validation/test. */
export const isHeldout = (domain: string, combo: ReadonlyArray<string>, heldoutPercent: number): boolean =>
  combo.length >= 2 && bucketOf(`heldout:${domain}:${combo.join("+")}`) < heldoutPercent

/** Bucket 0..99 of a question, from its sha256 (stable across machines and runs). */
export const bucketOf = (question: string): number => Number.parseInt(Hash.sha256(question).slice(0, 8), 16) % 100

/** Which non-transfer split a candidate belongs to. */
export const splitOf = (
  question: string,
  combo: ReadonlyArray<string>,
  spec: Pick<DomainSpec, "domain" | "heldoutPercent" | "validationPercent" | "testPercent">
): Problem.Split => {
  if (isHeldout(spec.domain, combo, spec.heldoutPercent)) return "heldout"
  const bucket = bucketOf(question)
  if (bucket < spec.testPercent) return "test"
  if (bucket < spec.testPercent + spec.validationPercent) return "validation"
  return "train"
}

const noSplit = (spec: DomainSpec, split: Problem.Split) =>
  new TaskSource.TaskSourceError({ source: spec.domain, detail: `${spec.domain} has no ${split} split` })

const toJson = (value: unknown): Schema.Json => JSON.parse(JSON.stringify(value)) as Schema.Json

/** Problem `index` of a split, or why it could not be generated. Pure and deterministic. */
export const generateOne = (
  spec: DomainSpec,
  split: Problem.Split,
  index: number
): Result.Result<Problem.Problem, TaskSource.TaskSourceError> => {
  if (spec.counts[split] === undefined) return Result.fail(noSplit(spec, split))
  const level = Math.max(spec.levels[index % spec.levels.length]!, spec.minLevel?.[split] ?? 0)
  const rng = Rng.Rng.make(spec.seed, spec.domain, split, index)
  for (let attempt = 0; attempt < spec.maxAttempts; attempt++) {
    const candidate = spec.sample(rng, level, split)
    if (candidate === undefined) continue
    const combo = combination(candidate.program, spec.baseRules)
    if (split !== "transfer" && splitOf(candidate.question, combo, spec) !== split) continue
    const solved = solve(candidate.program)
    return Result.succeed({
      id: `${spec.domain}/${split}/${index}`,
      domain: spec.domain,
      question: candidate.question,
      rulebook: candidate.rulebook,
      gold: String(solved.answer),
      answerType: "number",
      goldSteps: solved.steps,
      difficulty: level,
      split,
      metadata: { ...candidate.metadata, level, combination: combo.join("+"), program: toJson(candidate.program) }
    })
  }
  return Result.fail(
    new TaskSource.TaskSourceError({
      source: spec.domain,
      detail:
        `no ${split} problem found at level ${level} after ${spec.maxAttempts} attempts; ` +
        (split === "heldout"
          ? "this level may have no held-out rule combination: use higher levels or a larger heldoutPercent"
          : "raise maxAttempts or change the levels")
    })
  )
}

/** Draws a distinct split may make per problem asked before it gives up on finding new questions. */
export const drawsPerDistinct = 40

/** The config key of a split's share of the question space, for error messages. */
const shareKey = (split: Problem.Split): string =>
  split === "test"
    ? "testPercent"
    : split === "validation"
      ? "validationPercent"
      : split === "heldout"
        ? "heldoutPercent"
        : "levels"

/** The problems of a split as a stream (lazy, one at a time). */
export const problems = (
  spec: DomainSpec,
  split: Problem.Split
): Stream.Stream<Problem.Problem, TaskSource.TaskSourceError> => {
  const count = spec.counts[split]
  if (count === undefined) {
    return Stream.fail(noSplit(spec, split))
  }
  if (count === 0) return Stream.empty
  if (!spec.distinct || split === "train") {
    return Stream.range(0, count - 1).pipe(Stream.mapEffect((i) => Effect.fromResult(generateOne(spec, split, i))))
  }
  const draws = count * drawsPerDistinct
  // A fresh set per run of the stream, so running it again gives the same problems.
  return Stream.suspend(() => {
    const seen = new Set<string>()
    return Stream.range(0, draws - 1).pipe(
      Stream.mapEffect((i) => Effect.fromResult(generateOne(spec, split, i))),
      Stream.filter((p) => {
        if (seen.has(p.question)) return false
        seen.add(p.question)
        return true
      }),
      Stream.take(count),
      Stream.concat(
        Stream.suspend(() =>
          seen.size >= count
            ? Stream.empty
            : Stream.fail(
                new TaskSource.TaskSourceError({
                  source: spec.domain,
                  detail:
                    `found only ${seen.size} distinct ${split} questions at levels [${spec.levels.join(", ")}] in ${draws} draws, ` +
                    `but counts.${split} asks ${count}: lower counts.${split}, raise ${shareKey(split)}, add levels, or set distinct: false to allow repeats`
                })
              )
        )
      )
    )
  })
}

/** The task-source surface of a generated domain, derived once from its config schema and spec. */
export const source = <C, I>(options: {
  readonly name: string
  readonly schema: Schema.Codec<C, I>
  readonly spec: (config: C) => DomainSpec
  /** Config path read by `layer`, e.g. `["tasks", "parcel"]`. */
  readonly configPath: ReadonlyArray<string>
}) => {
  const defaults = Schema.decodeUnknownSync(options.schema)({})
  const problemsOf = (config: C, split: Problem.Split) => problems(options.spec(config), split)
  const make = (config: C): TaskSource.TaskSource["Service"] =>
    TaskSource.TaskSource.of({ name: options.name, problems: (split) => problemsOf(config, split) })
  return {
    /**
     * Draw `index` of a split, generated synchronously (for tests, benches and demos). For train it is problem
     * `index`; evaluation splits with `distinct` skip repeated draws, so use `problems` for their contents.
     */
    generate: (config: C, split: Problem.Split, index: number) => generateOne(options.spec(config), split, index),
    /** The problems of a split as a stream. */
    problems: problemsOf,
    /** A `TaskSource` over a decoded config. */
    make,
    /** `TaskSource` layer over an explicit config object (missing keys take defaults; bad values fail with their path). */
    layerWith: (input: unknown) =>
      Layer.effect(TaskSource.TaskSource, Effect.map(ConfigDecode.decodeUnknownEffect(options.schema)(input), make)),
    /** `TaskSource` layer reading its config from `configPath` (the schema's defaults when absent). */
    layer: Layer.effect(
      TaskSource.TaskSource,
      Effect.map(Config.schema(options.schema, options.configPath).pipe(Config.withDefault(defaults)), make)
    )
  }
}
