import { assert, describe, it } from "vitest"
import type { Problem } from "@realm-lm/core"
import * as fc from "fast-check"
import * as Answer from "../src/Answer.ts"
import { numberWords, outputs } from "../bench/outputStyles.ts"

const problem = (
  answerType: Problem.AnswerType,
  gold: string,
  labels?: ReadonlyArray<string>,
  question = "q",
  metadata: Problem.Problem["metadata"] = {}
): Problem.Problem => ({
  id: "t/1",
  domain: "t",
  question,
  gold,
  answerType,
  difficulty: 0,
  split: "test",
  metadata,
  ...(labels === undefined ? {} : { labels })
})

/** A table-driven test: `Answer.extract(p, text)` is `expected` for each `[text, expected]` row. */
const extracts = (title: string, p: Problem.Problem, rows: ReadonlyArray<readonly [string, string | undefined]>) =>
  it.each(rows)(title, (text, expected) => {
    assert.strictEqual(Answer.extract(p, text), expected)
  })

describe("Answer: numbers", () => {
  extracts("extracts %j as %s", problem("number", "0"), [
    ["Janet makes 9 * 2 = $18 every day.\n#### 18", "18"],
    ["so the total is 1,200 dollars.\n#### 1,200", "1200"],
    ["**Answer:** $12.50.", "12.5"],
    ["The answer is \\boxed{\\frac{3}{4}}", "0.75"],
    ["Final answer: −7 degrees", "-7"],
    ["Answer: 16 - 3 = 13", "13"],
    ["Step 1: base zone B = 12\nStep 2: weight 7kg +8 = 20\nAnswer: 20", "20"],
    ["Step 1: base zone B = 12\nStep 2: member -10% -1 = 11", "11"],
    ["She needs 2 1/2 cups in total. Answer: 2 1/2", "2.5"],
    ["the answer is twelve", "12"],
    ["Answer: 45%", "45"],
    ["We get 100.0 as the result", "100"],
    // Assorted real-world styles.
    ["The total cost is $1,234.56.", "1234.56"],
    ["Janet sells 9 eggs at $2 each, making $18 per day.\n\nThe answer is: **$18**", "18"],
    ["Answer: $18/day", "18"],
    ["18", "18"],
    ["The answer is 18.\n\nNote: 3 eggs are eaten.", "18"],
    ["**Final answer:** 1,200 dollars", "1200"],
    ["Answer: 18 \nExplanation: 16 - 3 - 4 = 9, 9 * 2 = 18", "18"],
    ["answer: -5", "-5"],
    ["Total: 45", "45"],
    ["The answer is 7 (seven).", "7"],
    ["Answer:\n\n42", "42"],
    ["The final answer is $\\boxed{\\dfrac{7}{2}}$", "3.5"],
    ["42 is the answer.", "42"],
    ["I am not sure.", undefined]
  ])

  it("compares numbers across formats, with rounding tolerance only for written decimals", () => {
    const p = problem("number", "1200")
    assert.isTrue(Answer.equivalent(p, "1,200", "1200.0"))
    assert.isTrue(Answer.equivalent(p, "$1,200", "1200"))
    assert.isTrue(Answer.equivalent(p, "0.33", "1/3"))
    assert.isFalse(Answer.equivalent(p, "12.5", "12.54"))
    assert.isFalse(Answer.equivalent(p, "1201", "1200"))
    assert.deepStrictEqual(Answer.judge(p, "#### 1,200"), { extracted: "1200", correct: true })
    assert.deepStrictEqual(Answer.judge(p, "no idea"), { extracted: undefined, correct: false })
  })

  it("round-trips every formatted integer and decimal (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 999 }), (n, frac) => {
        const value = n + frac / 1000
        const text = Answer.formatNumber(value)
        assert.isTrue(Answer.equivalent(problem("number", text), `The answer is ${text}.`.replace(/^.*is /, ""), text))
        assert.isBelow(Math.abs((Answer.parseNumber(text)?.value ?? NaN) - value), 5e-7)
        const grouped = n.toLocaleString("en-US")
        assert.strictEqual(Answer.extract(problem("number", "0"), `#### ${grouped}`), String(n))
      }),
      { numRuns: 300 }
    )
  })
})

