/**
 * What every phase shares: opening a run (resume from the newest verified checkpoint or start clean), the engine
 * with restored optimizer state, metrics sinks, checkpoint writing with rotation, and the step loop that stops
 * only at step boundaries: each step (with its metrics line and periodic checkpoint) is uninterruptible, and an
 * interrupt between steps writes a checkpoint before the run ends.
 */
import type { Checkpoint as CoreCheckpoint, PolicyTrainer } from "@realm-lm/core"
import { Rng } from "@realm-lm/core"
import { Hash } from "@realm-lm/core/node"
import { Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError, Scope } from "effect"
import * as Checkpoint from "../Checkpoint.ts"
import * as Metrics from "../Metrics.ts"
import * as Progress from "../Progress.ts"
import type { TrainerConfig } from "../TrainerConfig.ts"
import { bestMaximize, TrainerConfig as TrainerConfigSchema } from "../TrainerConfig.ts"
import type { CheckpointCorrupted, CheckpointMismatch, Phase } from "../TrainerErrors.ts"
import { EngineFailed } from "../TrainerErrors.ts"
import * as Engine from "./engine.ts"

/** A phase's entry point: trains from `request` under `config` and returns the final checkpoint; `R` is what it needs besides files. */
export type Train<E, R> = (
  request: PolicyTrainer.TrainRequest,
  config: TrainerConfig
) => Effect.Effect<CoreCheckpoint.CheckpointRef, E, R | FileSystem.FileSystem | Path.Path>

/** Name of the final checkpoint directory inside `outDir`. */
export const finalDir = "final"

/** A phase's state at a step boundary, as saved in a checkpoint. */
export interface Snapshot {
  readonly step: number
  readonly data: Schema.Json
  readonly curriculum?: Schema.Json
  readonly metrics: Readonly<Record<string, number>>
  readonly counters: Readonly<Record<string, number>>
}

/** An open run. */
export interface Run {
  readonly phase: Phase
  readonly request: PolicyTrainer.TrainRequest
  readonly config: TrainerConfig
  readonly engine: Engine.Engine
  /** The checkpoint resumed from, if any. */
  readonly resumed: Checkpoint.Loaded | undefined
  readonly metrics: Metrics.MetricsWriter
  /** Write a periodic checkpoint (`final: false`, rotated) or the final one (`<outDir>/final`). */
  readonly checkpoint: (snapshot: Snapshot, final: boolean) => Effect.Effect<string, EngineFailed>
}

/** Root RNG streams recorded in checkpoints (every draw is derived from these by path, so they never advance). */
export const rootStreams = (seed: number): Record<string, Rng.Rng> => ({
  data: Rng.Rng.make(seed, "data"),
  sample: Rng.Rng.make(seed, "sample")
})

/** `section` without the keys whose value is the one in `defaults` (keys later versions added; they change nothing). */
const withoutDefaults = (section: unknown, defaults: Readonly<Record<string, unknown>>): unknown =>
  typeof section !== "object" || section === null
    ? section
    : Object.fromEntries(
        Object.entries(section).filter(([key, value]) => !(key in defaults && defaults[key] === value))
      )

/** A supervised section without the warm-start keys at their defaults that later versions added. */
const withoutNewDefaults = (section: unknown): unknown => {
  if (typeof section !== "object" || section === null) return section
  const s = section as { readonly warmStart?: unknown }
  return s.warmStart === undefined
    ? section
    : { ...s, warmStart: withoutDefaults(s.warmStart, { emphasis: 1, drills: 0 }) }
}

