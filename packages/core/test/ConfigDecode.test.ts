import { Effect, Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as ConfigDecode from "../src/ConfigDecode.ts"

const Teacher = Schema.Struct({
  baseUrl: Schema.String,
  apiKeyEnv: Schema.optionalKey(Schema.String),
  sft: Schema.optionalKey(
    Schema.Struct({ learningRate: Schema.optionalKey(Schema.Number), epochs: Schema.optionalKey(Schema.Int) })
  )
})

const failure = (input: unknown): string => {
  const r = ConfigDecode.decodeResult(Teacher)(input)
  if (Result.isSuccess(r)) throw new Error("expected a failure")
  return r.failure
}

describe("ConfigDecode", () => {
  it("rejects an unknown key with its path and the nearest known key", () => {
    expect(failure({ baseUrl: "http://x", apiKey: "sk-1" })).toBe(
      `apiKey: unknown key "apiKey"; did you mean "apiKeyEnv"? (known keys: baseUrl, apiKeyEnv, sft)`
    )
    expect(failure({ baseUrl: "http://x", sft: { lerning_rate: 1e-3 } })).toBe(
      `sft.lerning_rate: unknown key "lerning_rate"; did you mean "learningRate"? (known keys: learningRate, epochs)`
    )
  })

  it("gives no suggestion when no known key is close, and lists every problem", () => {
    const text = failure({ baseUrl: 3, sft: { epochs: 1.5 }, temperature: 0.1 })
    const lines = text.split("\n")
    expect(lines).toHaveLength(3)
    expect(lines).toContain(`temperature: unknown key "temperature" (known keys: baseUrl, apiKeyEnv, sft)`)
    expect(lines.find((l) => l.startsWith("baseUrl: "))).toMatch(/Expected string/)
    expect(lines.find((l) => l.startsWith("sft.epochs: "))).toMatch(/integer/)
  })

  it("reports the closest member of a union only", () => {
    const Model = Schema.Union([
      Schema.Struct({ scratch: Schema.Number }),
      Schema.Struct({ init: Schema.String, revision: Schema.optionalKey(Schema.String) })
    ])
    const r = ConfigDecode.decodeResult(Model)({ init: "dir", revison: "main" })
    expect(Result.isFailure(r) && r.failure).toBe(
      `revison: unknown key "revison"; did you mean "revision"? (known keys: init, revision)`
    )
  })

  it("accepts valid settings and keys of records", () => {
    const S = Schema.Struct({ extra: Schema.Record(Schema.String, Schema.Number) })
    expect(ConfigDecode.decodeResult(S)({ extra: { anything: 1 } })).toEqual(Result.succeed({ extra: { anything: 1 } }))
    expect(Result.isSuccess(ConfigDecode.decodeResult(Teacher)({ baseUrl: "u", sft: { epochs: 2 } }))).toBe(true)
  })

  it("measures edits with transpositions and suggests only close keys", () => {
    expect(ConfigDecode.editDistance("abc", "abc")).toBe(0)
    expect(ConfigDecode.editDistance("abcd", "abdc")).toBe(1)
    expect(ConfigDecode.editDistance("kitten", "sitting")).toBe(3)
    expect(ConfigDecode.nearest("epocs", ["epochs", "lr"])).toBe("epochs")
    expect(ConfigDecode.nearest("warmup", ["epochs", "lr"])).toBeUndefined()
    expect(ConfigDecode.nearest("x", [])).toBeUndefined()
  })
})

describe("ConfigDecode.decodeUnknownEffect", () => {
  it("fails with a SchemaError whose message suggests the known key", async () => {
    const error = await Effect.runPromise(
      Effect.flip(ConfigDecode.decodeUnknownEffect(Teacher)({ baseUrl: "u", sft: { epoch: 2 } }))
    )
    expect(error).toBeInstanceOf(Schema.SchemaError)
    expect(error.message).toBe(
      `sft.epoch: unknown key "epoch"; did you mean "epochs"? (known keys: learningRate, epochs)`
    )
    const other = await Effect.runPromise(
      Effect.flip(ConfigDecode.decodeUnknownEffect(Teacher)({ baseUrl: "u", apikeyenv: "K" }))
    )
    expect(other.message).toContain(`did you mean "apiKeyEnv"?`)
  })
})

describe("ConfigDecode through decoding defaults", () => {
  it("finds unknown keys under fields with decoding defaults (Encoding issues)", () => {
    const S = Schema.Struct({
      sft: Schema.Struct({ epochs: Schema.Int.pipe(Schema.withDecodingDefaultKey(Effect.succeed(3))) }).pipe(
        Schema.withDecodingDefaultKey(Effect.succeed({}))
      )
    })
    const r = ConfigDecode.decodeResult(S)({ sft: { epocs: 2 } })
    expect(Result.isFailure(r) && r.failure).toBe(
      `sft.epocs: unknown key "epocs"; did you mean "epochs"? (known keys: epochs)`
    )
  })
})

describe("ConfigDecode.withDefault, PositiveInt, NonNegativeInt", () => {
  const Settings = Schema.Struct({
    steps: ConfigDecode.PositiveInt.pipe(ConfigDecode.withDefault(100)),
    retries: ConfigDecode.withDefault(ConfigDecode.NonNegativeInt, 0)
  })
  const decode = ConfigDecode.decodeResult(Settings)

  it("fills absent keys with their defaults in both call forms, and keeps written values", () => {
    expect(Result.getOrThrow(decode({}))).toEqual({ steps: 100, retries: 0 })
    expect(Result.getOrThrow(decode({ steps: 7, retries: 3 }))).toEqual({ steps: 7, retries: 3 })
  })

  it("checks written values: PositiveInt refuses 0 and fractions, NonNegativeInt refuses negatives", () => {
    for (const bad of [{ steps: 0 }, { steps: 1.5 }, { retries: -1 }]) expect(Result.isFailure(decode(bad))).toBe(true)
    expect(Result.isSuccess(decode({ steps: 1, retries: 0 }))).toBe(true)
  })
})
