/**
 * The built-in implementation of each slot, by name. A pipeline config picks one per slot with `use:` (a name
 * from here, or a path to the user's own module) and gives its settings with `with:`.
 */
import { EaaiConfig, Curriculum as Eaai } from "@realm-lm/eaai"
import { MrpvConfig, Verifier as Mrpv } from "@realm-lm/mrpv"
import { HttpTeacher, LocalTeacher, RuleTeacher } from "@realm-lm/corpus"
import { Answer, Arithmetic, Benchmarks, Loader, ParcelDomain } from "@realm-lm/tasks"
import { TaskSource } from "@realm-lm/core"
import { Evaluate } from "@realm-lm/evaluator"
import { PolicyTrainer as Trainer, TrainerConfig } from "@realm-lm/trainer"
import { Layer, Schema } from "effect"
import type { Implementation, Slot } from "./Implementation.ts"
import { define, erase } from "./Implementation.ts"

const NoSettings = Schema.Struct({})

/** Built-in vertical domain: parcel shipping fees under a written rulebook. */
export const parcel = define({
  slot: "tasks",
  id: "@realm-lm/tasks/parcel",
  config: ParcelDomain.ParcelConfig,
  layer: (c) => Layer.succeed(TaskSource.TaskSource, ParcelDomain.make(c))
})

/** Synthetic multi-step arithmetic word problems. */
export const arithmetic = define({
  slot: "tasks",
  id: "@realm-lm/tasks/arithmetic",
  config: Arithmetic.ArithmeticConfig,
  layer: (c) => Layer.succeed(TaskSource.TaskSource, Arithmetic.make(c))
})

/** A user's own JSONL/JSON files with a field mapping. */
export const files = define({
  slot: "tasks",
  id: "@realm-lm/tasks/files",
  config: Loader.LoaderConfig,
  layer: (c) => Loader.layer(Schema.encodeSync(Loader.LoaderConfig)(c)),
  dataFiles: (c) => Object.values(c.files),
  resolvePaths: (c, resolve) => ({ ...c, files: Object.fromEntries(Object.entries(c.files).map(([split, file]) => [split, resolve(file)])) })
})

/** A public benchmark from the shared data folder (GSM8K and the others in `benchmarks/`). */
export const benchmark = define({
  slot: "tasks",
  id: "@realm-lm/tasks/benchmark",
  config: Schema.Struct({
    name: Schema.Literals(Benchmarks.names),
    dir: Schema.optionalKey(Schema.String),
    limit: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)))
  }),
  layer: (c) => Benchmarks.layer(c.name, { ...(c.dir === undefined ? {} : { dir: c.dir }), ...(c.limit === undefined ? {} : { limit: c.limit }) }),
  dataFiles: (c) => {
    const dir = c.dir ?? Benchmarks.benchmarksDir()
    return dir === undefined ? [] : Object.values(Benchmarks.preset(c.name, dir).files)
  },
  resolvePaths: (c, resolve) => (c.dir === undefined ? c : { ...c, dir: resolve(c.dir) })
})

/** Answer extraction and comparison per answer type. */
export const answer = define({ slot: "judge", id: "@realm-lm/tasks/answer", config: NoSettings, layer: () => Answer.layer })

/** Rule teacher for the built-in domains: correct and deliberately wrong routes from step programs. */
export const rule = define({ slot: "teacher", id: "@realm-lm/corpus/rule", config: NoSettings, layer: () => RuleTeacher.layer })

/** Any OpenAI-compatible chat-completions endpoint, guided by the rulebook. */
export const http = define({ slot: "teacher", id: "@realm-lm/corpus/http", config: HttpTeacher.HttpTeacherConfig, layer: HttpTeacher.layerFetch })

/** A local Hugging Face model directory as the teacher, on ONNX Runtime. */
export const local = define({
  slot: "teacher",
  id: "@realm-lm/corpus/local",
  config: LocalTeacher.LocalTeacherConfig,
  layer: LocalTeacher.layer,
  resolvePaths: (c, resolve) => ({ ...c, model: resolve(c.model) })
})

/** MRPV verifier: multi-route prompts, verdict parsing, structured rewards. */
export const mrpv = define({ slot: "verifier", id: "@realm-lm/mrpv", config: MrpvConfig.MrpvConfig, layer: Mrpv.layerConfig })

/** EAAI curriculum: asymptotically fading external guidance with per-problem rescue. */
export const eaai = define({ slot: "curriculum", id: "@realm-lm/eaai", config: EaaiConfig.EaaiConfig, layer: Eaai.layerConfig })

/** SFT, RFT and GRPO-family RL on ONNX Runtime. */
export const onnx = define({ slot: "trainer", id: "@realm-lm/trainer", config: TrainerConfig.TrainerConfig, layer: Trainer.layerConfig })

/** Assisted and autonomous evaluation with sc@k, pass@k and bootstrap intervals. */
export const evaluator = define({ slot: "evaluator", id: "@realm-lm/evaluator", config: Evaluate.EvaluatorConfig, layer: Evaluate.layerConfig })

/** Built-in implementations per slot; the first of each slot is its default. */
export const builtins: { readonly [S in Slot]: Record<string, Implementation<S, unknown>> } = {
  tasks: { parcel: erase(parcel), arithmetic: erase(arithmetic), files: erase(files), benchmark: erase(benchmark) },
  judge: { answer: erase(answer) },
  teacher: { rule: erase(rule), http: erase(http), local: erase(local) },
  verifier: { mrpv: erase(mrpv) },
  curriculum: { eaai: erase(eaai) },
  trainer: { onnx: erase(onnx) },
  evaluator: { default: erase(evaluator) }
}
