import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Report, Summary } from "@realm-lm/evaluator"
import type { ReportData } from "@realm-lm/evaluator"
import { assert, describe, it } from "vitest"
import { hasChromium, launch, noChromiumReason } from "./support/Browser.ts"

const outcomes = (n: number, rightEvery: number) =>
  Array.from({ length: n }, (_, i) => ({
    problemId: `p${i}`,
    difficulty: 1 + (i % 3),
    split: "test",
    answers: [String(i)],
    correct: [i % rightEvery === 0]
  }))

const data: ReportData.ReportData = {
  title: "ReaLM demo <run-1>",
  generatedAt: "2026-11-22T00:00:00Z",
  provenance: "2-core CPU, ./realm demo --quick",
  results: [
    Summary.summarise(
      { method: "SFT", checkpoint: "sft", task: "parcel", split: "test", mode: "assisted" },
      outcomes(40, 2)
    ),
    Summary.summarise(
      { method: "SFT", checkpoint: "sft", task: "parcel", split: "test", mode: "autonomous" },
      outcomes(40, 4)
    ),
    Summary.summarise(
      { method: "ReaLM", checkpoint: "rl", task: "parcel", split: "test", mode: "autonomous" },
      outcomes(40, 1)
    )
  ],
  curves: [
    { name: "reward mean", points: Array.from({ length: 50 }, (_, s) => ({ step: s, value: 1 - Math.exp(-s / 15) })) },
    { name: "truth accuracy", points: Array.from({ length: 50 }, (_, s) => ({ step: s, value: 0.2 + 0.6 * (s / 50) })) }
  ],
  guidance: Array.from({ length: 50 }, (_, s) => ({ step: s, value: s < 40 ? Math.exp(-s / 10) : 0 })),
  examples: [
    {
      title: "Problem p7 </script><b>",
      prompt: "Q: zone=B weight=7\nRoute A: ...",
      completion: "Route A: wrong at step 2\nAnswer: 18",
      verdicts: [
        { route: "A", label: "negative", predicted: "wrong", namedStep: 2, decisiveStep: 2 },
        { route: "B", label: "positive", predicted: "wrong" }
      ],
      reward: 0.75,
      correct: true
    }
  ]
}

describe.skipIf(!hasChromium)(`report in headless Chromium${hasChromium ? "" : ` (${noChromiumReason})`}`, () => {
  it("renders without console errors, shows the results table and draws both charts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "realm-report-"))
    const file = join(dir, "report.html")
    writeFileSync(file, Report.renderHtml(data))
    const browser = await launch()
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } })
      const errors: Array<string> = []
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()))
      page.on("pageerror", (e) => errors.push(e.message))
      const requests: Array<string> = []
      page.on("request", (r) => !r.url().startsWith("file:") && requests.push(r.url()))
      await page.goto(pathToFileURL(file).href)
      await page.waitForSelector("body[data-rendered=true]", { timeout: 15_000 })
      assert.deepStrictEqual(errors, [])
      assert.deepStrictEqual(requests, []) // self-contained: nothing fetched
      const cell = page.locator('td[data-method="ReaLM"][data-mode="autonomous"]')
      assert.match((await cell.textContent()) ?? "", /^100\.0 \[100\.0, 100\.0\]$/)
      assert.strictEqual(
        await page.locator('td[data-method="SFT"][data-mode="assisted"]').getAttribute("data-value"),
        "0.5"
      )
      assert.strictEqual(await page.locator("#results tbody tr").count(), 2)
      // Both canvases have drawn pixels (a blank canvas has none).
      const inked = await page.evaluate(() =>
        ["curves", "guidance"].map((id) => {
          const c = document.getElementById(id) as HTMLCanvasElement
          const px = c.getContext("2d")?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray()
          let n = 0
          for (let i = 3; i < px.length; i += 4) if ((px[i] ?? 0) > 0) n++
          return n
        })
      )
      for (const n of inked) assert.isAbove(n, 2000)
      // Text from the data is escaped, not interpreted as markup.
      assert.include(await page.locator('[data-testid="example-0"] h3').textContent(), "</script><b>")
      const shot = await page.screenshot({ path: join(dir, "report.png"), fullPage: true })
      assert.isAbove(shot.length, 20_000)
    } finally {
      await browser.close()
    }
  })
})
