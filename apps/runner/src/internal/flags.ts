/**
 * The commands' shared flag plumbing: optional flags with their help text, and given flags turned into settings.
 */
import { Option } from "effect"
import { Flag } from "effect/cli"

/** A flag with its help text that may be left out (`None` then). */
export const optional = <A>(flag: Flag.Flag<A>, description: string): Flag.Flag<Option.Option<A>> =>
  flag.pipe(Flag.withDescription(description), Flag.optional)

/** `{ [key]: value }` when the flag was given, else `{}`: spread into the options of a job. */
export const given = <const K extends string, A>(key: K, value: Option.Option<A>): { readonly [P in K]?: A } =>
  Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v }) as { readonly [P in K]: A } })

/** The settings of the given flags, by settings key (flags left out are absent, so a settings file's values stay). */
export const givenSettings = (
  flags: ReadonlyArray<readonly [key: string, value: Option.Option<unknown>]>
): Record<string, unknown> => {
  const settings: Record<string, unknown> = {}
  for (const [key, value] of flags) if (Option.isSome(value)) settings[key] = value.value
  return settings
}
