/**
 * @realm-lm/corpus: the guided chain-of-thought distillation corpus. Teachers (rule teacher for the built-in
 * domains, OpenAI-compatible HTTP teacher), K labelled routes per problem with decisive steps, deduplication and
 * balance controls, resumable crash-safe JSONL output with a manifest, and the rules-free SFT view.
 */
export * as Alignment from "./Alignment.ts"
export * as Corpus from "./Corpus.ts"
export * as Dedup from "./Dedup.ts"
export * as HttpTeacher from "./HttpTeacher.ts"
export * as Input from "./Input.ts"
export * as LocalTeacher from "./LocalTeacher.ts"
export * as Progress from "./Progress.ts"
export * as Prompts from "./Prompts.ts"
export * as RuleTeacher from "./RuleTeacher.ts"
export * as TeacherMetrics from "./TeacherMetrics.ts"