/** The part of the config a resumed run must share with the run it continues (its hash is the compatibility key). */
export const compatibleConfig = (config: TrainerConfig, phase: Phase): unknown => {
  const encoded = Schema.encodeSync(TrainerConfigSchema)(config)
  // Written as before the default token budget followed the vocabulary (it was 4096), so earlier checkpoints resume;
  // the logits memory budget only changes how a step is cut into micro-batches, not what it computes.
  const { logitsMemoryMB: _memory, ...batching } = encoded.batching ?? {}
  return {
    seed: encoded.seed,
    optimizer: encoded.optimizer,
    batching: { ...batching, microBatchTokens: batching.microBatchTokens ?? 4096 },
    generation: phase === "sft" ? undefined : encoded.generation,
    // Checkpoints written before `warmStart.emphasis`, `warmStart.drills` and `rl.routeTraces` existed resume with them
    // at their defaults.
    [phase]:
      phase === "sft"
        ? withoutNewDefaults(encoded.sft)
        : phase === "rft"
          ? { ...encoded.rft, train: withoutNewDefaults(encoded.rft?.train) }
          : withoutDefaults(encoded.rl, { routeTraces: false }),
    // Only present with LoRA, so the checkpoints of full fine-tuning runs keep their hash.
    ...(encoded.lora === undefined ? {} : { lora: encoded.lora })
  }
}

/** JSON has no NaN: non-finite metrics (e.g. an accuracy over no samples) are left out of saved state. */
const finiteOnly = (values: Readonly<Record<string, number>>): Record<string, number> =>
  Object.fromEntries(Object.entries(values).filter(([, v]) => Number.isFinite(v)))

const platform = (operation: string) => (e: PlatformError.PlatformError) =>
  new EngineFailed({ operation, detail: e.message })

/** Open a run: resume or clean start, engine, metrics. */
export const open = (
  phase: Phase,
  request: PolicyTrainer.TrainRequest,
  config: TrainerConfig,
  objective: Engine.Objective
): Effect.Effect<
  Run,
  EngineFailed | CheckpointCorrupted | CheckpointMismatch,
  FileSystem.FileSystem | Path.Path | Scope.Scope
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const corpusHash = (yield* Hash.hashFile(request.corpus).pipe(Effect.mapError(platform("read corpus")))).sha256
    const configHash = Hash.hashJson({ phase, config: compatibleConfig(config, phase), corpus: corpusHash })
    let resumed: Checkpoint.Loaded | undefined
    if (request.resume) {
      resumed = yield* Checkpoint.latest(request.outDir).pipe(
        Effect.mapError((e) => (e._tag === "PlatformError" ? platform("list checkpoints")(e) : e))
      )
      if (resumed !== undefined) yield* Checkpoint.checkCompatible(resumed, phase, configHash)
    }
    if (resumed === undefined) {
      yield* fs
        .remove(path.join(request.outDir, Checkpoint.checkpointsDir), { recursive: true, force: true })
        .pipe(Effect.mapError(platform("clean outDir")))
      yield* fs
        .remove(path.join(request.outDir, finalDir), { recursive: true, force: true })
        .pipe(Effect.mapError(platform("clean outDir")))
    }
    const engine = yield* Engine.make(
      { init: request.init, ...(resumed === undefined ? {} : { weightsFrom: resumed.dir }) },
      config.runtime,
      config.optimizer,
      objective,
      config.memory,
      config.lora === undefined ? undefined : { settings: config.lora, seed: config.seed }
    )
    if (resumed !== undefined) {
      const slots = yield* resumed.optimizer.pipe(
        Effect.mapError((e) =>
          e._tag === "PlatformError"
            ? platform("read optimizer state")(e)
            : new EngineFailed({ operation: "read optimizer state", detail: e.message })
        )
      )
      engine.restoreOptimizer(slots, resumed.state.optimizerStep)
    }
    const metrics = yield* Metrics.open(request.outDir, phase, {
      keepThrough: resumed?.state.step,
      tensorboard: config.log.tensorboard
    }).pipe(Effect.mapError(platform("open metrics")))
    const streams = rootStreams(config.seed)
    const services = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const checkpoint = (snapshot: Snapshot, final: boolean): Effect.Effect<string, EngineFailed> =>
      Effect.gen(function* () {
        const dir = final
          ? path.join(request.outDir, finalDir)
          : path.join(request.outDir, Checkpoint.checkpointsDir, Checkpoint.stepName(snapshot.step))
        const onnx = config.checkpoint.onnx === "every" || (final && config.checkpoint.onnx === "final")
        const optimizer = yield* engine.optimizerSlots
        yield* Checkpoint.write(
          dir,
          {
            phase,
            step: snapshot.step,
            optimizerStep: engine.trainer().steps(),
            totalSteps: 0,
            configHash,
            config: Schema.encodeSync(TrainerConfigSchema)(config) as Schema.Json,
            data: snapshot.data,
            rng: Checkpoint.rngStates(streams),
            ...(snapshot.curriculum === undefined ? {} : { curriculum: snapshot.curriculum }),
            metrics: finiteOnly(snapshot.metrics),
            counters: finiteOnly(snapshot.counters),
            optimizer
          },
          (tmp) => Engine.save(engine, tmp, { tokenizerDir: request.init, onnx, baseModel: request.init })
        ).pipe(
          Effect.mapError((e) =>
            e._tag === "EngineFailed"
              ? e
              : new EngineFailed({ operation: "save checkpoint", detail: `${e._tag}: ${e.message}` })
          )
        )
        if (!final) {
          yield* Checkpoint.rotate(
            request.outDir,
            { dir, step: snapshot.step, metrics: snapshot.metrics },
            {
              keepLast: config.checkpoint.keepLast,
              bestMetric: config.checkpoint.bestMetric,
              maximize: bestMaximize(config.checkpoint)
            }
          ).pipe(Effect.mapError(platform("rotate checkpoints")))
        }
        return dir
      }).pipe(Effect.provideContext(services))
    return { phase, request, config, engine, resumed, metrics, checkpoint }
  })

