/**
 * The built-in vertical domain: parcel shipping fees under a written tariff of 18 rules (a base table,
 * surcharges, exceptions that override other rules, ordered discounts, caps and a minimum). Two related tariffs
 * exist: T1 (training domain) and T2 (same structure, different numbers and two changed rules, for transfer).
 * The solver turns a parcel into a step program; its rendering is the gold step-by-step solution.
 */
import { StepProgram as Program } from "@realm-lm/core"
const { apply } = Program
type Alternative = Program.Alternative
type ProgramStep = Program.ProgramStep
type Spurious = Program.Spurious
type StepProgram = Program.StepProgram

/** Delivery zones. */
export const zones = ["A", "B", "C", "D"] as const
export type Zone = (typeof zones)[number]

/** Yes/no parcel options, in the order they are written in a question. */
export const flags = ["long", "fragile", "remote", "express", "member", "coupon"] as const
export type Flag = (typeof flags)[number]

/** One parcel order. `insured` is the declared value (0 = not insured); `count` identical parcels. */
export interface Parcel {
  readonly zone: Zone
  readonly kg: number
  readonly flags: ReadonlySet<Flag>
  readonly insured: number
  readonly count: number
}

/** The numbers and rule variants of one tariff. */
export interface Tariff {
  readonly id: "T1" | "T2"
  /** Question prefix, e.g. `"Parcel:"`; T2 questions name their tariff so the two never collide. */
  readonly prefix: string
  readonly zoneFee: Readonly<Record<Zone, number>>
  readonly freeKg: number
  readonly perKg: number
  readonly heavyOver: number
  readonly heavyFee: number
  readonly longFee: number
  readonly fragileFee: number
  readonly remoteFee: number
  /** Members' remote fee: 0 (waived, T1) or half rounded down (T2). */
  readonly memberRemote: "waived" | "half"
  readonly insureUnit: number
  /** Express: double (T1) or +50% rounded down (T2). */
  readonly express: { readonly op: "mul" | "pctUp"; readonly arg: number }
  readonly memberPct: number
  readonly couponOff: number
  readonly cap: number
  readonly expressCap: number
  readonly minFee: number
  readonly bulkFrom: number
  readonly bulkPct: number
}

/** Tariff T1: the training domain. */
export const T1: Tariff = {
  id: "T1",
  prefix: "Parcel:",
  zoneFee: { A: 8, B: 12, C: 15, D: 20 },
  freeKg: 3,
  perKg: 2,
  heavyOver: 20,
  heavyFee: 10,
  longFee: 6,
  fragileFee: 5,
  remoteFee: 7,
  memberRemote: "waived",
  insureUnit: 50,
  express: { op: "mul", arg: 2 },
  memberPct: 10,
  couponOff: 5,
  cap: 80,
  expressCap: 150,
  minFee: 10,
  bulkFrom: 5,
  bulkPct: 10
}

/** Tariff T2: the related variant for transfer (other numbers; express +50%; members pay half the remote fee). */
export const T2: Tariff = {
  id: "T2",
  prefix: "Parcel T2:",
  zoneFee: { A: 10, B: 14, C: 18, D: 24 },
  freeKg: 2,
  perKg: 3,
  heavyOver: 25,
  heavyFee: 12,
  longFee: 8,
  fragileFee: 4,
  remoteFee: 9,
  memberRemote: "half",
  insureUnit: 100,
  express: { op: "pctUp", arg: 50 },
  memberPct: 20,
  couponOff: 8,
  cap: 100,
  expressCap: 180,
  minFee: 12,
  bulkFrom: 4,
  bulkPct: 15
}

/** The always-firing base rule, excluded from rule combinations. */
export const baseRule = "R1"

/** Exception rules and the rule each overrides. */
export const exceptionRules: Readonly<Record<string, string>> = { R6: "R5", R8: "R7", R11: "R10", R14: "R13" }

