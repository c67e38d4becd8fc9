/**
 * Realistic model outputs for a problem, to measure the answer judge: about twenty ways a model states a final
 * answer (cue lines, bold, `\boxed{}`, number words, units and currency, a conclusion after a cue, option letters
 * and option texts), each rendered once with the gold answer (the judge must recognise it) and once with a
 * plausible wrong answer (the judge must reject it). Used by `bench/judging.ts` and the judge's property tests.
 * The templates are written from what models print, not from what the judge parses.
 */
import { Rng } from "@realm-lm/core"
import type { AnswerJudge, Problem } from "@realm-lm/core"

/** One generated output and the name of its style. */
export interface Output {
  readonly style: string
  readonly text: string
}

const ONES = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen"
]
const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

const under100 = (n: number): string =>
  n < 20 ? ONES[n]! : `${TENS[Math.floor(n / 10)]}${n % 10 === 0 ? "" : `-${ONES[n % 10]}`}`
const under1000 = (n: number, and: boolean): string =>
  n < 100
    ? under100(n)
    : `${ONES[Math.floor(n / 100)]} hundred${n % 100 === 0 ? "" : `${and ? " and " : " "}${under100(n % 100)}`}`

/** English words for an integer below a billion: `22` → `twenty-two`, `105` → `one hundred (and) five`. */
export const numberWords = (n: number, and = false): string => {
  if (n < 0) return `minus ${numberWords(-n, and)}`
  if (n < 1000) return under1000(n, and)
  const parts: Array<string> = []
  for (const [scale, name] of [
    [1e6, "million"],
    [1e3, "thousand"]
  ] as const) {
    const chunk = Math.floor(n / scale) % 1000
    if (chunk > 0) parts.push(`${under1000(chunk, and)} ${name}`)
  }
  const rest = n % 1000
  if (rest > 0) parts.push(rest < 100 && and ? `and ${under100(rest)}` : under1000(rest, and))
  return parts.join(" ")
}

const pick = <A>(rng: Rng.Rng, xs: ReadonlyArray<A>): A => xs[rng.int(xs.length)]!

const decimalsOf = (text: string): number => (text.includes(".") ? text.length - text.indexOf(".") - 1 : 0)

/** A number as written with `decimals` places (never exponent notation). */
const fixed = (value: number, decimals: number): string => value.toFixed(Math.min(decimals, 10))

const grouped = (value: number, decimals: number): string =>
  value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals })

/** Numbers written with digits in a text (thousands separators removed). */
const digitNumbers = (text: string): Array<number> =>
  [...text.replace(/(\d),(\d{3})/g, "$1$2").matchAll(/\d+(?:\.\d+)?/g)].map((m) => Number(m[0]))

/** The `(A) text` / `A)text` / `A. text` option lines of a question. */
export const optionsOf = (question: string): Array<{ readonly label: string; readonly text: string }> =>
  [...question.matchAll(/^\s*\(?([A-Z])(?:\)|\.\s)\s*(.+?)\s*$/gm)].map((m) => ({
    label: m[1]!,
    text: m[2]!
  }))

interface NumberView {
  readonly plain: string
  readonly group: string
  readonly money: string
  readonly words: string
  readonly latex: string
}

const numberView = (rng: Rng.Rng, value: number, decimals: number, currency: boolean): NumberView => {
  const plain = fixed(value, decimals)
  const group = grouped(value, decimals)
  const cents = currency && decimals > 0 && decimals <= 2
  const money = currency ? `${value < 0 ? "-" : ""}$${grouped(Math.abs(value), cents ? 2 : decimals)}` : group
  const words = Number.isInteger(value) && Math.abs(value) < 1e9 ? numberWords(value, rng.bernoulli(0.3)) : group
  const latex = `${currency ? "\\$" : ""}${rng.bernoulli(0.5) ? group.replace(/,/g, "{,}") : plain}`
  return { plain, group, money, words, latex }
}

const unitOf = (question: string): string => /how many ([a-z]+)/i.exec(question)?.[1]?.toLowerCase() ?? ""

