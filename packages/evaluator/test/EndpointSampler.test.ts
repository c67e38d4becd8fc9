/**
 * Evaluation through an endpoint without a model: the requests the sampler sends (greedy at temperature 0, the
 * k−1 sampled ones with `n` and a per-problem seed), the concurrency it keeps, the journal that lets a rerun after
 * a failure ask only for what is missing and reach the same results, and `evaluate` with `endpoint` set (a scripted
 * `HttpClient`): an unknown model fails before any prompt is built, and served completions are judged and
 * summarised like local ones.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ChatEndpoint, Verifier } from "@realm-lm/core"
import type { Evaluator, Problem, Prompt } from "@realm-lm/core"
import * as EndpointSampler from "../src/EndpointSampler.ts"
import { EvaluatorConfig, evaluate } from "../src/Evaluate.ts"

const problems: Array<Problem.Problem> = Array.from({ length: 5 }, (_, i) => ({
  id: `sum/test/${i}`,
  domain: "sum",
  question: `${i} + ${i}?`,
  gold: String(2 * i),
  answerType: "number",
  difficulty: 1 + (i % 2),
  split: "test",
  metadata: {}
}))
const promptOf = (p: Problem.Problem): Prompt.Prompt => ({
  problemId: p.id,
  messages: [{ role: "user", content: p.question }],
  guidance: { mode: "autonomous", strength: 0, routeIds: [] }
})
const plan = { samples: 3, temperature: 0.7, maxNewTokens: 12, seed: 4, mode: "autonomous" }

/** A fake endpoint: the answer is the question's sum, wrong when sampled; records requests, fails on `failOn`. */
const fakeEndpoint = (failOn?: string) => {
  const requests: Array<ChatEndpoint.ChatRequest & { readonly label: string }> = []
  let inFlight = 0
  let most = 0
  const endpoint: ChatEndpoint.ChatEndpoint = {
    url: "http://127.0.0.1:1/v1/chat/completions",
    model: "fake",
    check: Effect.void,
    complete: (request, label = "") =>
      Effect.gen(function* () {
        inFlight += 1
        most = Math.max(most, inFlight)
        yield* Effect.yieldNow
        inFlight -= 1
        if (label === failOn) {
          return yield* new ChatEndpoint.ChatEndpointError({
            url: endpoint.url,
            model: "fake",
            reason: "server",
            detail: "HTTP 503",
            attempts: 6
          })
        }
        requests.push({ ...request, label })
        const [a = 0] = /\d+/.exec(request.messages[0]?.content ?? "")?.map(Number) ?? []
        const text = request.temperature === 0 ? `Answer: ${2 * a}` : `Answer: ${2 * a + 1}`
        return {
          choices: Array.from({ length: request.n ?? 1 }, () => ({ text, finishReason: "stop" })),
          promptTokens: 1,
          completionTokens: 1
        }
      })
  }
  return { endpoint, requests, most: () => most }
}

const withJournal = <A, E>(path: string, use: (journal: EndpointSampler.Journal) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(EndpointSampler.openJournal(path, "fake"), use)).pipe(Effect.provide(NodeServices.layer))

describe("EndpointSampler", () => {
  it.effect(
    "asks greedy completions at temperature 0 and the k−1 sampled ones with n and a per-problem seed, within the concurrency",
    () =>
      Effect.gen(function* () {
        const fake = fakeEndpoint()
        const sampler = EndpointSampler.make(fake.endpoint, { checkpoint: "fake", concurrency: 2 })
        const texts = yield* sampler.complete(problems.map(promptOf), plan)
        assert.deepStrictEqual(texts[3], ["Answer: 6", "Answer: 7", "Answer: 7"])
        assert.strictEqual(fake.requests.length, 2 * problems.length)
        const forThree = fake.requests.filter((r) => r.label === "sum/test/3")
        assert.deepStrictEqual(
          forThree.map((r) => [r.temperature, r.n, r.maxTokens, r.seed]),
          [
            [0, undefined, 12, undefined],
            [0.7, 2, 12, EndpointSampler.samplesSeed(4, "autonomous", "sum/test/3")]
          ]
        )
        assert.notStrictEqual(
          EndpointSampler.samplesSeed(4, "autonomous", "a"),
          EndpointSampler.samplesSeed(4, "assisted", "a")
        )
        assert.strictEqual(fake.most(), 2)
      })
  )

  it.effect(
    "after a failure, a rerun with the journal asks only for what is missing and gives the same completions",
    () =>
      Effect.gen(function* () {
        const path = join(mkdtempSync(join(tmpdir(), "realm-endpoint-journal-")), "requests.jsonl")
        const broken = fakeEndpoint("sum/test/2")
        const error = yield* Effect.flip(
          withJournal(path, (journal) =>
            EndpointSampler.make(broken.endpoint, { checkpoint: "fake", concurrency: 1, journal }).complete(
              problems.map(promptOf),
              plan
            )
          )
        )
        assert.strictEqual(error._tag, "EvaluatorError")
        assert.include(
          error.message,
          "sum/test/2: http://127.0.0.1:1/v1/chat/completions (model fake): HTTP 503 (after 6 attempts)"
        )
        const kept = readFileSync(path, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { problemId: string })
        assert.deepStrictEqual(
          kept.map((e) => e.problemId),
          ["sum/test/0", "sum/test/0", "sum/test/1", "sum/test/1"]
        )

        const working = fakeEndpoint()
        const resumed = yield* withJournal(path, (journal) =>
          Effect.andThen(
            Effect.sync(() => assert.strictEqual(journal.resumed, 4)),
            EndpointSampler.make(working.endpoint, { checkpoint: "fake", concurrency: 3, journal }).complete(
              problems.map(promptOf),
              plan
            )
          )
        )
        assert.deepStrictEqual(working.requests.map((r) => r.label).toSorted(), [
          "sum/test/2",
          "sum/test/2",
          "sum/test/3",
          "sum/test/3",
          "sum/test/4",
          "sum/test/4"
        ])
        const fresh = yield* EndpointSampler.make(fakeEndpoint().endpoint, {
          checkpoint: "fake",
          concurrency: 3
        }).complete(problems.map(promptOf), plan)
        assert.deepStrictEqual(resumed, fresh)
      })
  )
})

