/**
 * The reasoning benchmarks in the shared data folder (GSM8K, MultiArith, AddSub, SingleEq, ASDiv, AQuA,
 * CommonsenseQA, ARC-Challenge, StrategyQA, FOLIO, LogiQA), each a preset of the generic loader: file per
 * split, format, field mapping. Formats and provenance: `shared/data/SOURCES.md` section 4.
 */
import { TaskSource } from "@realm-lm/core"
import { SharedData } from "@realm-lm/core/node"
import { Effect, Layer } from "effect"
import type { FileSystem } from "effect"
import * as Loader from "./Loader.ts"

/** Benchmark names accepted by `preset` and `layer`. */
export const names = [
  "gsm8k",
  "multiarith",
  "addsub",
  "singleeq",
  "asdiv",
  "aqua",
  "commonsenseqa",
  "arc-challenge",
  "strategyqa",
  "folio",
  "logiqa"
] as const
export type Name = (typeof names)[number]

const lSolutions = (file: string): Omit<Loader.LoaderConfigInput, "name"> => ({
  files: { test: file },
  format: "json",
  mapping: { id: "iIndex", question: "sQuestion", gold: "lSolutions", goldFormat: "first", answerType: "number" }
})

/** Files are relative to the benchmarks folder. */
const presets: Readonly<Record<Name, Omit<Loader.LoaderConfigInput, "name">>> = {
  gsm8k: {
    files: { train: "gsm8k/train.jsonl", test: "gsm8k/test.jsonl" },
    mapping: {
      question: "question",
      gold: "answer",
      goldFormat: "after-hash",
      goldSteps: "answer",
      answerType: "number"
    }
  },
  multiarith: lSolutions("multiarith/MultiArith.json"),
  addsub: lSolutions("addsub/AddSub.json"),
  singleeq: lSolutions("singleeq/questions.json"),
  asdiv: {
    files: { test: "asdiv/ASDiv.xml" },
    format: "asdiv-xml",
    mapping: {
      id: "id",
      question: "{body} {question}",
      gold: "answer",
      answerType: "auto",
      metadata: ["type", "grade", "formula"]
    }
  },
  aqua: {
    files: { test: "aqua/test.json", validation: "aqua/dev.json" },
    mapping: { question: "question", choices: { texts: "options" }, gold: "correct", answerType: "label" }
  },
  commonsenseqa: {
    // The public dev split (test labels are not public), evaluated as `test` as is customary.
    files: { test: "commonsenseqa/dev_rand_split.jsonl" },
    mapping: {
      id: "id",
      question: "question.stem",
      choices: { texts: "question.choices" },
      gold: "answerKey",
      answerType: "label"
    }
  },
  "arc-challenge": {
    files: { test: "arc-challenge/ARC-Challenge-test.jsonl" },
    mapping: {
      id: "id",
      question: "question",
      choices: { texts: "choices.text", labels: "choices.label" },
      gold: "answerKey",
      answerType: "label"
    }
  },
  strategyqa: {
    files: { test: "strategyqa/task.json" },
    format: "json",
    recordsPath: "examples",
    mapping: {
      question: "input",
      gold: "target_scores",
      goldFormat: "max-score-key",
      answerType: "label",
      labels: ["Yes", "No"]
    }
  },
  folio: {
    files: { train: "folio/folio-train.jsonl", validation: "folio/folio-validation.jsonl" },
    mapping: {
      question: "Premises:\n{premises}\nConclusion: {conclusion}\nIs the conclusion True, False or Uncertain?",
      gold: "label",
      answerType: "label",
      labels: ["True", "False", "Uncertain"],
      // folio-train.jsonl writes some Uncertain labels as "Unknown".
      goldAliases: { Unknown: "Uncertain" }
    }
  },
  logiqa: {
    files: { test: "logiqa/Test.txt", validation: "logiqa/Eval.txt" },
    format: "logiqa-txt",
    mapping: { question: "{context}\n{question}", choices: { texts: "options" }, gold: "answer", answerType: "label" }
  }
}

/** The loader config of a benchmark with its files under `benchmarksDir` (usually `<shared data>/benchmarks`). */
export const preset = (
  name: Name,
  benchmarksDir: string,
  overrides: Pick<Loader.LoaderConfigInput, "policy" | "limit"> = {}
): Loader.LoaderConfigInput => {
  const base = presets[name]
  const files = Object.fromEntries(
    Object.entries(base.files).map(([split, file]) => [split, `${benchmarksDir}/${file}`])
  )
  return { ...base, ...overrides, name, files }
}

/** The benchmarks folder of the shared data directory, if present. */
export const benchmarksDir = (): string | undefined => {
  const dir = SharedData.sharedDataDir()
  return dir === undefined ? undefined : `${dir}/benchmarks`
}

/** `TaskSource` layer for a benchmark; `dir` defaults to the shared data folder's `benchmarks/`. */
export const layer = (
  name: Name,
  options: {
    readonly dir?: string
    readonly policy?: "strict" | "lenient"
    readonly limit?: number
    readonly onSkip?: Loader.OnSkip
  } = {}
): Layer.Layer<TaskSource.TaskSource, unknown, FileSystem.FileSystem> =>
  Layer.unwrap(
    Effect.suspend(() => {
      const dir = options.dir ?? benchmarksDir()
      if (dir === undefined) {
        return Effect.fail(
          new TaskSource.TaskSourceError({
            source: name,
            detail: SharedData.missingReason("shared data folder with benchmarks/")
          })
        )
      }
      const overrides = {
        ...(options.policy === undefined ? {} : { policy: options.policy }),
        ...(options.limit === undefined ? {} : { limit: options.limit })
      }
      return Effect.succeed(Loader.layer(preset(name, dir, overrides), options.onSkip))
    })
  )
