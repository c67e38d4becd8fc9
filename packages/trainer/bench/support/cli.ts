/** Command-line flags of the trainer benches: `--name value` pairs, validated. */

/** The flags of `args` (default: this process's). */
export const flags = (args: ReadonlyArray<string> = process.argv.slice(2)) => {
  /** The value after `--name`, undefined when the flag is absent; a flag without a value is an error. */
  const option = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`)
    if (i < 0) return undefined
    const value = args[i + 1]
    if (value === undefined || value.startsWith("--")) throw new RangeError(`--${name} needs a value`)
    return value
  }
  /** A whole-number flag, `fallback` when absent. */
  const count = (name: string, fallback: number): number => {
    const v = Number(option(name) ?? fallback)
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`--${name} must be a whole number, got ${option(name)}`)
    return v
  }
  /** Whether a value-less switch `--name` is present. */
  const has = (name: string): boolean => args.includes(`--${name}`)
  /** One of `choices` (the first when the flag is absent). */
  const choice = <const C extends string>(name: string, choices: readonly [C, ...Array<C>]): C => {
    const v = option(name) ?? choices[0]
    if (!(choices as ReadonlyArray<string>).includes(v))
      throw new RangeError(`--${name} must be ${choices.join(" or ")}, got ${v}`)
    return v as C
  }
  /** The RL batch both RL benches take: `--prompts` (2) × `--group` (4) completions of `--new-tokens` (32), `--micro-batch` (4) rows, `--threads` (2). */
  const rlBatch = () => {
    const b = {
      prompts: count("prompts", 2),
      group: count("group", 4),
      newTokens: count("new-tokens", 32),
      microBatch: count("micro-batch", 4),
      threads: count("threads", 2)
    }
    if (b.prompts < 1 || b.group < 1 || b.newTokens < 1 || b.microBatch < 1 || b.threads < 1)
      throw new RangeError("--prompts, --group, --new-tokens, --micro-batch and --threads must be ≥ 1")
    return b
  }
  return { args, option, count, has, choice, rlBatch }
}