let promptsBuilt = 0
/** A verifier that asks the question (counting prompts built) and judges the number after `Answer:`. */
const verifier = Layer.succeed(
  Verifier.Verifier,
  Verifier.Verifier.of({
    prompt: (request) => Effect.sync(() => ((promptsBuilt += 1), promptOf(request.problem))),
    example: () => Effect.die("unused"),
    score: (request) =>
      Effect.sync(() => {
        const answer = /Answer: (\d+)/.exec(request.completion)?.[1] ?? ""
        const correct = answer === request.problem.gold
        return { total: correct ? 1 : 0, components: {}, correct, answer }
      })
  })
)

/** A scripted OpenAI-compatible server serving `served`: the sum for greedy requests, a wrong one for sampled ones. */
const serverClient = (served: string) =>
  HttpClient.make((request) =>
    Effect.sync(() => {
      const json = (status: number, body: unknown) =>
        HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status }))
      if (request.url.endsWith("/models")) return json(200, { object: "list", data: [{ id: served, object: "model" }] })
      const body = JSON.parse(new TextDecoder().decode((request.body as { body: Uint8Array }).body)) as {
        model: string
        messages: Array<{ content: string }>
        temperature: number
        n?: number
      }
      if (body.model !== served)
        return json(404, { error: { message: `the model '${body.model}' does not exist`, code: "model_not_found" } })
      const a = Number(/\d+/.exec(body.messages[0]?.content ?? "")?.[0] ?? 0)
      const content = `Answer: ${body.temperature === 0 ? 2 * a : 2 * a + 1}`
      return json(200, {
        choices: Array.from({ length: body.n ?? 1 }, (_, index) => ({
          index,
          message: { role: "assistant", content },
          finish_reason: "stop"
        }))
      })
    })
  )

const request: Evaluator.EvalRequest = {
  method: "served",
  checkpoint: "fake at http://127.0.0.1:1/v1",
  task: "sum",
  split: "test",
  problems,
  routes: new Map(),
  mode: "autonomous"
}

describe("evaluate with an endpoint", () => {
  const config = (model: string) =>
    Schema.decodeUnknownSync(EvaluatorConfig)({ samples: 2, endpoint: { baseUrl: "http://127.0.0.1:1/v1", model } })
  const run = <A, E>(effect: Effect.Effect<A, E, Verifier.Verifier | NodeServices.NodeServices>) =>
    effect.pipe(
      Effect.provide(Layer.merge(verifier, NodeServices.layer)),
      Effect.provideService(HttpClient.HttpClient, serverClient("toy"))
    )

  it.effect("judges and summarises served completions: greedy right, sampled wrong", () =>
    Effect.gen(function* () {
      const result = yield* run(evaluate(config("toy"), request))
      assert.strictEqual(result.accuracy.value, 1)
      assert.strictEqual(result.samples, 2)
      assert.strictEqual(result.metrics["pass@2"]?.value, 1)
      assert.deepStrictEqual(result.outcomes[2]?.texts, ["Answer: 4", "Answer: 5"])
      assert.deepStrictEqual(result.outcomes[2]?.correct, [true, false])
    })
  )

  it.effect("an unknown model fails before any prompt, naming the URL and the model the server serves", () =>
    Effect.gen(function* () {
      promptsBuilt = 0
      const error = yield* Effect.flip(run(evaluate(config("nope"), request)))
      assert.strictEqual(error._tag, "EvaluatorError")
      assert.include(
        error.message,
        "http://127.0.0.1:1/v1/models (model nope): the server does not serve 'nope'; it serves 'toy'"
      )
      assert.strictEqual(promptsBuilt, 0)
    })
  )
})