/** The written rulebook of a tariff, one rule per line. */
export const rulebook = (t: Tariff): string => {
  const z = t.zoneFee
  const expressText =
    t.express.op === "mul" ? `multiply the fee by ${t.express.arg}` : `add ${t.express.arg}% of the fee, rounded down`
  const remoteText =
    t.memberRemote === "waived"
      ? "members pay no remote fee (R7 does not apply)"
      : "members pay half the remote fee, rounded down, instead of R7"
  return [
    `Parcel tariff ${t.id}. Apply the rules in order; each rule that applies is one step on the running fee.`,
    `R1 Base fee by zone: A ${z.A}, B ${z.B}, C ${z.C}, D ${z.D}.`,
    `R2 Weight: add ${t.perKg} per kg above ${t.freeKg} kg.`,
    `R3 Heavy: a parcel over ${t.heavyOver} kg adds ${t.heavyFee}.`,
    `R4 Long: add ${t.longFee}.`,
    `R5 Fragile: add ${t.fragileFee}.`,
    `R6 Exception to R5: insured fragile parcels pay no fragile fee.`,
    `R7 Remote area: add ${t.remoteFee}.`,
    `R8 Exception to R7: ${remoteText}.`,
    `R9 Insurance: add 1 per started ${t.insureUnit} of insured value.`,
    `R10 Express: ${expressText}.`,
    `R11 Exception to R10: heavy parcels (R3) cannot go express; R10 does not apply.`,
    `R12 Member: subtract ${t.memberPct}% of the fee, rounded down.`,
    `R13 Coupon: subtract ${t.couponOff}.`,
    `R14 Exception to R13: a coupon cannot be combined with the member discount; ignore the coupon.`,
    `R15 Cap: the fee is at most ${t.cap} per parcel, or ${t.expressCap} if R10 was applied.`,
    `R16 Minimum: the fee is at least ${t.minFee} per parcel.`,
    `R17 Several parcels: multiply the fee by the number of parcels.`,
    `R18 Bulk: ${t.bulkFrom} or more parcels get ${t.bulkPct}% off the total, rounded down.`,
    `Rules R2 to R9 only add amounts, so they may be applied in any order among themselves.`
  ].join("\n")
}

/** The canonical question, e.g. `Parcel: zone B, 7kg, fragile, insured 120, member. Fee?` (insured goes before express). */
export const question = (p: Parcel, t: Tariff): string => {
  const parts = [`zone ${p.zone}`, `${p.kg}kg`]
  for (const f of flags) {
    if (f === "express" && p.insured > 0) parts.push(`insured ${p.insured}`)
    if (p.flags.has(f)) parts.push(f)
  }
  if (p.count > 1) parts.push(`${p.count} parcels`)
  return `${t.prefix} ${parts.join(", ")}. Fee?`
}

const SURCHARGES = 1 // block id shared by the additive rules R2-R9

