/**
 * Experiments: a pipeline config's methods trained and evaluated under several seeds on the same problems, with
 * the learning rate of each method chosen the same way (a grid per phase, scored on the validation split with the
 * first seed, before any test result exists), then accuracy and paired differences to named baselines over seeds
 * and problems. One pipeline run per seed under `<runDir>/seed-<s>/`, so every stage caches and resumes as in
 * `realm run`; the tuning choice is written once to `<runDir>/tuning.json` and reused on resume.
 */
import { join, resolve } from "node:path"
import { Problem } from "@realm-lm/core"
import { Hash, RunDir } from "@realm-lm/core/node"
import type { EvalResult } from "@realm-lm/core"
import { Effect, FileSystem, Schema } from "effect"
import type { ExperimentSettings } from "./ExperimentConfig.ts"
import { seedsOf, tuneSplitOf } from "./ExperimentConfig.ts"
import * as ExperimentResults from "./ExperimentResults.ts"
import * as Methods from "./Methods.ts"
import type { Hooks } from "./Pipeline.ts"
import * as Pipeline from "./Pipeline.ts"
import * as Registry from "./Registry.ts"
import type * as Resolve from "./Resolve.ts"
import * as TemplateDate from "./TemplateDate.ts"
import type { PipelineConfig } from "./PipelineConfig.ts"
import { evaluationSplits } from "./PipelineConfig.ts"
import { StageFailed } from "./Stage.ts"
import * as Wiring from "./Wiring.ts"

/** The learning rates chosen on validation, per method: `{ lr, scores: { "<lr>": accuracy } }`. */
export const Tuning = Schema.Record(
  Schema.String,
  Schema.Struct({
    lr: Schema.Finite,
    scores: Schema.Record(Schema.String, Schema.Finite),
    /** Several grid values scored the same; the first was kept. */
    tied: Schema.optionalKey(Schema.Boolean)
  })
)
export type Tuning = typeof Tuning.Type

/** `tuning.json`: the choice and the key of the tuning run it came from (older files hold the choice alone). */
const KeyedTuning = Schema.Struct({ key: Schema.String, choice: Tuning })
const TuningFile = Schema.Union([KeyedTuning, Tuning])
const isKeyed = (u: typeof TuningFile.Type): u is typeof KeyedTuning.Type => typeof u["key"] === "string"

/** Read and decode `tuning.json`: a keyed choice, or an older file's bare choice. */
const readTuningFile = (file: string) =>
  Effect.flatMap(
    Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) => fs.readFileString(file)),
    (text) => Schema.decodeUnknownEffect(Schema.fromJsonString(TuningFile))(text)
  )

/** The learning rates a `tuning.json` holds (for reports); `undefined` when the file is missing or unreadable. */
export const readTuning = (file: string) =>
  readTuningFile(file).pipe(
    Effect.map((saved): Tuning => (isKeyed(saved) ? saved.choice : saved)),
    Effect.orElseSucceed(() => undefined)
  )