const numberTemplates: ReadonlyArray<
  readonly [
    string,
    (c: {
      readonly r: string
      readonly n: NumberView
      readonly unit: string
      readonly ctx: string
      readonly rest: string
      readonly subject: string
    }) => string
  ]
> = [
  ["answer-line", (c) => `${c.r}\nAnswer: ${c.n.plain}`],
  ["answer-is", (c) => `${c.r}\nThe answer is ${c.n.group}.`],
  ["hash", (c) => `${c.r}\n#### ${c.n.plain}`],
  ["boxed", (c) => `${c.r}\nThe final answer is $\\boxed{${c.n.latex}}$.`],
  ["bold-cue", (c) => `${c.r}\n**Answer:** ${c.n.money}`],
  ["bold-number", (c) => `${c.r}\nSo the answer is **${c.n.group}**.`],
  ["conclusion-no-cue", (c) => `${c.r}\nTherefore, the result is ${c.n.money}${c.unit === "" ? "" : ` ${c.unit}`}.`],
  [
    "cue-context-first",
    (c) => `${c.r}\nAnswer: After ${c.ctx} days ${c.subject} has ${c.n.group}${c.unit === "" ? "" : ` ${c.unit}`} left.`
  ],
  [
    "cue-context-after",
    (c) =>
      `${c.r}\nAnswer: ${c.subject === "she" ? "She" : "He"} ends up with ${c.n.group}${c.unit === "" ? "" : ` ${c.unit}`} after ${c.ctx} days.`
  ],
  ["units", (c) => `${c.r}\nAnswer: ${c.n.group}${c.unit === "" ? " units" : ` ${c.unit}`}`],
  ["currency", (c) => `${c.r}\nFinal answer: ${c.n.money}`],
  ["words", (c) => `${c.r}\nThe answer is ${c.n.words}.`],
  ["digits-and-words", (c) => `${c.r}\nThus, the answer is ${c.n.group} (${c.n.words}).`],
  ["answer-first", (c) => `Answer: ${c.n.money}\n\nExplanation:\n${c.r}`],
  ["equation-no-cue", (c) => `${c.r}\nTotal = ${c.ctx} + ${c.rest} = ${c.n.plain}`],
  ["cue-equation", (c) => `${c.r}\nAnswer: ${c.ctx} + ${c.rest} = ${c.n.plain}`],
  ["bold-line", (c) => `${c.r}\n\n**${c.n.money}**`],
  ["so-total", (c) => `${c.r}\nSo in total it comes to ${c.n.money}.`],
  ["heading", (c) => `${c.r}\n\n### Final Answer\n${c.n.money}`],
  ["cue-then-reason", (c) => `${c.r}\nThe answer is ${c.n.group}, since ${c.ctx} of them were counted already.`]
]

const letterTemplates: ReadonlyArray<
  readonly [string, (c: { readonly r: string; readonly label: string; readonly text: string }) => string]
> = [
  ["answer-line", (c) => `${c.r}\nAnswer: ${c.label}`],
  ["answer-is-parens", (c) => `${c.r}\nThe answer is (${c.label}).`],
  ["bold-letter", (c) => `${c.r}\n\n**${c.label}**`],
  ["boxed", (c) => `${c.r}\n$\\boxed{${c.label}}$`],
  ["so-letter", (c) => `${c.r}\nThe other options do not fit, so ${c.label}.`],
  ["correct-option-is", (c) => `${c.r}\nThe correct option is ${c.label}.`],
  ["option-text", (c) => `${c.r}\nAnswer: ${c.text}`],
  ["parens-and-text", (c) => `${c.r}\nAnswer: (${c.label}) ${c.text}`],
  ["bare-letter", (c) => `${c.r}\n${c.label}`],
  ["letter-colon-text", (c) => `${c.r}\nThe answer is ${c.label}: ${c.text}.`],
  ["article-then-letter", (c) => `${c.r}\nAnswer: A careful look at each option settles it, so ${c.label}.`],
  ["correct-choice-text", (c) => `${c.r}\nThe correct choice is "${c.text}".`],
  ["choose-option", (c) => `${c.r}\nI choose option ${c.label}.`],
  ["lowercase", (c) => `${c.r}\nanswer: ${c.label.toLowerCase()}`],
  ["letter-dot-text", (c) => `${c.r}\n${c.label}. ${c.text}`],
  ["text-then-letter", (c) => `${c.r}\nThe answer is ${c.text} (${c.label}).`],
  ["therefore", (c) => `${c.r}\nTherefore, the answer is ${c.label}.`],
  ["final-letter-paren-text", (c) => `${c.r}\nFinal answer: ${c.label}) ${c.text}`],
  ["hash", (c) => `${c.r}\n#### ${c.label}`],
  [
    "best-because",
    (c) => `${c.r}\nThe best answer is ${c.label} because it is the only option consistent with the question.`
  ]
]

