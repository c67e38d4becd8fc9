/**
 * The config file schema: one optional section per known component, each validated by its own schema.
 * Unknown top-level keys are rejected so that a typo (`verifer:`) fails instead of being ignored.
 */
import { Schema } from "effect"
import { RunnerConfig } from "./RunnerConfig.ts"

/** A whole config file. */
export const ConfigFileSchema = Schema.Struct({
  run: Schema.optionalKey(RunnerConfig)
})
export type ConfigFileSchema = typeof ConfigFileSchema.Type
