import { assert, describe, it } from "vitest"
import type { Flag, Parcel } from "../src/ParcelRulebook.ts"
import { question, rulebook, solve, T1, T2 } from "../src/ParcelRulebook.ts"
import * as StepProgram from "../src/StepProgram.ts"

const parcel = (zone: Parcel["zone"], kg: number, flags: ReadonlyArray<Flag>, insured = 0, count = 1): Parcel => ({
  zone,
  kg,
  flags: new Set(flags),
  insured,
  count
})

const worked = (p: Parcel, t = T1) => StepProgram.solve(solve(p, t))

describe("ParcelRulebook", () => {
  it("writes 18 numbered rules in plain text, with the tariff's own numbers", () => {
    const text = rulebook(T1)
    for (let i = 1; i <= 18; i++) assert.match(text, new RegExp(`^R${i} `, "m"))
    assert.include(text, "R1 Base fee by zone: A 8, B 12, C 15, D 20.")
    assert.include(rulebook(T2), "R1 Base fee by zone: A 10, B 14, C 18, D 24.")
    assert.include(rulebook(T2), "add 50% of the fee, rounded down")
  })

  it("writes short canonical questions", () => {
    assert.strictEqual(
      question(parcel("B", 7, ["fragile", "member"]), T1),
      "Parcel: zone B, 7kg, fragile, member. Fee?"
    )
    assert.strictEqual(
      question(parcel("D", 22, ["remote", "express", "coupon"], 120, 3), T2),
      "Parcel T2: zone D, 22kg, remote, insured 120, express, coupon, 3 parcels. Fee?"
    )
  })

  it("solves by hand-checked examples: surcharges, percentage rounding, minimum fee", () => {
    assert.deepStrictEqual(worked(parcel("B", 7, ["fragile", "member"])), {
      steps: ["base zone B = 12", "weight 7kg +8 = 20", "fragile +5 = 25", "member -10% -2 = 23"],
      answer: 23
    })
    assert.deepStrictEqual(worked(parcel("A", 2, [])), { steps: ["base zone A = 8", "min 10 = 10"], answer: 10 })
  })

  it("applies each exception in place of the rule it overrides", () => {
    // R6: insured fragile pays no fragile fee; R9: 1 per started 50 (120 -> 3).
    assert.deepStrictEqual(worked(parcel("C", 3, ["fragile"], 120)).steps, [
      "base zone C = 15",
      "fragile waived = 15",
      "insured 120 +3 = 18"
    ])
    // R8: members pay no remote fee (T1) / half of it (T2).
    assert.deepStrictEqual(worked(parcel("C", 3, ["remote", "member"])).steps, [
      "base zone C = 15",
      "remote waived = 15",
      "member -10% -1 = 14"
    ])
    assert.deepStrictEqual(worked(parcel("C", 2, ["remote", "member"]), T2).steps, [
      "base zone C = 18",
      "remote half +4 = 22",
      "member -20% -4 = 18"
    ])
    // R11: heavy parcels cannot go express, and then the ordinary cap (R15) applies.
    assert.deepStrictEqual(worked(parcel("D", 30, ["express"])).steps, [
      "base zone D = 20",
      "weight 30kg +54 = 74",
      "heavy +10 = 84",
      "express barred = 84",
      "cap 80 = 80"
    ])
    // R14: coupon void with the member discount.
    assert.deepStrictEqual(worked(parcel("B", 3, ["member", "coupon"])).steps, [
      "base zone B = 12",
      "member -10% -1 = 11",
      "coupon void = 11"
    ])
  })

  it("uses the express cap only when express was applied, then multiplies and gives the bulk discount", () => {
    assert.deepStrictEqual(worked(parcel("D", 20, ["long", "express"], 0, 5)).steps, [
      "base zone D = 20",
      "weight 20kg +34 = 54",
      "long +6 = 60",
      "express x2 = 120",
      "parcels x5 = 600",
      "bulk -10% -60 = 540"
    ])
    assert.strictEqual(worked(parcel("D", 20, ["long", "remote", "express"])).steps.at(-1), "express x2 = 134")
    assert.strictEqual(
      worked(parcel("D", 20, ["long", "remote", "fragile", "express"], 1000)).steps.at(-1),
      "cap 150 = 150"
    )
  })

  it("offers realistic mistakes: other zones' fees, skipped exceptions, near-threshold rules", () => {
    const program = solve(parcel("B", 3, ["fragile", "express", "member", "coupon"], 100), T1)
    const base = program.steps[0]
    assert.deepStrictEqual(
      base?.alternatives?.map((a) => a.arg),
      [8, 15, 20]
    )
    const skipped = program.steps
      .flatMap((s) => s.alternatives ?? [])
      .filter((a) => a.kind === "skip-exception")
      .map((a) => a.rule)
    assert.deepStrictEqual(skipped, ["R5", "R13"])
    assert.deepStrictEqual(
      solve(parcel("B", 19, []), T1).spurious?.map((s) => s.rule),
      ["R3"]
    )
    assert.deepStrictEqual(
      solve(parcel("B", 2, []), T1).spurious?.map((s) => s.rule),
      ["R2"]
    )
  })
})
