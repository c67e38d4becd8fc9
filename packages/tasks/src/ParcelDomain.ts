/**
 * The parcel-fee domain as a task source: problems generated from a seed at difficulty levels 1-5, split into
 * train/validation/test by question hash, a held-out split of rule combinations never seen in training, and a
 * transfer split under the related tariff T2.
 */
import { TaskSource } from "@realm-lm/core"
import type { Rng } from "@realm-lm/core"
import { Layer, Schema } from "effect"
import * as Generated from "./internal/generated.ts"
import type { Flag, Parcel, Tariff } from "./ParcelRulebook.ts"
import { baseRule, question, rulebook, solve, T1, T2, zones } from "./ParcelRulebook.ts"

/** What a difficulty level allows. */
export interface LevelSpec {
  /** Heaviest parcel in kg (weights are drawn from 1..maxKg). */
  readonly maxKg: number
  /** How many options (flags and insurance) a parcel has, inclusive range. */
  readonly options: readonly [number, number]
  readonly pool: ReadonlyArray<Flag | "insured">
  /** How many exception rules must fire, inclusive range. */
  readonly exceptions: readonly [number, number]
  readonly insuredMax: number
  readonly countMax: number
}

const ALL: ReadonlyArray<Flag | "insured"> = ["long", "fragile", "remote", "insured", "express", "member", "coupon"]

/**
 * Difficulty levels. 1: one or two surcharges, no exceptions, fees under 40 (1-3 steps). 5: up to 14 steps with
 * two to four interacting exceptions, caps, several parcels and bulk discounts, numbers in the hundreds.
 */
export const levels: Readonly<Record<1 | 2 | 3 | 4 | 5, LevelSpec>> = {
  1: { maxKg: 6, options: [0, 1], pool: ["long", "fragile", "remote"], exceptions: [0, 0], insuredMax: 0, countMax: 1 },
  2: {
    maxKg: 12,
    options: [1, 2],
    pool: ["long", "fragile", "remote", "express", "member", "coupon"],
    exceptions: [0, 0],
    insuredMax: 0,
    countMax: 1
  },
  3: { maxKg: 24, options: [2, 3], pool: ALL, exceptions: [1, 1], insuredMax: 150, countMax: 1 },
  4: { maxKg: 30, options: [3, 5], pool: ALL, exceptions: [1, 2], insuredMax: 400, countMax: 3 },
  5: { maxKg: 40, options: [5, 7], pool: ALL, exceptions: [2, 4], insuredMax: 1000, countMax: 9 }
}

/** Tighter bounds for one level's draws (`levelLimits`): each replaces the level's own (`levels`), if given. */
export const LevelLimits = Schema.Struct({
  /** Heaviest parcel in kg. */
  maxKg: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Most parcels in one question (1 = never several; 5 or more bring the bulk discount, R18). */
  countMax: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Largest insured value. */
  insuredMax: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(10)))
})
export type LevelLimits = typeof LevelLimits.Type

/** Configuration of the parcel domain (config path `tasks.parcel`). */
export const ParcelConfig = Schema.Struct({
  ...Generated.seedFields,
  /** Problems per split, with their defaults. */
  counts: Generated.countsField({ train: 2000, validation: 200, test: 200, heldout: 200, transfer: 200 }),
  ...Generated.splitFields,
  /**
   * Per level (`"1"`-`"5"`), bounds that replace the level's own: e.g. `{ "5": { countMax: 3, insuredMax: 400 } }`
   * keeps level 5's quantities within what levels 3-4 show, so it is harder by composition only (more options and
   * exceptions), not by steps no lower level has. Default none.
   */
  levelLimits: Schema.optionalKey(
    Schema.Struct({
      "1": Schema.optionalKey(LevelLimits),
      "2": Schema.optionalKey(LevelLimits),
      "3": Schema.optionalKey(LevelLimits),
      "4": Schema.optionalKey(LevelLimits),
      "5": Schema.optionalKey(LevelLimits)
    })
  )
}).check(Generated.splitChecks)
export type ParcelConfig = typeof ParcelConfig.Type

/** Decode a config object (missing keys take their defaults). */
export const decodeConfig = Schema.decodeUnknownSync(ParcelConfig)

/** Draw a parcel for a level, or `undefined` when it misses the level's exception range. */
const sampleParcel = (
  rng: Rng.Rng,
  spec: LevelSpec,
  tariff: Tariff
): { parcel: Parcel; exceptions: number } | undefined => {
  const n = rng.intBetween(spec.options[0], spec.options[1])
  const chosen = rng.shuffle(spec.pool).slice(0, n)
  const parcel: Parcel = {
    zone: rng.pick(zones),
    kg: rng.intBetween(1, spec.maxKg),
    flags: new Set(chosen.filter((f): f is Flag => f !== "insured")),
    insured: chosen.includes("insured") ? 10 * rng.intBetween(1, Math.max(1, spec.insuredMax / 10)) : 0,
    count: spec.countMax > 1 && rng.bernoulli(0.5) ? rng.intBetween(2, spec.countMax) : 1
  }
  const exceptions = solve(parcel, tariff).steps.filter((s) => s.exception === true).length
  return exceptions >= spec.exceptions[0] && exceptions <= spec.exceptions[1] ? { parcel, exceptions } : undefined
}

/** A level's spec with the config's `levelLimits` for it applied. */
export const levelSpec = (config: ParcelConfig, level: 1 | 2 | 3 | 4 | 5): LevelSpec => ({
  ...levels[level],
  ...config.levelLimits?.[`${level}`]
})

/** The generic-generator spec of a configured parcel domain. */
export const spec = (config: ParcelConfig): Generated.DomainSpec => ({
  ...Generated.configFields(config),
  domain: "parcel",
  baseRules: [baseRule],
  minLevel: { heldout: 2 },
  sample: (rng, level, split) => {
    const tariff = split === "transfer" ? T2 : T1
    const drawn = sampleParcel(rng, levelSpec(config, level as 1 | 2 | 3 | 4 | 5), tariff)
    if (drawn === undefined) return undefined
    return {
      question: question(drawn.parcel, tariff),
      program: solve(drawn.parcel, tariff),
      rulebook: rulebook(tariff),
      metadata: { tariff: tariff.id, exceptions: drawn.exceptions }
    }
  }
})

/**
 * The task-source surface of the domain: `generate` draws `index` of a split synchronously (problem `index` for
 * train; distinct evaluation splits skip repeats, see `problems`), `problems` streams a split, `make` is a
 * `TaskSource` over a decoded config, `layerWith` one over an explicit config object (missing keys take defaults;
 * bad values fail with their path), and `layer` reads its config from the config path `tasks.parcel` (defaults
 * when absent).
 */
export const { generate, problems, make, layerWith, layer } = Generated.source({
  name: "parcel",
  schema: ParcelConfig,
  spec,
  configPath: ["tasks", "parcel"]
})

/** A small deterministic domain for tests: levels 1-2, 50 train and 20 of every other split. */
export const layerTest = Layer.succeed(
  TaskSource.TaskSource,
  make(decodeConfig({ levels: [1, 2], counts: { train: 50, validation: 20, test: 20, heldout: 20, transfer: 20 } }))
)