/** Solve a parcel under a tariff: the step program of every rule that fires, in rulebook order. */
export const solve = (p: Parcel, t: Tariff): StepProgram => {
  const steps: Array<ProgramStep> = []
  const spurious: Array<Spurious> = []
  const has = (f: Flag) => p.flags.has(f)
  const heavy = p.kg > t.heavyOver
  const member = has("member")

  const otherZones = zonesExcept(p.zone).map((z): Alternative => ({
    kind: "misapply",
    rule: "R1",
    label: `base zone ${p.zone}`,
    op: "set",
    arg: t.zoneFee[z],
    note: `R1 misapplied: used the zone ${z} fee`
  }))
  steps.push({ rule: "R1", label: `base zone ${p.zone}`, op: "set", arg: t.zoneFee[p.zone], alternatives: otherZones })

  if (p.kg > t.freeKg) {
    const over = p.kg - t.freeKg
    steps.push({
      rule: "R2",
      label: `weight ${p.kg}kg`,
      op: "add",
      arg: over * t.perKg,
      block: SURCHARGES,
      alternatives: [
        {
          kind: "misapply",
          rule: "R2",
          label: `weight ${p.kg}kg`,
          op: "add",
          arg: p.kg * t.perKg,
          note: `R2 misapplied: charged all ${p.kg} kg, not only those above ${t.freeKg}`
        }
      ]
    })
  } else if (p.kg > 1) {
    spurious.push({
      after: steps.length - 1,
      rule: "R2",
      label: `weight ${p.kg}kg`,
      op: "add",
      arg: p.kg * t.perKg,
      note: `R2 misapplied: ${p.kg} kg is not above ${t.freeKg} kg`
    })
  }
  if (heavy) {
    steps.push({ rule: "R3", label: "heavy", op: "add", arg: t.heavyFee, block: SURCHARGES })
  } else if (p.kg >= t.heavyOver - 3) {
    spurious.push({
      after: steps.length - 1,
      rule: "R3",
      label: "heavy",
      op: "add",
      arg: t.heavyFee,
      note: `R3 misapplied: ${p.kg} kg is not over ${t.heavyOver} kg`
    })
  }
  if (has("long")) steps.push({ rule: "R4", label: "long", op: "add", arg: t.longFee, block: SURCHARGES })
  if (has("fragile")) {
    if (p.insured > 0) {
      steps.push({
        rule: "R6",
        label: "fragile waived",
        op: "keep",
        arg: 0,
        exception: true,
        block: SURCHARGES,
        alternatives: [
          {
            kind: "skip-exception",
            rule: "R5",
            label: "fragile",
            op: "add",
            arg: t.fragileFee,
            note: "R6 skipped: insured fragile parcels pay no fragile fee"
          }
        ]
      })
    } else {
      steps.push({ rule: "R5", label: "fragile", op: "add", arg: t.fragileFee, block: SURCHARGES })
    }
  }
  if (has("remote")) {
    const normal: Alternative = {
      kind: "skip-exception",
      rule: "R7",
      label: "remote",
      op: "add",
      arg: t.remoteFee,
      note: "R8 skipped: members have a reduced remote fee"
    }
    if (member && t.memberRemote === "waived") {
      steps.push({
        rule: "R8",
        label: "remote waived",
        op: "keep",
        arg: 0,
        exception: true,
        block: SURCHARGES,
        alternatives: [normal]
      })
    } else if (member) {
      steps.push({
        rule: "R8",
        label: "remote half",
        op: "add",
        arg: Math.floor(t.remoteFee / 2),
        exception: true,
        block: SURCHARGES,
        alternatives: [normal]
      })
    } else {
      steps.push({ rule: "R7", label: "remote", op: "add", arg: t.remoteFee, block: SURCHARGES })
    }
  }
  if (p.insured > 0) {
    const units = Math.ceil(p.insured / t.insureUnit)
    const floorUnits = Math.floor(p.insured / t.insureUnit)
    const alternatives: Array<Alternative> =
      floorUnits !== units
        ? [
            {
              kind: "misapply",
              rule: "R9",
              label: `insured ${p.insured}`,
              op: "add",
              arg: floorUnits,
              note: `R9 misapplied: counted whole ${t.insureUnit}s, not started ones`
            }
          ]
        : []
    steps.push({ rule: "R9", label: `insured ${p.insured}`, op: "add", arg: units, block: SURCHARGES, alternatives })
  }
  let expressApplied = false
  if (has("express")) {
    if (heavy) {
      steps.push({
        rule: "R11",
        label: "express barred",
        op: "keep",
        arg: 0,
        exception: true,
        alternatives: [
          {
            kind: "skip-exception",
            rule: "R10",
            label: "express",
            op: t.express.op,
            arg: t.express.arg,
            note: "R11 skipped: heavy parcels cannot go express"
          }
        ]
      })
    } else {
      expressApplied = true
      steps.push({ rule: "R10", label: "express", op: t.express.op, arg: t.express.arg })
    }
  }
  if (member) {
    const wrongPct = t.memberPct * 2
    steps.push({
      rule: "R12",
      label: "member",
      op: "pctOff",
      arg: t.memberPct,
      alternatives: [
        {
          kind: "misapply",
          rule: "R12",
          label: "member",
          op: "pctOff",
          arg: wrongPct,
          note: `R12 misapplied: took ${wrongPct}% instead of ${t.memberPct}%`
        }
      ]
    })
  }
  if (has("coupon")) {
    if (member) {
      steps.push({
        rule: "R14",
        label: "coupon void",
        op: "keep",
        arg: 0,
        exception: true,
        alternatives: [
          {
            kind: "skip-exception",
            rule: "R13",
            label: "coupon",
            op: "sub",
            arg: t.couponOff,
            note: "R14 skipped: the coupon cannot be combined with the member discount"
          }
        ]
      })
    } else {
      steps.push({ rule: "R13", label: "coupon", op: "sub", arg: t.couponOff })
    }
  }
  const capValue = expressApplied ? t.expressCap : t.cap
  const otherCap = expressApplied ? t.cap : t.expressCap
  const value = runningValue(steps)
  if (value > capValue) {
    const alternatives: Array<Alternative> =
      Math.min(value, otherCap) !== capValue
        ? [
            {
              kind: "misapply",
              rule: "R15",
              label: "cap",
              op: "cap",
              arg: otherCap,
              note: `R15 misapplied: used the ${otherCap} cap`
            }
          ]
        : []
    steps.push({ rule: "R15", label: "cap", op: "cap", arg: capValue, alternatives })
  }
  if (runningValue(steps) < t.minFee) steps.push({ rule: "R16", label: "min", op: "atLeast", arg: t.minFee })
  if (p.count > 1) steps.push({ rule: "R17", label: "parcels", op: "mul", arg: p.count })
  if (p.count >= t.bulkFrom) {
    steps.push({ rule: "R18", label: "bulk", op: "pctOff", arg: t.bulkPct })
  } else if (p.count === t.bulkFrom - 1) {
    spurious.push({
      after: steps.length - 1,
      rule: "R18",
      label: "bulk",
      op: "pctOff",
      arg: t.bulkPct,
      note: `R18 misapplied: ${p.count} parcels is fewer than ${t.bulkFrom}`
    })
  }
  return spurious.length > 0 ? { version: 1, steps, spurious } : { version: 1, steps }
}

const zonesExcept = (zone: Zone): Array<Zone> => zones.filter((z) => z !== zone)

const runningValue = (steps: ReadonlyArray<ProgramStep>): number => {
  let v = 0
  for (const s of steps) v = apply(s.op, v, s.arg)
  return v
}
