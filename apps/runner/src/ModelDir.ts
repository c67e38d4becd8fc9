/**
 * Where a command's model directory is: a Hugging Face directory itself (with `config.json`), or a pipeline method
 * directory (`runs/demo/sft`) whose `result.json` points at its final checkpoint.
 */
import { Effect, FileSystem, Path, Schema } from "effect"
import { Pipeline } from "@realm-lm/pipeline"

/** Neither a model directory nor a method directory. */
export class NotAModelDir extends Schema.TaggedError<NotAModelDir>()("NotAModelDir", {
  dir: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.dir}: ${this.detail}`
  }
}

/** The model directory `dir` names. */
export const resolve = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const absolute = path.resolve(dir)
    const exists = (file: string) => fs.exists(path.join(absolute, file)).pipe(Effect.orElseSucceed(() => false))
    if (yield* exists("config.json")) return absolute
    if (!(yield* exists("result.json"))) {
      return yield* new NotAModelDir({
        dir,
        detail:
          "no config.json and no result.json here: pass a Hugging Face model directory (e.g. runs/demo/sft/final) or a method directory of a run (e.g. runs/demo/sft)"
      })
    }
    const ref = yield* Pipeline.readRef(path.join(absolute, "result.json")).pipe(
      Effect.mapError(
        (e) =>
          new NotAModelDir({
            dir,
            detail: `result.json does not name a checkpoint (${e.message}); pass the model directory itself`
          })
      )
    )
    return path.resolve(absolute, ref.path)
  })