const wordTemplates: ReadonlyArray<readonly [string, (c: { readonly r: string; readonly label: string }) => string]> = [
  ["answer-line", (c) => `${c.r}\nAnswer: ${c.label}`],
  ["answer-is-lower", (c) => `${c.r}\nThe answer is ${c.label.toLowerCase()}.`],
  ["bold", (c) => `${c.r}\n\n**${c.label}**`],
  ["boxed", (c) => `${c.r}\n$\\boxed{\\text{${c.label}}}$`],
  ["so-answer", (c) => `${c.r}\nSo the answer is ${c.label}.`],
  ["bare", (c) => `${c.r}\n${c.label}.`],
  ["therefore", (c) => `${c.r}\nTherefore, it is ${c.label.toLowerCase()}.`],
  ["final", (c) => `${c.r}\nFinal answer: ${c.label}`],
  ["hash", (c) => `${c.r}\n#### ${c.label}`],
  ["bold-cue-reason", (c) => `${c.r}\n**Answer:** ${c.label}, because that is what the facts above support.`],
  ["answer-first", (c) => `Answer: ${c.label}\nReason: ${c.r}`],
  ["my-answer", (c) => `${c.r}\nMy answer is ${c.label}.`],
  ["so-lower", (c) => `${c.r}\nSo, ${c.label.toLowerCase()}.`],
  ["the-answer-colon", (c) => `${c.r}\nThe answer: ${c.label}.`],
  ["quoted", (c) => `${c.r}\nThe final answer is "${c.label}".`],
  ["final-bold", (c) => `${c.r}\nFinal answer: **${c.label}**`]
]

const textTemplates: ReadonlyArray<readonly [string, (c: { readonly r: string; readonly answer: string }) => string]> =
  [
    ["answer-line", (c) => `${c.r}\nAnswer: ${c.answer}`],
    ["answer-is", (c) => `${c.r}\nThe answer is ${c.answer.replace(/\.$/, "")}.`],
    ["bold", (c) => `${c.r}\n\n**${c.answer}**`],
    ["boxed", (c) => `${c.r}\n$\\boxed{\\text{${c.answer}}}$`],
    ["final", (c) => `${c.r}\nFinal answer: ${c.answer}`],
    ["hash", (c) => `${c.r}\n#### ${c.answer}`],
    ["bare", (c) => `${c.r}\n${c.answer}`],
    ["bold-cue", (c) => `${c.r}\n**Answer:** ${c.answer}`]
  ]

/** Which kind of output the generator writes for a problem. */
export type Kind = "number" | "letter" | "word" | "text"

/** The kind of a problem: letters when its labels are single letters with options in the question. */
export const kindOf = (problem: Problem.Problem): Kind => {
  if (problem.answerType === "number") return "number"
  if (problem.answerType === "text") return "text"
  return (problem.labels ?? []).every((l) => l.length === 1) && optionsOf(problem.question).length > 0
    ? "letter"
    : "word"
}