/** How a phase takes steps. */
export interface Stepper<E, R> {
  readonly total: number
  /** Progress label, e.g. `sft`. */
  readonly label: string
  /** Take step `step` (1-based), mutating the phase's state; returns the step's metrics. */
  readonly step: (step: number) => Effect.Effect<Record<string, number>, E, R>
  /** The phase's state after `step` completed steps. */
  readonly snapshot: (step: number, metrics: Readonly<Record<string, number>>) => Effect.Effect<Snapshot>
  /** Metric names shown in the progress detail line. */
  readonly detailKeys: ReadonlyArray<string>
}

/**
 * Run steps from the resumed step to `total`, checkpointing every `checkpoint.every` steps, on interrupt (at a
 * step boundary) and at the end. Returns the final checkpoint's reference.
 */
export const loop = <E, R>(
  run: Run,
  stepper: Stepper<E, R>
): Effect.Effect<CoreCheckpoint.CheckpointRef, E | EngineFailed, R> =>
  Effect.gen(function* () {
    const start = run.resumed?.state.step ?? 0
    let done = start
    let last: Record<string, number> = { ...run.resumed?.state.metrics }
    let saved = start
    const every = run.config.checkpoint.every
    const one = Effect.gen(function* () {
      // The process's peak resident memory so far (MiB): what a run at a real size needs from the machine.
      const metrics = { ...(yield* stepper.step(done + 1)), peak_rss_mib: process.resourceUsage().maxRSS / 1024 }
      done += 1
      last = metrics
      yield* Effect.mapError(run.metrics.write(done, metrics), platform("write metrics"))
      yield* Progress.report({
        phase: run.phase,
        label: stepper.label,
        done,
        total: stepper.total,
        detail: Progress.detail(metrics, stepper.detailKeys),
        metrics
      })
      if (every > 0 && done % every === 0) {
        yield* run.checkpoint(yield* stepper.snapshot(done, metrics), false)
        saved = done
      }
    })
    const body = Effect.gen(function* () {
      while (done < stepper.total) yield* Effect.uninterruptible(one)
    })
    yield* body.pipe(
      Effect.onInterrupt(() =>
        done > saved
          ? Effect.flatMap(stepper.snapshot(done, last), (s) => Effect.asVoid(run.checkpoint(s, false))).pipe(
              Effect.catch((e) => Effect.logError(`checkpoint on interrupt failed: ${e.message}`))
            )
          : Effect.void
      )
    )
    const snapshot = yield* stepper.snapshot(done, last)
    if (done > saved) yield* run.checkpoint(snapshot, false)
    const path = yield* run.checkpoint(snapshot, true)
    return { path, kind: run.phase, step: done, metrics: finiteOnly(last) }
  })