/** The experiment config is inconsistent; `path` names the field. */
export class ExperimentInvalid extends Schema.TaggedError<ExperimentInvalid>()("ExperimentInvalid", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** What a finished experiment returns. */
export interface ExperimentResult {
  readonly runDir: string
  readonly summary: ExperimentResults.Summary
  readonly tuning: Tuning
  /** `<runDir>/experiment.json` and `experiment.md`. */
  readonly files: ReadonlyArray<string>
}

/** Where a method's learning rate lives in the built-in trainer's settings. */
const lrOverride = (phase: "sft" | "rft" | "rl", lr: number): Record<string, unknown> | undefined =>
  phase === "rft" ? { rft: { train: { lr: { peak: lr } } } } : phase === "rl" ? { rl: { lr: { peak: lr } } } : undefined

/** `realm@lr=0.0001`: the name of a method trained at one grid value. */
export const gridName = (method: string, lr: number): string => `${method}@lr=${lr}`

/** The methods of an experiment as entries: built-in names, or variants carrying a chosen learning rate. */
export const finalEntries = (planned: ReadonlyArray<Methods.Method>, tuning: Tuning): Array<Methods.MethodEntry> =>
  planned.map((m) => {
    const chosen = tuning[m.name]
    const override = chosen === undefined ? undefined : lrOverride(m.phase, chosen.lr)
    if (chosen === undefined || override === undefined) return toEntry(m)
    return {
      ...toVariant(m, gridName(m.name, chosen.lr)),
      trainer: Methods.deepMerge(m.overrides.trainer ?? {}, override)
    }
  })

const toVariant = (m: Methods.Method, name: string = m.name): Methods.MethodVariant => ({
  name,
  method: m.kind,
  label: m.label,
  ...m.overrides
})

const toEntry = (m: Methods.Method): Methods.MethodEntry =>
  m.name === m.kind && Object.keys(m.overrides).length === 0 ? m.kind : toVariant(m)

/** The learning-rate grid that applies to a method: its phase's, if any. */
const gridOf = (m: Methods.Method, settings: ExperimentSettings): ReadonlyArray<number> | undefined =>
  m.phase === "rft" ? settings.tune?.rft : m.phase === "rl" ? settings.tune?.rl : undefined

/** The label a method carries in the tuning run at one grid value. */
const gridLabel = (m: Methods.Method, lr: number): string => `${m.label} @ lr ${lr}`

/** The methods of the tuning run: each tuned method once per grid value (labels carry the value), the others as they are. */
export const tuningEntries = (
  planned: ReadonlyArray<Methods.Method>,
  settings: ExperimentSettings
): Array<Methods.MethodEntry> =>
  planned.flatMap((m) => {
    const grid = gridOf(m, settings)
    if (grid === undefined) return [toEntry(m)]
    return grid.map((lr) => ({
      ...toVariant(m, gridName(m.name, lr)),
      label: gridLabel(m, lr),
      trainer: Methods.deepMerge(m.overrides.trainer ?? {}, lrOverride(m.phase, lr) ?? {})
    }))
  })

/** The config of one seed's run: its own seed for the run, trainer and curriculum, in `<runDir>/seed-<s>`. */
export const seedConfig = (
  config: PipelineConfig,
  runDir: string,
  seed: number,
  methods: ReadonlyArray<Methods.MethodEntry>,
  splits?: ReadonlyArray<Problem.Split>
): PipelineConfig => {
  const { experiment: _experiment, ...rest } = config
  // A built-in trainer or curriculum declaring its seed setting (`Implementation.seedSetting`) gets the seed there;
  // another is left as configured.
  const seeded = <S extends "trainer" | "curriculum">(slot: S) => {
    const configured: Resolve.Choice = config[slot] ?? Wiring.defaults[slot]
    const key = Registry.builtins[slot][configured.use]?.seedSetting
    return key === undefined
      ? config[slot]
      : { use: configured.use, with: { ...Wiring.asRecord(configured.with), [key]: seed } }
  }
  const trainer = seeded("trainer")
  const curriculum = seeded("curriculum")
  return {
    ...rest,
    run: { ...config.run, seed, runDir: join(runDir, `seed-${seed}`) },
    methods,
    ...(trainer === undefined ? {} : { trainer }),
    ...(curriculum === undefined ? {} : { curriculum }),
    ...(splits === undefined ? {} : { evaluation: { ...config.evaluation, splits } })
  }
}

/**
 * Pick, per tuned method, the grid value with the best accuracy in the tuning split and mode; ties go to the first
 * value and are recorded (`tied`). A grid value without a finite result is an error, never a silent default.
 */
export const choose = (
  planned: ReadonlyArray<Methods.Method>,
  settings: ExperimentSettings,
  results: ReadonlyArray<EvalResult.EvalResult>
): Tuning | ExperimentInvalid => {
  const mode = settings.tune?.mode ?? "autonomous"
  const split = tuneSplitOf(settings)
  const out: Record<string, { lr: number; scores: Record<string, number>; tied?: boolean }> = {}
  for (const m of planned) {
    const grid = gridOf(m, settings)
    if (grid === undefined) continue
    const scores: Record<string, number> = {}
    let best: number | undefined
    for (const lr of grid) {
      const value = results.find((x) => x.method === gridLabel(m, lr) && x.mode === mode && x.split === split)?.accuracy
        .value
      if (value === undefined || !Number.isFinite(value)) {
        return new ExperimentInvalid({
          path: "experiment.tune",
          detail: `no ${split} ${mode} result for ${m.name} at lr ${lr}; the tuning run is incomplete (delete ${split} results or tuning.json and run again)`
        })
      }
      scores[String(lr)] = value
      if (best === undefined || value > scores[String(best)]!) best = lr
    }
    if (best === undefined) continue
    const top = scores[String(best)]!
    const tied = Object.values(scores).filter((v) => v === top).length > 1
    out[m.name] = { lr: best, scores, ...(tied ? { tied } : {}) }
  }
  return out
}

/** Checks that need the whole config: baselines among the methods, distinct seeds, a tuning split outside the evaluated ones. */
export const check = (config: PipelineConfig): ExperimentInvalid | undefined => {
  const settings = config.experiment ?? {}
  const seeds = seedsOf(settings)
  if (new Set(seeds).size !== seeds.length)
    return new ExperimentInvalid({
      path: "experiment.seeds",
      detail: `seeds must be distinct, got [${seeds.join(", ")}]`
    })
  const names = Methods.plan(Methods.selected(config)).map((m) => m.name)
  for (const [i, b] of (settings.baselines ?? []).entries()) {
    if (!names.includes(b))
      return new ExperimentInvalid({
        path: `experiment.baselines[${i}]`,
        detail: `"${b}" is not one of the methods (${names.join(", ")}); add it to methods or pick one of those`
      })
  }
  const tuneSplit = tuneSplitOf(settings)
  const evaluated = evaluationSplits(config)
  if (settings.tune !== undefined && tuneSplit === "train") {
    return new ExperimentInvalid({
      path: "experiment.tune.split",
      detail: `"train" is what the methods train on; choose learning rates on held-back problems (validation)`
    })
  }
  for (const phase of ["rft", "rl"] as const) {
    const grid = settings.tune?.[phase] ?? []
    if (new Set(grid).size !== grid.length)
      return new ExperimentInvalid({
        path: `experiment.tune.${phase}`,
        detail: `grid values must be distinct, got [${grid.join(", ")}]`
      })
  }
  if (settings.tune !== undefined && evaluated.includes(tuneSplit)) {
    return new ExperimentInvalid({
      path: "experiment.tune.split",
      detail: `"${tuneSplit}" is also evaluated (evaluation.splits); choosing learning rates on it would tune on the reported results`
    })
  }
  return undefined
}

const fingerprint = (results: ReadonlyArray<EvalResult.EvalResult>, split: string): string =>
  Hash.hashJson(
    results
      .find((r) => r.split === split)
      ?.outcomes.map((o) => o.problemId)
      .toSorted() ?? []
  )

/** Run the experiment: tune on the first seed, then every seed, then the summary files. */
export const run = (
  given: PipelineConfig,
  baseDir: string,
  hooks: Hooks & { readonly seed?: (seed: number, phase: "tune" | "train") => Effect.Effect<void> } = {},
  extra: Parameters<typeof Pipeline.run>[3] = {}
) =>
  Effect.gen(function* () {
    const invalid = check(given)
    if (invalid !== undefined) return yield* invalid
    const fs = yield* FileSystem.FileSystem
    const settings = given.experiment ?? {}
    const seeds = seedsOf(settings)
    const runDir = resolve(baseDir, given.run?.runDir ?? join("runs", given.name ?? "experiment"))
    // One chat-template date for every seed's run, pinned in the experiment directory.
    const templateDate = yield* TemplateDate.pin(runDir, given.run?.templateDate)
    const config: PipelineConfig = { ...given, run: { ...given.run, templateDate } }
    const planned = Methods.plan(Methods.selected(config))
    const baselines = settings.baselines ?? [planned[0]?.name ?? "sft"]
    const evalSplits = evaluationSplits(config)
    const tuneSplit = tuneSplitOf(settings)
    const prepareSplits = Problem.Split.literals.filter(
      (s) => s !== "train" && (evalSplits.includes(s) || (settings.tune !== undefined && s === tuneSplit))
    )
    const first = seeds[0]!

    // 1. Learning rates, chosen on the tuning split with the first seed (in that seed's directory, so its training is reused).
    const tuningFile = join(runDir, "tuning.json")
    let tuning: Tuning = {}
    if (settings.tune !== undefined && (settings.tune.rft !== undefined || settings.tune.rl !== undefined)) {
      const tuneConfig = seedConfig(config, runDir, first, tuningEntries(planned, settings), [tuneSplit])
      // The choice is reused only for the same tuning run: same grids, methods and settings (the directory aside).
      const key = Hash.hashJson({ tune: settings.tune, config: { ...tuneConfig, run: { seed: first } } })
      const saved = (yield* fs.exists(tuningFile)) ? yield* readTuningFile(tuningFile) : undefined
      if (saved !== undefined && !isKeyed(saved)) {
        yield* Effect.logWarning(
          `${tuningFile} was written without a config key (an older version); reusing it. Delete it to choose the learning rates again.`
        )
        tuning = saved
      } else if (saved !== undefined && saved.key === key) {
        tuning = saved.choice
      } else {
        if (saved !== undefined)
          yield* Effect.logWarning(
            `the tuning settings changed since ${tuningFile} was written; choosing the learning rates again`
          )
        if (hooks.seed !== undefined) yield* hooks.seed(first, "tune")
        const tuned = yield* Pipeline.run(tuneConfig, baseDir, hooks, { ...extra, prepareSplits })
        const chosen = choose(planned, settings, tuned.results)
        if (chosen instanceof ExperimentInvalid) return yield* chosen
        tuning = chosen
        yield* RunDir.writeJsonAtomic(
          join(runDir, "tuning-results.json"),
          tuned.results.map(({ outcomes: _o, ...r }) => r)
        )
        yield* RunDir.writeJsonAtomic(tuningFile, { key, choice: tuning })
      }
      const ties = Object.entries(tuning)
        .filter(([, t]) => t.tied === true)
        .map(([m]) => m)
      if (ties.length > 0)
        yield* Effect.logWarning(
          `learning-rate grid tied on ${tuneSplit} for ${ties.join(", ")}; the first value was kept (a larger ${tuneSplit} split separates them)`
        )
    }

    // 2. Every seed with the chosen settings.
    const entries = finalEntries(planned, tuning)
    const methods = Methods.plan(entries).map((m) => ({ name: m.name, label: m.label }))
    const perSeed: Array<ExperimentResults.SeedResults> = []
    for (const seed of seeds) {
      if (hooks.seed !== undefined) yield* hooks.seed(seed, "train")
      const result = yield* Pipeline.run(seedConfig(config, runDir, seed, entries), baseDir, hooks, {
        ...extra,
        prepareSplits
      })
      perSeed.push({ seed, results: result.results })
    }
    // Paired comparisons need the same problems under every seed: the task source must not depend on the run seed.
    for (const split of evalSplits) {
      const prints = new Set(perSeed.map((s) => fingerprint(s.results, split)))
      if (prints.size > 1) {
        return yield* new StageFailed({
          stage: "experiment",
          detail: `the ${split} problems differ between seeds; give the task source a fixed seed (tasks.with.seed) so every seed sees the same problems`
        })
      }
    }

    // 3. Summary (method names, not variant names, in tables: a tuned method keeps its name).
    const summary = ExperimentResults.summarise(
      perSeed,
      methods.map((m) => ({ name: unGrid(m.name), label: m.label })),
      baselines
    )
    const json = join(runDir, "experiment.json")
    const md = join(runDir, "experiment.md")
    yield* RunDir.writeJsonAtomic(json, { seeds, baselines, tuning, methods: entries, summary })
    yield* fs.writeFileString(md, `${ExperimentResults.markdown(summary)}\n`)
    return { runDir, summary, tuning, files: [json, md] } satisfies ExperimentResult
  })

/** A method's name without its grid suffix. */
const unGrid = (name: string): string => name.replace(/@lr=[^@]*$/, "")

/** Read the summary of a finished experiment from its `experiment.json` (for `realm report`). */
export const readSummary = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file)
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as { readonly summary?: ExperimentResults.Summary },
      catch: () => new ExperimentInvalid({ path: file, detail: "is not JSON; run the experiment again to rewrite it" })
    })
    const summary = parsed.summary
    if (
      summary === undefined ||
      !Array.isArray(summary.cells) ||
      !Array.isArray(summary.methods) ||
      !Array.isArray(summary.seeds)
    ) {
      return yield* new ExperimentInvalid({
        path: file,
        detail: "has no experiment summary (seeds, methods, cells); run the experiment again to rewrite it"
      })
    }
    return summary
  })