/** Wrong numbers near the gold the way models miss: off by one or ten, doubled, halved, a number of the question. */
const wrongNumber = (rng: Rng.Rng, gold: number, decimals: number, question: string): number => {
  const step = decimals > 0 ? 10 ** -decimals : 1
  const context = digitNumbers(question).filter((x) => x !== gold)
  const candidates = [
    gold + step,
    gold - step,
    gold + 10 * step,
    gold + 1,
    gold * 2,
    Math.round(gold / 2),
    ...context.slice(0, 3)
  ]
    .map((x) => Number(x.toFixed(Math.min(decimals, 10))))
    .filter((x) => x !== gold && Number.isFinite(x))
  return pick(rng, candidates.length > 0 ? candidates : [gold + 1])
}

const numberReasoning = (rng: Rng.Rng, problem: Problem.Problem, correct: boolean, gold: number): string => {
  const steps = problem.goldSteps ?? []
  if (steps.length > 0) return (correct ? steps : steps.slice(0, -1)).join("\n") || "Let me think step by step."
  const xs = digitNumbers(problem.question).slice(0, 3)
  const a = xs[0] ?? 3
  const b = xs[1] ?? 4
  const lines = [
    `The question gives ${xs.join(", ") || "a few numbers"}.`,
    `${a} + ${b} = ${Number((a + b).toFixed(6))}.`
  ]
  // Wrong outputs sometimes pass through the gold value before concluding something else.
  if (!correct && rng.bernoulli(0.3)) lines.push(`At first I got ${gold}, but that counts one part twice.`)
  return lines.join("\n")
}

const numberOutputs = (rng: Rng.Rng, problem: Problem.Problem, correct: boolean): Array<Output> => {
  const gold = Number(problem.gold)
  const decimals = decimalsOf(problem.gold)
  const currency = /\$|dollar|cents?\b/i.test(problem.question)
  const unit = currency ? "" : unitOf(problem.question)
  const subject = pick(rng, ["he", "she"])
  return numberTemplates.map(([style, render]) => {
    const value = correct ? gold : wrongNumber(rng, gold, decimals, problem.question)
    const context = digitNumbers(problem.question).filter((x) => x !== value && Number.isInteger(x))
    const ctx = context.length > 0 ? pick(rng, context) : 3
    const n = numberView(rng, value, decimals, currency)
    const rest = fixed(value - ctx, Math.max(decimals, 0))
    return {
      style,
      text: render({ r: numberReasoning(rng, problem, correct, gold), n, unit, ctx: String(ctx), rest, subject })
    }
  })
}

const letterOutputs = (rng: Rng.Rng, problem: Problem.Problem, correct: boolean): Array<Output> => {
  const options = optionsOf(problem.question)
  const others = options.filter((o) => o.label !== problem.gold)
  return letterTemplates.map(([style, render]) => {
    const chosen = correct ? options.find((o) => o.label === problem.gold) : pick(rng, others)
    const label = chosen?.label ?? problem.gold
    const rest = options.filter((o) => o.label !== label)
    const a = rest.length > 0 ? pick(rng, rest) : undefined
    const b = rest.length > 0 ? pick(rng, rest) : undefined
    // Reasoning that names the options it rules out, the way models compare choices.
    const r =
      a === undefined || b === undefined
        ? "Let's look at the options."
        : `Let's check each option.\n(${a.label}) ${a.text.replace(/\.$/, "")} does not fit the question.\nOption ${b.label} is also unlikely.`
    return { style, text: render({ r, label, text: (chosen?.text ?? label).replace(/\.$/, "") }) }
  })
}

const wordOutputs = (rng: Rng.Rng, problem: Problem.Problem, correct: boolean): Array<Output> => {
  const labels = problem.labels ?? []
  const others = labels.filter((l) => l !== problem.gold)
  return wordTemplates.map(([style, render]) => {
    const label = correct ? problem.gold : pick(rng, others.length > 0 ? others : [problem.gold])
    const rest = labels.filter((l) => l !== label)
    const other = rest.length > 0 ? pick(rng, rest) : undefined
    // Reasoning that mentions another label before concluding ("one might say yes, but ...").
    const r = `Let's reason step by step.\nAt first glance one might say ${(other ?? "otherwise").toLowerCase()}, but the details matter.\nChecking the facts one by one settles it.`
    return { style, text: render({ r, label }) }
  })
}

