import { describe, expect, it } from "vitest"
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
      expect(full.code, full.err).toBe(0)

      const first = await runChild(killed, 15, 20)
      expect(first.signal).toBe("SIGKILL")
      const partial = readFileSync(join(killed, "corpus", "corpus.jsonl"), "utf8")
      const complete = partial.split("\n").filter((l) => l.endsWith("}")).length
      expect(complete).toBeGreaterThanOrEqual(20)
      expect(complete).toBeLessThan(fixtureProblems.length)
      expect(existsSync(join(killed, "corpus", "sft.jsonl"))).toBe(false)

      const second = await runChild(killed, 0)
      expect(second.code, second.err).toBe(0)
      const summary = JSON.parse(/^summary (.*)$/m.exec(second.out)?.[1] ?? "{}") as {
        resumed: number
        built: number
        records: number
      }
      expect(summary.resumed + summary.built).toBe(fixtureProblems.length)
      expect(summary.resumed).toBeGreaterThanOrEqual(20)

      for (const file of ["corpus.jsonl", "sft.jsonl"]) {
        expect(sortedLines(join(killed, "corpus", file))).toEqual(sortedLines(join(straight, "corpus", file)))
      }
      const ids = sortedLines(join(killed, "corpus", "corpus.jsonl")).map(
        (l) => (JSON.parse(l) as CorpusRecord.CorpusRecord).problem.id
      )
      expect(new Set(ids).size).toBe(fixtureProblems.length)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
