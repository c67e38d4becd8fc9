/**
 * The methods a pipeline can train and compare, as data: where each starts from, which training phase it runs,
 * how its external guidance is set and which rewards it trains on. A config names built-in methods, or variants of
 * them (`{ name, method, trainer, curriculum, verifier }`: a built-in method with settings deep-merged over the
 * pipeline's), so learning-rate grids and ablations are config, not code.
 */
import { Schema } from "effect"

/** How one built-in method is produced. */
export interface MethodKind {
  readonly name: MethodName
  /** Label in tables and reports. */
  readonly label: string
  /** Stage whose checkpoint it starts from: the base model or the SFT checkpoint. */
  readonly from: "base" | "sft"
  readonly phase: "sft" | "rft" | "rl"
  /**
   * `configured`: the pipeline's curriculum (EAAI fading by default); `always-routes`: that curriculum at a fixed full
   * strength (routes in every prompt); `none`: autonomous prompts only, no rescue. A curriculum that cannot run at a
   * fixed guidance is replaced for those by the registered `fixed` one (`Wiring.fixedCurriculum`).
   */
  readonly guidance: "configured" | "always-routes" | "none"
  /** `mrpv`: the configured verifier's rewards; `answer`: the same with route-verdict and decisive-step weights at 0. */
  readonly rewards: "mrpv" | "answer"
}

/** Every built-in method by name, in training order (SFT first: the others may start from it). */
const builtins = {
  sft: {
    label: "SFT (guided CoT distillation)",
    from: "base",
    phase: "sft",
    guidance: "none",
    rewards: "mrpv"
  },
  rft: { label: "RFT", from: "sft", phase: "rft", guidance: "none", rewards: "mrpv" },
  grpo: { label: "GRPO, no guidance", from: "sft", phase: "rl", guidance: "none", rewards: "mrpv" },
  "cot-synthesizer": {
    label: "CoT-Synthesizer-style",
    from: "sft",
    phase: "rl",
    guidance: "always-routes",
    rewards: "answer"
  },
  realm: {
    label: "ReaLM (SFT → MRPV + EAAI)",
    from: "sft",
    phase: "rl",
    guidance: "configured",
    rewards: "mrpv"
  },
  "realm-zero": {
    label: "ReaLM-Zero (RL from base)",
    from: "base",
    phase: "rl",
    guidance: "configured",
    rewards: "mrpv"
  },
  "eaai-no-verdict": {
    label: "EAAI, no verdict rewards",
    from: "sft",
    phase: "rl",
    guidance: "configured",
    rewards: "answer"
  },
  "mrpv-no-fading": {
    label: "MRPV, no fading",
    from: "sft",
    phase: "rl",
    guidance: "always-routes",
    rewards: "mrpv"
  }
} satisfies Record<string, Omit<MethodKind, "name">>

/** Built-in method names accepted in `methods:`. */
export const MethodName = Schema.Literals(Object.keys(builtins) as Array<keyof typeof builtins>)
export type MethodName = typeof MethodName.Type

/** The built-in method of a name. */
export const kind = (name: MethodName): MethodKind => ({ name, ...builtins[name] })

/** Every built-in method, in training order. */
export const kinds: ReadonlyArray<MethodKind> = MethodName.literals.map(kind)

/** A variant: a built-in method under its own name with settings merged over the pipeline's slots. */
export const MethodVariant = Schema.Struct({
  /** Name of the variant in run directories, tables and `baselines` (lower case, digits, `-._+`; `@` is reserved for learning-rate grids). */
  name: Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9._+-]*$/)),
  /** The built-in method it is a variant of. */
  method: MethodName,
  /** Label in tables. Default: the built-in label followed by the name. */
  label: Schema.optionalKey(Schema.NonEmptyString),
  /** Settings deep-merged over `trainer.with` for this method only (e.g. `{ rl: { lr: { peak: 1e-4 } } }`). */
  trainer: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  /** Settings deep-merged over `curriculum.with` for this method only. */
  curriculum: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  /** Settings deep-merged over `verifier.with` for this method only. */
  verifier: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type MethodVariant = typeof MethodVariant.Type

