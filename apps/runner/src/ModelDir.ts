/**
 * Where a command's model directory is: a Hugging Face directory itself (with `config.json`), or a pipeline method
 * directory (`runs/demo/sft`) whose `result.json` points at its final checkpoint.
 */
import { Effect, FileSystem, Path, Schema } from "effect"

/** Neither a model directory nor a method directory. */
export class NotAModelDir extends Schema.TaggedError<NotAModelDir>()("NotAModelDir", { dir: Schema.String }) {
  override get message(): string {
    return `${this.dir} holds no config.json and no result.json: pass a Hugging Face model directory (e.g. runs/demo/sft/final) or a method directory of a run (e.g. runs/demo/sft)`
  }
}

const Pointer = Schema.Struct({ path: Schema.String })

/** The model directory `dir` names. */
export const resolve = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const absolute = path.resolve(dir)
    if (yield* fs.exists(path.join(absolute, "config.json")).pipe(Effect.orElseSucceed(() => false))) return absolute
    const pointer = path.join(absolute, "result.json")
    const text = yield* fs.readFileString(pointer).pipe(Effect.mapError(() => new NotAModelDir({ dir })))
    const ref = yield* Schema.decodeUnknownEffect(Schema.fromJsonString(Pointer))(text).pipe(Effect.mapError(() => new NotAModelDir({ dir })))
    return path.resolve(absolute, ref.path)
  })
