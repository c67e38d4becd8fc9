import { Effect, Result, Schema } from "effect"
import { assert, describe, it } from "vitest"
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
    assert.strictEqual(
      failure({ baseUrl: "http://x", apiKey: "sk-1" }),
      `apiKey: unknown key "apiKey"; did you mean "apiKeyEnv"? (known keys: baseUrl, apiKeyEnv, sft)`
    )
    assert.strictEqual(
      failure({ baseUrl: "http://x", sft: { lerning_rate: 1e-3 } }),
      `sft.lerning_rate: unknown key "lerning_rate"; did you mean "learningRate"? (known keys: learningRate, epochs)`
    )
  })

  it("gives no suggestion when no known key is close, and lists every problem", () => {
    const text = failure({ baseUrl: 3, sft: { epochs: 1.5 }, temperature: 0.1 })
    const lines = text.split("\n")
    assert.lengthOf(lines, 3)
    assert.include(lines, `temperature: unknown key "temperature" (known keys: baseUrl, apiKeyEnv, sft)`)
    assert.match(lines.find((l) => l.startsWith("baseUrl: ")) ?? "", /Expected string/)
    assert.match(lines.find((l) => l.startsWith("sft.epochs: ")) ?? "", /integer/)
  })

  it("reports the closest member of a union only", () => {
    const Model = Schema.Union([
      Schema.Struct({ scratch: Schema.Number }),
      Schema.Struct({ init: Schema.String, revision: Schema.optionalKey(Schema.String) })
    ])
    const r = ConfigDecode.decodeResult(Model)({ init: "dir", revison: "main" })
    assert.strictEqual(
      Result.isFailure(r) && r.failure,
      `revison: unknown key "revison"; did you mean "revision"? (known keys: init, revision)`
    )
  })

  it("accepts valid settings and keys of records", () => {
    const S = Schema.Struct({ extra: Schema.Record(Schema.String, Schema.Number) })
    assert.deepStrictEqual(
      ConfigDecode.decodeResult(S)({ extra: { anything: 1 } }),
      Result.succeed({ extra: { anything: 1 } })
    )
    assert.isTrue(Result.isSuccess(ConfigDecode.decodeResult(Teacher)({ baseUrl: "u", sft: { epochs: 2 } })))
  })

  it("measures edits with transpositions and suggests only close keys", () => {
    assert.strictEqual(ConfigDecode.editDistance("abc", "abc"), 0)
    assert.strictEqual(ConfigDecode.editDistance("abcd", "abdc"), 1)
    assert.strictEqual(ConfigDecode.editDistance("kitten", "sitting"), 3)
    assert.strictEqual(ConfigDecode.nearest("epocs", ["epochs", "lr"]), "epochs")
    assert.isUndefined(ConfigDecode.nearest("warmup", ["epochs", "lr"]))
    assert.isUndefined(ConfigDecode.nearest("x", []))
  })
})

describe("ConfigDecode.decodeUnknownEffect", () => {
  it("fails with a SchemaError whose message suggests the known key", async () => {
    const error = await Effect.runPromise(
      Effect.flip(ConfigDecode.decodeUnknownEffect(Teacher)({ baseUrl: "u", sft: { epoch: 2 } }))
    )
    assert.instanceOf(error, Schema.SchemaError)
    assert.strictEqual(
      error.message,
      `sft.epoch: unknown key "epoch"; did you mean "epochs"? (known keys: learningRate, epochs)`
    )
    const other = await Effect.runPromise(
      Effect.flip(ConfigDecode.decodeUnknownEffect(Teacher)({ baseUrl: "u", apikeyenv: "K" }))
    )
    assert.include(other.message, `did you mean "apiKeyEnv"?`)
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
    assert.strictEqual(
      Result.isFailure(r) && r.failure,
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
    assert.deepStrictEqual(Result.getOrThrow(decode({})), { steps: 100, retries: 0 })
    assert.deepStrictEqual(Result.getOrThrow(decode({ steps: 7, retries: 3 })), { steps: 7, retries: 3 })
  })

  it("checks written values: PositiveInt refuses 0 and fractions, NonNegativeInt refuses negatives", () => {
    for (const bad of [{ steps: 0 }, { steps: 1.5 }, { retries: -1 }]) assert.isTrue(Result.isFailure(decode(bad)))
    assert.isTrue(Result.isSuccess(decode({ steps: 1, retries: 0 })))
  })
})
