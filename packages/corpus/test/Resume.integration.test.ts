import { assert, describe, it } from "vitest"
import type { CorpusRecord } from "@realm-lm/core"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fixtureProblems } from "./support.ts"

const child = join(import.meta.dirname, "fixtures", "build-child.ts")

/** Run the child build; with `killAfter`, SIGKILL it once that many problems are done. */
const runChild = (runDir: string, delayMs: number, killAfter?: number) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) => {
    const proc = spawn(process.execPath, [child, runDir, String(delayMs)], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const done = [...out.matchAll(/^done (\d+)/gm)].at(-1)
      if (killAfter !== undefined && done !== undefined && Number(done[1]) >= killAfter) proc.kill("SIGKILL")
    })
    proc.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()))
    proc.on("exit", (code, signal) => resolve({ code, signal, out, err }))
  })

const sortedLines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .toSorted()

describe("resume after kill -9", () => {
  it("a killed build, re-run, produces the same corpus and SFT view as an uninterrupted build", async () => {
    const root = mkdtempSync(join(tmpdir(), "realm-resume-"))
    try {
      const straight = join(root, "straight")
      const killed = join(root, "killed")
      const full = await runChild(straight, 0)
      assert.strictEqual(full.code, 0, full.err)

      const first = await runChild(killed, 15, 20)
      assert.strictEqual(first.signal, "SIGKILL")
      const partial = readFileSync(join(killed, "corpus", "corpus.jsonl"), "utf8")
      const complete = partial.split("\n").filter((l) => l.endsWith("}")).length
      assert.isAtLeast(complete, 20)
      assert.isBelow(complete, fixtureProblems.length)
      assert.isFalse(existsSync(join(killed, "corpus", "sft.jsonl")))

      const second = await runChild(killed, 0)
      assert.strictEqual(second.code, 0, second.err)
      const summary = JSON.parse(/^summary (.*)$/m.exec(second.out)?.[1] ?? "{}") as {
        resumed: number
        built: number
        records: number
      }
      assert.strictEqual(summary.resumed + summary.built, fixtureProblems.length)
      assert.isAtLeast(summary.resumed, 20)

      for (const file of ["corpus.jsonl", "sft.jsonl"]) {
        assert.deepStrictEqual(sortedLines(join(killed, "corpus", file)), sortedLines(join(straight, "corpus", file)))
      }
      const ids = sortedLines(join(killed, "corpus", "corpus.jsonl")).map(
        (l) => (JSON.parse(l) as CorpusRecord.CorpusRecord).problem.id
      )
      assert.strictEqual(new Set(ids).size, fixtureProblems.length)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
