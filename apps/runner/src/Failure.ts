/**
 * How the CLI words an expected failure: the error's tag and message (which by convention names the file,
 * field or step and the fix). Parse errors of the command line are already shown by effect/cli.
 */
import { Predicate } from "effect"

/** One-line description of a typed failure, or `undefined` when effect/cli has already presented it. */
export const describeFailure = (error: unknown): string | undefined => {
  if (Predicate.isTagged(error, "ShowHelp")) return undefined
  if (Predicate.hasProperty(error, "_tag") && String(error._tag).startsWith("Cli")) return undefined
  const tag = Predicate.hasProperty(error, "_tag") ? String(error._tag) : "Error"
  const message = error instanceof Error ? error.message : String(error)
  return `${tag}: ${message}`
}
