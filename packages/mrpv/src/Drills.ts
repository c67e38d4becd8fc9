/**
 * Comparison drills: practice examples of MRPV's verdict in the compared-answers format (`echoAnswers` and
 * `compareAnswers`), where a verdict line writes a route's answer next to the completion's own
 * (`Route A: answer 76 vs 74, wrong`) and its verdict is exactly whether the two are equal. A drill is a user
 * message and `lines` such lines: half the pairs equal, a quarter a near miss (1–12 apart, so possibly up to 12
 * outside `min..max`), a quarter unrelated, the completion's own number in `min..max`; each verdict word is marked as
 * `emphasis`. A 0.44M-parameter student whose verdicts stayed at chance with warm starts alone judged 87.5% of routes
 * right on one seed with 1,500 such drills appended to its SFT corpus (docs/EXPERIMENTS.md, D13).
 */
import type { Verifier } from "@realm-lm/core"
import { Rng } from "@realm-lm/core"
import type { DrillsConfig, MrpvConfig } from "./MrpvConfig.ts"
import { routeLetter } from "./internal/text.ts"

/** The user message of every drill. */
export const drillPrompt = "Compare each route's answer with yours."

/** Whether a config's verdict lines compare answers, so drills exist for it. */
export const hasDrills = (config: Pick<MrpvConfig, "echoAnswers" | "compareAnswers">): boolean =>
  config.echoAnswers && config.compareAnswers

/** One verdict line for the route at `index`, and where its verdict word sits in it. */
export const drillLine = (
  rng: Rng.Rng,
  index: number,
  min: number,
  max: number
): { readonly text: string; readonly verdict: Verifier.TextSpan } => {
  const own = rng.intBetween(min, max)
  const kind = rng.float()
  let route = own
  if (kind >= 0.5 && kind < 0.75) route = own + (rng.float() < 0.5 ? -1 : 1) * rng.intBetween(1, 12)
  else if (kind >= 0.75) while (route === own) route = rng.intBetween(min, max)
  const head = `Route ${routeLetter(index)}: answer ${route} vs ${own}, `
  const word = route === own ? "correct" : "wrong"
  return { text: head + word, verdict: { start: head.length, end: head.length + word.length } }
}

/** `request.count` drills drawn by `config` (`verifier.with.drills`), the same for the same seed. */
export const comparisonDrills = (request: Verifier.DrillRequest, config: DrillsConfig): Array<Verifier.Example> => {
  const rng = Rng.Rng.make(request.seed, "mrpv-drills")
  return Array.from({ length: request.count }, (_drill, i) => {
    const lines = Array.from({ length: config.lines }, (_line, k) => drillLine(rng, k, config.min, config.max))
    let offset = 0
    const emphasis = lines.map((l) => {
      const span = { start: offset + l.verdict.start, end: offset + l.verdict.end }
      offset += l.text.length + 1
      return span
    })
    return {
      prompt: {
        problemId: `drill/${i}`,
        messages: [{ role: "user" as const, content: drillPrompt }],
        guidance: { mode: "autonomous" as const, strength: 0, routeIds: [] }
      },
      completion: lines.map((l) => l.text).join("\n"),
      emphasis
    }
  })
}
