/**
 * Step alignment for routes written in free text (HTTP teachers): the decisive step of a wrong route is where it
 * first departs from the correct route it follows longest. Steps are compared by their result (the number after
 * the last `=`, else the last number, else the normalised text), so wording differences do not count.
 */

const NUMBER = /-?\d[\d,]*(?:\.\d+)?/g

const numberKey = (text: string): string | undefined => {
  const last = [...text.matchAll(NUMBER)].at(-1)
  if (last === undefined) return undefined
  const value = Number(last[0].replace(/,/g, ""))
  return Number.isFinite(value) ? `n:${value}` : undefined
}

/** What a step is compared by: its result value when it has one, else its normalised text. */
export const stepKey = (step: string): string => {
  const eq = step.lastIndexOf("=")
  return (
    (eq >= 0 ? numberKey(step.slice(eq + 1)) : undefined) ??
    numberKey(step) ??
    `t:${step
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, " ")
      .trim()}`
  )
}

/** Index of the first step where `route` and `reference` differ (the shorter length when one is a prefix). */
export const departure = (route: ReadonlyArray<string>, reference: ReadonlyArray<string>): number => {
  const n = Math.min(route.length, reference.length)
  for (let i = 0; i < n; i++) if (stepKey(route[i]!) !== stepKey(reference[i]!)) return i
  return n
}

/**
 * Decisive step (0-based) of a wrong route: the latest departure over the correct references, clamped to the
 * route's last step (a route that follows a correct one and then stops or concludes wrongly goes wrong at its
 * end). `undefined` when the route has no steps or there is no reference.
 */
export const decisiveStep = (
  route: ReadonlyArray<string>,
  references: ReadonlyArray<ReadonlyArray<string>>
): number | undefined => {
  if (route.length === 0 || references.length === 0) return undefined
  const latest = Math.max(...references.map((ref) => departure(route, ref)))
  return Math.min(latest, route.length - 1)
}