describe("Answer: labels and text", () => {
  const letters = problem("label", "B", ["A", "B", "C", "D", "E"])
  extracts("extracts letter labels from %j as %s", letters, [
    ["Answer: (B) library", "B"],
    ["So the answer is b.", "B"],
    ["A revolving door ... I pick option C because", "C"],
    ["A) is wrong, B) is wrong.\nD) fits best.", "D"],
    ["A thing that is here", undefined]
  ])

  it("extracts word labels and returns them as written in the label set", () => {
    const folio = problem("label", "Uncertain", ["True", "False", "Uncertain"])
    assert.strictEqual(Answer.extract(folio, "Answer: uncertain, since nothing says so"), "Uncertain")
    assert.strictEqual(Answer.extract(folio, "It could be true, but in the end it is false"), "False")
    assert.deepStrictEqual(Answer.judge(problem("label", "No", ["Yes", "No"]), "**Answer:** No. Frost is rare."), {
      extracted: "No",
      correct: true
    })
  })

  it("normalises free text (case, punctuation, articles)", () => {
    const p = problem("text", "the purple one")
    assert.isTrue(Answer.judge(p, "Reasoning...\nAnswer: Purple one!").correct)
    assert.isTrue(Answer.equivalent(p, "Mrs. Hilt", "mrs hilt"))
    assert.isFalse(Answer.equivalent(p, "", ""))
  })
})

describe("Answer: exact numbers, number words, conclusions", () => {
  it("compares integers and decimals exactly as written; tolerance only where the problem asks for it", () => {
    const p = problem("number", "3000000")
    assert.isFalse(Answer.judge(p, "The answer is 3,000,001.").correct)
    assert.isTrue(Answer.judge(p, "The answer is 3,000,000.").correct)
    assert.isFalse(Answer.equivalent(p, "1000000.5", "1000000"))
    assert.isTrue(Answer.equivalent(p, "12.50", "12.5"))
    const loose = problem("number", "3000000", undefined, "q", { tolerance: 1e-6 })
    assert.isTrue(Answer.judge(loose, "The answer is 3,000,001.").correct)
    assert.isFalse(Answer.judge(loose, "The answer is 3,000,004.").correct)
  })

  extracts("reads number words in %j as %s", problem("number", "0"), [
    ["The answer is twenty-two.", "22"],
    ["Answer: one hundred and five", "105"],
    ["Answer: three thousand four hundred twenty-one apples", "3421"],
    ["So she has twenty-two marbles now.", "22"],
    ["Answer: minus seven", "-7"]
  ])

  extracts("takes the conclusion of %j: %s", problem("number", "0"), [
    ["Answer: After 3 days he has 51 left.", "51"],
    ["Answer: He has 51 apples left after 3 days.", "51"],
    ["Answer: 51 apples, since 3 were eaten.", "51"],
    ["Answer: In 2 hours she earns $30.", "30"],
    ["Step 1: 3 + 48 = 51\nSo he has 51 left after 3 days.", "51"],
    ["Final Answer: The final answer is 18. I hope it is correct.", "18"],
    ["Answer: 16 - 3 - 4 = 9 eggs after breakfast", "9"]
  ])

  it("keeps the parcel format's judgement: the number after `Answer:`, none for an empty cue", () => {
    const steps = "Step 1: base zone B = 12\nStep 2: weight 7kg +8 = 20"
    const p = problem("number", "20")
    assert.deepStrictEqual(Answer.judge(p, `${steps}\nAnswer: 20`), { extracted: "20", correct: true })
    assert.deepStrictEqual(Answer.judge(p, `${steps}\nAnswer: 21`), { extracted: "21", correct: false })
    assert.deepStrictEqual(Answer.judge(p, `${steps}\nAnswer:`), { extracted: undefined, correct: false })
    assert.deepStrictEqual(Answer.judge(p, steps), { extracted: "20", correct: true })
  })

  it("reads every integer written in words by an independent writer (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -999_999_999, max: 999_999_999 }), fc.boolean(), (n, and) => {
        assert.strictEqual(Answer.extract(problem("number", "0"), `The answer is ${numberWords(n, and)}.`), String(n))
      }),
      { numRuns: 500 }
    )
  })

  it("rejects any other grouped integer, however close (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 1e12 }), fc.integer({ min: -3, max: 3 }), (n, k) => {
        const text = `Answer: ${(n + k).toLocaleString("en-US")}`
        assert.strictEqual(Answer.judge(problem("number", String(n)), text).correct, k === 0)
      }),
      { numRuns: 500 }
    )
  })
})

describe("Answer: assorted real-world labels", () => {
  const csqa = problem(
    "label",
    "A",
    ["A", "B", "C", "D", "E"],
    "Where?\n(A) bank\n(B) library\n(C) department store\n(D) mall\n(E) new york"
  )
  extracts("label from %j: %s", csqa, [
    ["Answer: (C)", "C"],
    ["**Answer: C**", "C"],
    ["The answer is C) department store", "C"],
    ["Correct answer: C", "C"],
    ["C is the correct answer.", "C"],
    ["The answer must be B.", "B"],
    ["Option B is correct.", "B"],
    ["So I'd say B.", "B"],
    ["I think the answer is department store.", "C"],
    ["A bank is not a place for that. The library is.\nAnswer: B", "B"],
    ["Answer: [D]", "D"],
    ["Answer: d) mall", "D"],
    ["The answer is New York (E).", "E"],
    ["I am not sure.", undefined]
  ])
})

