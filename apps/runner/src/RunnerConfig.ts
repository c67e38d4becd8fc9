/**
 * The runner's own settings (`run:` section of a config file): seed, run directory, device and threads.
 * Stage sections are validated by the schemas their packages export, registered in `Sections.ts`.
 */
import { Schema } from "effect"

/** `run:` section. */
export const RunnerConfig = Schema.Struct({
  /** Root seed for every random choice in the run (integer, default 0). */
  seed: Schema.optionalKey(Schema.Int),
  /** Directory where stages write artifacts and manifests (default `runs/<name>`). */
  runDir: Schema.optionalKey(Schema.String),
  /** Execution device for ONNX Runtime (default `cpu`). */
  device: Schema.optionalKey(Schema.Literals(["cpu", "webgpu", "cuda"])),
  /** CPU threads for ONNX Runtime; 0 = one per physical core (default 0). */
  threads: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})
export type RunnerConfig = typeof RunnerConfig.Type