/** One entry of `methods:`: a built-in name or a variant. */
export const MethodEntry = Schema.Union([MethodName, MethodVariant])
export type MethodEntry = typeof MethodEntry.Type

/** A method as planned: its name (built-in or variant), what it is, and its setting overrides. */
export interface Method extends Omit<MethodKind, "name"> {
  readonly name: string
  readonly kind: MethodName
  readonly overrides: {
    readonly trainer?: Record<string, unknown>
    readonly curriculum?: Record<string, unknown>
    readonly verifier?: Record<string, unknown>
  }
}

const fromEntry = (entry: MethodEntry): Method => {
  if (typeof entry === "string") {
    const { name, ...rest } = kind(entry)
    return { ...rest, name, kind: name, overrides: {} }
  }
  const { name: kindName, label, ...rest } = kind(entry.method)
  const overrides = {
    ...(entry.trainer === undefined ? {} : { trainer: entry.trainer }),
    ...(entry.curriculum === undefined ? {} : { curriculum: entry.curriculum }),
    ...(entry.verifier === undefined ? {} : { verifier: entry.verifier })
  }
  return { ...rest, name: entry.name, kind: kindName, label: entry.label ?? `${label} [${entry.name}]`, overrides }
}

/** Name of an entry. */
export const entryName = (entry: MethodEntry): string => (typeof entry === "string" ? entry : entry.name)

/**
 * Problems with a `methods:` list: duplicate names or labels (results are matched by label), or a variant named like
 * another built-in method. (Curriculum settings a fixed-guidance method ignores are found with the curriculum's own
 * `fixedGuidance`: `PipelineConfig.validate`.)
 */
export const check = (entries: ReadonlyArray<MethodEntry>): Array<string> => {
  const problems: Array<string> = []
  const seen = new Set<string>()
  const labels = new Map<string, string>()
  entries.forEach((entry, i) => {
    const name = entryName(entry)
    if (seen.has(name))
      problems.push(`methods[${i}]: "${name}" appears twice; give each method or variant its own name`)
    seen.add(name)
    const label = fromEntry(entry).label
    const other = labels.get(label)
    if (other !== undefined && other !== name)
      problems.push(
        `methods[${i}].label: "${label}" is also the label of "${other}"; results are matched by label, so give each its own`
      )
    labels.set(label, name)
    if (typeof entry === "string") return
    if ((MethodName.literals as ReadonlyArray<string>).includes(entry.name) && entry.name !== entry.method) {
      problems.push(
        `methods[${i}].name: "${entry.name}" is a built-in method's name; name the variant differently (e.g. "${entry.method}-${entry.name}")`
      )
    }
  })
  return problems
}

/** The methods a config selects: its `methods`, or every built-in method. */
export const selected = (config: {
  readonly methods?: ReadonlyArray<MethodEntry> | undefined
}): ReadonlyArray<MethodEntry> => config.methods ?? kinds.map((k) => k.name)

/**
 * The methods to run for a selection, in training order: every method starting from SFT comes after `sft`, which
 * is added when a selected method needs it and not selected.
 */
export const plan = (selected: ReadonlyArray<MethodEntry>): Array<Method> => {
  const planned = selected.map(fromEntry)
  const needsSft = planned.some((m) => m.from === "sft")
  const sft = planned.find((m) => m.name === "sft") ?? (needsSft ? fromEntry("sft") : undefined)
  const rest = planned.filter((m) => m.name !== "sft")
  const order = (m: Method) => kinds.findIndex((k) => k.name === m.kind)
  // Stable: variants keep their order among methods of the same kind.
  const sorted = rest
    .map((m, i) => [m, i] as const)
    .toSorted((a, b) => order(a[0]) - order(b[0]) || a[1] - b[1])
    .map(([m]) => m)
  return [...(sft === undefined ? [] : [sft]), ...sorted]
}

/** A plain object's fields merged recursively over `base` (arrays and other values replace). */
export const deepMerge = (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const current = out[key]
    out[key] = isPlain(value) && isPlain(current) ? deepMerge(current, value) : value
  }
  return out
}

const isPlain = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