describe("Answer: letters and option texts", () => {
  const logic = problem(
    "label",
    "B",
    ["A", "B"],
    "Is the following statement true or false? Max is not sour.\n(A) True\n(B) False"
  )
  extracts("reads %j against options (A) True / (B) False as %s", logic, [
    ["B", "B"],
    ["The correct option is B.", "B"],
    ["Answer: False", "B"],
    ["Answer: A wumpus is a tumpus. Every tumpus is not sour, so B", "B"],
    ["The statement is false.", "B"],
    ["Answer: A) True", "A"],
    ["Answer: True", "A"],
    ["C is the correct answer.", undefined]
  ])

  it("treats a letter and its option's text as the same answer", () => {
    assert.isTrue(Answer.equivalent(logic, "False", "B"))
    assert.isTrue(Answer.equivalent(logic, "(b)", "B"))
    assert.isFalse(Answer.equivalent(logic, "True", "B"))
    assert.deepStrictEqual(Answer.judge(logic, "Answer: False"), { extracted: "B", correct: true })
  })

  const csqa = problem("label", "C", ["A", "B", "C", "D"], "Where?\n(A) bank\n(B) library\n(C) bank\n(D) 21°C room")
  it("names no option when two options share the answer's text, and reads `21°C (D)` as D", () => {
    assert.isUndefined(Answer.extract(csqa, "Answer: bank"))
    assert.strictEqual(Answer.extract(csqa, "Answer: library"), "B")
    assert.strictEqual(Answer.extract(csqa, "The answer is the 21°C room (D)."), "D")
    assert.strictEqual(Answer.extract(csqa, "A person would go to a library."), "B")
  })

  it("reads answer-first word labels (`Yes. … no …`)", () => {
    const yesNo = problem("label", "Yes", ["Yes", "No"])
    assert.strictEqual(Answer.extract(yesNo, "Yes. Frost can occur in May, and there is no rule against it."), "Yes")
    assert.strictEqual(Answer.extract(yesNo, "I would say no."), "No")
  })
})

describe("Answer: generated output styles (property)", () => {
  const judgeAll = (p: Problem.Problem, seed: number) => {
    for (const o of outputs(p, true, seed))
      assert.isTrue(Answer.judge(p, o.text).correct, `recognised [${o.style}] ${o.text}`)
    for (const o of outputs(p, false, seed))
      assert.isFalse(Answer.judge(p, o.text).correct, `rejected [${o.style}] ${o.text}`)
  }

  it("numbers: every style with the gold is recognised, every style with a wrong number rejected", () => {
    const gold = fc.oneof(
      fc.integer({ min: 0, max: 10_000_000 }).map(String),
      fc
        .tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 1, max: 99 }))
        .map(([i, f]) => `${i}.${String(f).padStart(2, "0")}`.replace(/0$/, ""))
    )
    fc.assert(
      fc.property(
        gold,
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 500 }),
        fc.boolean(),
        fc.nat(),
        (g, a, b, money, seed) => {
          const question = money
            ? `A pen costs $${a} and a book $${b}. How much does she pay?`
            : `Tom has ${a} apples and buys ${b} more. How many apples does he have?`
          judgeAll(problem("number", g, undefined, question), seed)
        }
      ),
      { numRuns: 150 }
    )
  })

  const noun = fc.constantFrom(
    "bank",
    "library",
    "mall",
    "river",
    "kitchen",
    "garden",
    "the office",
    "New York",
    "a red car",
    "12 km",
    "$4.50",
    "True",
    "False",
    "Uncertain",
    "photosynthesis",
    "it melts"
  )
  it("letters: every style naming the gold's letter or text is recognised, every style naming another option rejected", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(noun, { minLength: 2, maxLength: 5, selector: (t) => t.toLowerCase() }),
        fc.nat(),
        fc.nat(),
        (texts, at, seed) => {
          const letters = texts.map((_, i) => String.fromCharCode(65 + i))
          const question = `Which one?\n${texts.map((t, i) => `(${letters[i]}) ${t}`).join("\n")}`
          judgeAll(problem("label", letters[at % letters.length]!, letters, question), seed)
        }
      ),
      { numRuns: 150 }
    )
  })

  it("word labels: Yes/No and True/False/Uncertain in every style", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(["Yes", "No"], ["True", "False", "Uncertain"]),
        fc.nat(),
        fc.nat(),
        (labels, at, seed) => {
          judgeAll(problem("label", labels[at % labels.length]!, labels), seed)
        }
      ),
      { numRuns: 100 }
    )
  })
})