const wrongText = (rng: Rng.Rng, gold: string): string => {
  if (/\d/.test(gold)) return gold.replace(/\d/, (d) => String((Number(d) + 1 + rng.int(8)) % 10))
  if (/^(yes|no)$/i.test(gold)) return /^yes$/i.test(gold) ? "No" : "Yes"
  return pick(
    rng,
    ["Nobody", "Blue", "Tuesday", "The red one", "Mr. Brown"].filter((t) => t.toLowerCase() !== gold.toLowerCase())
  )
}

const textOutputs = (rng: Rng.Rng, problem: Problem.Problem, correct: boolean): Array<Output> =>
  textTemplates.map(([style, render]) => ({
    style,
    text: render({
      r: "Let's work through the problem step by step.",
      answer: correct ? problem.gold : wrongText(rng, problem.gold)
    })
  }))

/**
 * About twenty outputs for a problem in different styles: with the gold answer when `correct`, else each with a
 * plausible wrong answer. Deterministic in `seed` and the problem id.
 */
export const outputs = (problem: Problem.Problem, correct: boolean, seed: number = 0): Array<Output> => {
  const rng = Rng.Rng.make(seed, "output-styles", problem.id, correct ? "correct" : "wrong")
  switch (kindOf(problem)) {
    case "number":
      return numberOutputs(rng, problem, correct)
    case "letter":
      return letterOutputs(rng, problem, correct)
    case "word":
      return wordOutputs(rng, problem, correct)
    case "text":
      return textOutputs(rng, problem, correct)
  }
}

/** The same problem as a multiple-choice question: its word labels become options `(A) True`, `(B) False`, … */
export const asOptions = (problem: Problem.Problem): Problem.Problem => {
  const labels = problem.labels ?? []
  const letters = labels.map((_, i) => String.fromCharCode(65 + i))
  const gold = letters[labels.indexOf(problem.gold)] ?? problem.gold
  return {
    ...problem,
    id: `${problem.id}/options`,
    question: `${problem.question}\n${labels.map((l, i) => `(${letters[i]}) ${l}`).join("\n")}`,
    gold,
    labels: letters
  }
}

/** Recognised and rejected counts of a judge over every problem's generated outputs. */
export interface Rates {
  readonly correctOutputs: number
  readonly recognised: number
  readonly wrongOutputs: number
  readonly rejected: number
  /** `missed:<style>` (a correct output not recognised) and `accepted:<style>` (a wrong one accepted) counts. */
  readonly failingStyles: Record<string, number>
}

/** Judge every generated output of every problem; `onFailure` sees each miss and each false acceptance. */
export const rates = (
  problems: Iterable<Problem.Problem>,
  judge: (problem: Problem.Problem, text: string) => AnswerJudge.Judgement,
  onFailure: (
    kind: "missed" | "accepted",
    problem: Problem.Problem,
    output: Output,
    extracted: string | undefined
  ) => void = () => {}
): Rates => {
  let correctOutputs = 0
  let recognised = 0
  let wrongOutputs = 0
  let rejected = 0
  const failingStyles: Record<string, number> = {}
  const fail = (
    kind: "missed" | "accepted",
    problem: Problem.Problem,
    output: Output,
    extracted: string | undefined
  ) => {
    failingStyles[`${kind}:${output.style}`] = (failingStyles[`${kind}:${output.style}`] ?? 0) + 1
    onFailure(kind, problem, output, extracted)
  }
  for (const problem of problems) {
    for (const output of outputs(problem, true)) {
      correctOutputs++
      const j = judge(problem, output.text)
      if (j.correct) recognised++
      else fail("missed", problem, output, j.extracted)
    }
    for (const output of outputs(problem, false)) {
      wrongOutputs++
      const j = judge(problem, output.text)
      if (!j.correct) rejected++
      else fail("accepted", problem, output, j.extracted)
    }
  }
  return { correctOutputs, recognised, wrongOutputs, rejected, failingStyles }
}
